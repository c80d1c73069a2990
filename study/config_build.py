"""Building the :class:`~jetstudy.study.config.StudyConfig` from a plain mapping (parsed YAML
with ``--set`` applied): each section's fields checked against their declared constraint
(:mod:`jetstudy.study.checks`; the hint for a refused value from
:mod:`jetstudy.study.check_hints`), unknown sections and fields named with what was meant, then
the rules across fields (:mod:`jetstudy.study.config_rules`, :mod:`jetstudy.study.search_rules`).
``jetstudy.study.config.from_dict`` is this module's, re-exported there.

>>> from_dict({"search": {"num_trials": 12}}).search.num_trials
12
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from jetstudy.study.check_hints import value_hint, yaml_text as _fmt
from jetstudy.study.checks import BAD, Check, shorten
from jetstudy.study.config import SECTIONS, StudyConfig
from jetstudy.study.name_hints import did_you_mean as _did_you_mean
from jetstudy.study.name_hints import key_hint as _key_hint
from jetstudy.trainables.errors import ConfigError

__all__ = ["from_dict"]


def _key_text(key: Any) -> str:
    """A mapping key as written in YAML: true, null (Python's True, None are not YAML's)."""
    return {True: "true", False: "false", None: "null"}.get(key, str(key)) if isinstance(
        key, (bool, type(None))) else str(key)


def _build_section(name: str, cls: type, values: Any) -> Any:
    if values is None:
        values = {}
    if not isinstance(values, dict):
        glued = re.fullmatch(r"\s*(\w+)\s*([=:])\s*(\S.*)", values) if isinstance(
            values, str) else None  # num_trials=3 or num_trials:3: YAML reads one string
        hint = "" if glued is None else (
            f" (YAML reads {glued[0].strip()!r} as one piece of text: write "
            f"'{glued[1]}: {glued[3].strip()}', "
            + ("with a space after ':')" if glued[2] == ":" else
               "with ': ', not '=' (--set takes section.field=value, a file field: value))"))
        raise ConfigError(f"{name} must be a mapping of fields, got {_fmt(values)}{hint}; "
                          f"write e.g. '{name}:' followed by indented 'field: value' lines")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields), key=str)
    if unknown:
        raise ConfigError(f"{name}.{shorten(_key_text(unknown[0]))} is not a field of '{name}'"
                          f"{_did_you_mean(str(unknown[0]), name)}{_key_hint(unknown[0])}; "
                          f"known fields: "
                          f"{', '.join(fields)}")
    kwargs = {}
    for key, f in fields.items():
        if key not in values:
            continue
        check: Check = f.metadata["check"]
        cleaned = check.clean(values[key])
        if cleaned is BAD:
            hint = value_hint(f"{name}.{key}", check, values[key])
            raise ConfigError(f"{name}.{key} must be {check.describe()}, got "
                              f"{_fmt(values[key])}{hint}; "
                              f"set e.g. {_fmt(f.metadata['example'])}")
        kwargs[key] = cleaned
    return cls(**kwargs)


def from_dict(raw: Any) -> StudyConfig:
    """Validate a plain dict (e.g. parsed YAML) into a frozen :class:`StudyConfig`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"the config must be a mapping of sections ({', '.join(SECTIONS)}), "
                          f"got {_fmt(raw)}; see configs/dryrun.yaml for an example")
    unknown = sorted(set(raw) - set(SECTIONS), key=str)  # keys of mixed types: 1, foo
    if unknown:
        hint = _did_you_mean(str(unknown[0])) or _key_hint(unknown[0]).replace(
            "the field's name", "the section's name")
        raise ConfigError(f"'{shorten(_key_text(unknown[0]))}' is not a config section"
                          f"{hint}; known sections: {', '.join(SECTIONS)}")
    cfg = StudyConfig(**{name: _build_section(name, cls, raw.get(name))
                         for name, cls in SECTIONS.items()})
    from jetstudy.study.config_rules import check_across_fields, check_sizes
    from jetstudy.study.search_rules import limit_check, search_checks

    check_across_fields(cfg)

    search = raw.get("search")
    cfg = search_checks(cfg, search if isinstance(search, dict) else {})
    check_sizes(cfg)
    limit_check(cfg)  # limits nearly no draw of the space fits
    return cfg
