"""Reading a study config: the YAML file (read by :mod:`jetstudy.study.config_yaml`, which says
what it reads as written and what it refuses), ``--set section.field=value`` overrides, a config written by a newer jetstudy named as such, and
:func:`load_config`, which returns the validated :class:`~jetstudy.study.config.StudyConfig`
(:mod:`jetstudy.study.config` holds the fields and their checks and re-exports these)."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from jetstudy.study.checks import shorten
from jetstudy.study.name_hints import near_field as _near_field
from jetstudy.study.config import SECTIONS, StudyConfig, from_dict
# the YAML reader (re-exported: config.py and tests import _YamlRefused, _yaml_load from here)
from jetstudy.study.config_yaml import _YamlRefused, _yaml_load
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.plain_read import read_plain

__all__ = ["load_config", "apply_overrides", "written_by_newer", "newer_writer"]

logger = logging.getLogger(__name__)

def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``section.field=value`` strings (values parsed as YAML) to a raw config dict."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in (raw or {}).items()}
    given: dict[str, str] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ConfigError(f"--set {item!r} must look like section.field=value"
                              f"{_set_shape_hint(parts, sep)}; e.g. --set search.num_trials=200")
        if text.startswith("="):  # a==b: '=b' would be the value, refused as text '=1'
            raise ConfigError(f"--set {item!r} has '==': --set takes one '=' between the field "
                              f"and its value; write --set {key.strip()}={text[1:].strip()}, "
                              f"or quote a value that starts with '=' (--set "
                              f"\"{key.strip()}='{text}'\")")
        if not text.strip():  # YAML would read it as null: a silent fallback to the default
            raise ConfigError(f"--set {item!r} gives {key.strip()} no value; write the value "
                              f"after '=', or {key.strip()}=null for the default")
        if text.strip() == "~":  # YAML's null, not the shell's home folder
            raise ConfigError(f"--set {item!r}: a lone '~' is YAML's null (the default), not "
                              f"your home folder; write {key.strip()}=null for the default, or "
                              f"the full path (e.g. ~/data/jets.h5)")
        if key.strip() in given and given[key.strip()] != text:
            logger.warning("--set %s is given twice (%r, then %r): the last one, %r, is used",
                           key.strip(), given[key.strip()], text, text)
        given[key.strip()] = text
        try:
            value = _yaml_load(text, key.strip())
        except _YamlRefused as exc:
            raise ConfigError(f"--set {shorten(item)!r}: {exc}") from None
        except yaml.YAMLError:
            value = text
        if value is None and text.strip() not in ("null", "Null", "NULL"):
            # '#x' is a YAML comment: the field would fall back to its default unseen
            why = ("an anchor (&name) names a value and is none" if text.strip(
                ).startswith("&") and "#" not in text else "a '#' starts a comment")
            raise ConfigError(f"--set {item!r}: {text.strip()!r} reads as null in YAML "
                              f"({why}); quote the value (--set "
                              f"\"{key.strip()}='{text.strip()}'\"), or write "
                              f"{key.strip()}=null for the default")
        section, name = parts
        if not isinstance(out.get(section, {}), dict):
            out[section] = {}
        out.setdefault(section, {})[name] = value
    _switch_to_files(raw, out, given)
    return out


def _unread_set_note(message: str, overrides: Iterable[str]) -> str | None:
    """Why the ``--set`` value a refusal (``message``) names was text: YAML could not read it
    (a tag ``!!python/int 3``, an alias ``*a``, an open bracket), so :func:`apply_overrides`
    kept it as written (a glob ``*.h5`` is a path); None when no such value is named."""
    for item in overrides:
        key, _, text = item.partition("=")
        named = re.search(rf"(?<![\w.]){re.escape(key.strip())}(?![\w.])", message)
        if not key.strip() or not named and repr(text) not in message:
            continue  # the field is named, whether its value is quoted whole or cut short
        try:
            _yaml_load(text, key.strip())
        except _YamlRefused:
            continue
        except yaml.YAMLError as exc:
            why = " ".join(str(getattr(exc, "problem", None) or exc).split())
            fix = ("remove the tag (!!...): a config holds plain values" if "tag" in why else
                   "a leading '*' is a YAML alias (a name for a value given before): write "
                   "the value itself" if text.strip().startswith("*") else
                   "fix the brackets or quotes, or quote the whole value")
            return (f" (--set {key.strip()}: YAML could not read {shorten(text)!r}: {why}, so "
                    f"it was kept as text; {fix})")
    return None


def _switch_to_files(raw: Any, out: dict[str, Any], given: dict[str, str]) -> None:
    """``--set data.path=FILES`` on a config of synthetic jets (``jetstudy init``'s starter, the
    README's route to real data) switches it to the files: the file's ``data.synthetic_*``
    settings, which only synthetic jets use, are dropped rather than warned about on every run
    and rerun (a warning whose fix, removing them, --set cannot give). Set on the command line
    beside the path, they stay, and are warned about."""
    data = out.get("data")
    before = raw.get("data") if isinstance(raw, dict) else None
    if ("data.path" not in given or not isinstance(data, dict) or data.get("path") is None
            or (isinstance(before, dict) and before.get("path") is not None)):
        return
    for name in ("synthetic_jets", "synthetic_seed"):
        if name in data and f"data.{name}" not in given:
            logger.info("--set data.path: data.%s (%r, for synthetic jets) is not used; jets "
                        "are read from data.path", name, data.pop(name))


def _set_shape_hint(parts: list[str], sep: str) -> str:
    """Why a ``--set`` key is not ``section.field``, when that can be said more exactly."""
    if not sep:
        return " (no '=')"
    if len(parts) == 1 and parts[0] in SECTIONS:
        return f" ({parts[0]!r} is a section: set its fields one at a time)"
    owners = [name for name, cls in SECTIONS.items()
              if len(parts) == 1 and parts[0] in {f.name for f in dataclasses.fields(cls)}]
    if owners:
        return f" ({parts[0]!r} is a field of '{owners[0]}': write {owners[0]}.{parts[0]}=...)"
    near = _near_field(parts[0]) if len(parts) == 1 else ""
    if near:
        return f" (did you mean {near}=...?)"
    if len(parts) > 2 and parts[0] in SECTIONS:
        return (f" ({'.'.join(parts[:2])} is a field, not a section: give a list or mapping "
                f"value whole, e.g. --set space.depth=[2,4])")
    return ""


def _release(text: Any) -> tuple[int, ...] | None:
    """``"1.2.0rc1"`` -> ``(1, 2, 0)``; ``None`` for what is no version."""
    found = re.match(r"\s*v?(\d+(?:\.\d+)*)", text) if isinstance(text, str) else None
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def written_by_newer(folder: Path | None) -> tuple[str, str] | None:
    """(the jetstudy version that wrote the study in ``folder``, this one's) when its
    ``provenance.json`` names a newer one than this; None otherwise (or unknown)."""
    import json
    from importlib import metadata

    if folder is None:
        return None
    try:
        written = json.loads(read_plain(Path(folder) / "provenance.json"))["versions"][
            "jetstudy"]
        here = metadata.version("jetstudy")
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        return None
    new, old = _release(written), _release(here)
    return (str(written), here) if new is not None and old is not None and new > old else None


class newer_writer:  # noqa: N801 - used as a with-block
    """A config error of a study a newer jetstudy wrote (a field, section or choice this
    version does not know; ``rerun``, ``run --resume``) says so and how to go on, instead of
    only "not a field"."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def __enter__(self) -> "newer_writer":
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        if not isinstance(exc, ConfigError):
            return False
        versions = written_by_newer(self.folder)
        if versions is None:
            return False
        raise ConfigError(
            f"{exc}. This study was written by jetstudy {versions[0]} (its provenance.json), "
            f"newer than this jetstudy {versions[1]}, which does not know all of its settings: "
            f"update jetstudy (pip install -U 'jetstudy>={versions[0]}') to rerun or resume "
            f"it; its report and export work with this version") from None


#: Spaces YAML does not take as indentation or separation, pasted from web pages and editors.
_ODD_SPACES = {"\u00a0": "a no-break space", "\u2007": "a figure space",
               "\u202f": "a narrow no-break space", "\u3000": "an ideographic space",
               "\u2002": "an en space", "\u2003": "an em space", "\u2009": "a thin space"}
#: Colons YAML does not take as the key's end: full-width and small forms (CJK input methods).
_ODD_COLONS = {"\uff1a": "a full-width colon", "\ufe55": "a small colon",
               "\ufe13": "a vertical colon"}


def _odd_spaces(path: Path, text: str) -> None:
    """A no-break space in a line's indentation (a config pasted from a web page) made YAML
    read '\u00a0 num_trials' as a top-level key ('is not a config section'), a full-width
    colon 'num_trials： 5' one piece of text ('search must be a mapping'): name the character,
    its line and the fix."""
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        lead = code[:len(code) - len(code.lstrip())]
        odd = next((c for c in lead if c in _ODD_SPACES), None)
        if odd is None and ":" not in code:
            odd = next((c for c in code if c in _ODD_COLONS), None)
        if odd is not None and "'" not in code and '"' not in code:
            what = _ODD_SPACES.get(odd) or _ODD_COLONS[odd]
            plain = "space" if odd in _ODD_SPACES else "':'"
            raise ConfigError(f"{path}: line {number} ({shorten(line.strip())!r}) holds {what} "
                              f"(U+{ord(odd):04X}, from a web page, word processor or input "
                              f"method), which YAML does not read as a {plain}; type a plain "
                              f"{plain} there")


def load_config(path: str | Path | None, overrides: Iterable[str] = ()) -> StudyConfig:
    """Read a YAML config (or the defaults when ``path`` is None), apply overrides, validate."""
    raw: Any = {}
    if path is not None:
        if not str(path).strip():  # Path('') is '.', "a folder"
            raise ConfigError(f"the config file's path is empty ({str(path)!r}); pass a YAML "
                              f"file such as configs/dryrun.yaml, or leave CONFIG out for the "
                              f"defaults")
        p = Path(path)
        if p.is_dir():
            raise ConfigError(f"config file {str(p)!r} is a folder, not a file; pass a YAML "
                              f"file such as configs/dryrun.yaml")
        if p.exists() and not p.is_file():  # a FIFO could wait for a writer for ever
            raise ConfigError(f"config file {str(p)!r} is a pipe, socket or device, not a file "
                              f"(a shell's <(...) gives a pipe); write the config to a YAML "
                              f"file and pass that, e.g. configs/dryrun.yaml")
        if not p.is_file():
            from jetstudy.trainables.datacheck import path_problem

            problem = path_problem(str(p))
            problem = "does not exist" if problem == "no such file or folder" else f"is {problem}"
            raise ConfigError(f"config file {str(p)!r} {problem}; pass a YAML file such as "
                              f"configs/dryrun.yaml of the repository, or write a starter "
                              f"config here with `jetstudy init .` (then: jetstudy run "
                              f"jetstudy.yaml)")
        try:
            text = p.read_text(encoding="utf-8")
            _odd_spaces(p, text)
            raw = _yaml_load(text)
        except UnicodeDecodeError as exc:
            if exc.object[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Windows' 'Unicode' text
                raise ConfigError(f"{p}: UTF-16 text (its first bytes are a byte-order mark), "
                                  f"not UTF-8; save it as UTF-8 (a text editor's 'encoding' "
                                  f"setting, or `iconv -f UTF-16 -t UTF-8 {p} > out.yaml`)"
                                  ) from None
            line = exc.object[:exc.start].count(b"\n") + 1
            raise ConfigError(f"{p}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at line "
                              f"{line}); save the file as UTF-8 (a text editor's 'encoding' "
                              f"setting), or pass a YAML file such as configs/dryrun.yaml"
                              ) from None
        except _YamlRefused as exc:
            raise ConfigError(f"{p}: {exc}") from None
        except yaml.YAMLError as exc:
            where = getattr(exc, "problem_mark", None)
            line = f" at line {where.line + 1}" if where is not None else ""
            if "found undefined alias" in str(exc):
                name = str(getattr(exc, "problem", "")).rsplit(" ", 1)[-1]
                raise ConfigError(f"{p}: the alias *{name.strip(chr(39))}{line} names no "
                                  f"anchor; define it first (&{name.strip(chr(39))} on an "
                                  f"earlier value) or write the value out") from None
            if "expected a single document" in str(exc):
                raise ConfigError(f"{p}: holds more than one YAML document ('---'{line}); a "
                                  f"config is one document: keep one, or merge them") from None
            if "'\\t'" in str(getattr(exc, "problem", "")):
                lines = text.splitlines()
                before = (lines[where.line][:where.column].strip()
                          if where is not None and where.line < len(lines) else "")
                if before:  # 'num_trials:<TAB>5': not indentation, so say what it is
                    raise ConfigError(f"{p}: not valid YAML: a tab character{line}, after "
                                      f"{shorten(before)!r}; YAML separates values with "
                                      f"spaces (a tab only inside quotes): replace the tab "
                                      f"with a space") from None
                raise ConfigError(f"{p}: not valid YAML: a tab character{line}; YAML indents "
                                  f"with spaces: replace the tabs with spaces") from None
            if "special characters are not allowed" in str(exc):
                raise ConfigError(f"{p}: holds a control character{line} (a NUL or other "
                                  f"non-text byte; not a text file?); remove it, or pass a "
                                  f"YAML file such as configs/dryrun.yaml") from None
            if isinstance(exc, yaml.constructor.ConstructorError):  # valid YAML, no plain value
                raise ConfigError(f"{p}: {' '.join(str(exc.problem).split())}{line}; a config "
                                  f"holds plain values (numbers, strings, true/false, lists, "
                                  f"mappings with plain keys): remove the tag or key") from None
            raise ConfigError(f"{p}: not valid YAML{line}; fix the syntax "
                              f"(indentation, ':' after each field)") from None
        if raw is None:  # an empty file, or only comments: said, as it may not be the one meant
            logger.warning("%s holds no fields (empty, or only comments): every field takes "
                           "its default (jetstudy config --defaults lists them)", p)
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: the config must be a mapping of sections "
                              f"({', '.join(SECTIONS)}); see configs/dryrun.yaml")
    with newer_writer(None if path is None else Path(path).parent):
        try:
            cfg = from_dict(apply_overrides(raw, overrides))
        except ConfigError as exc:  # a --set value YAML could not read was kept as text
            note = _unread_set_note(str(exc), overrides)
            if note is None:
                raise
            raise ConfigError(f"{exc}{note}") from None
    for warning in cfg.warnings:
        logger.warning("%s", warning)
    return cfg
