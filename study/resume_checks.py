"""What a ``--resume`` may be given: the config, field by field, and the data files, byte by
byte (split from :mod:`jetstudy.study.resume`, which re-exports these).

A study continues as it was configured: its space, data, training and scheduler define what
its trials mean, so a resume whose config differs there is refused, listing each field with
the saved and the given value. What may change (:data:`MAY_CHANGE`) is how much of the study
is left to run and where it runs: ``search.num_trials``, ``search.time_budget_s``,
``search.max_concurrent``, every ``resources`` field and the ``storage`` fields that found the
folder. Those take the given value. A data file whose bytes changed since the study started
is refused (:func:`check_data_unchanged`).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from jetstudy.study.config import SECTIONS, StudyConfig, load_config
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.plain_read import read_plain

__all__ = ["MAY_CHANGE", "OLDER_STUDIES", "config_for_resume", "saved_config",
           "check_data_unchanged"]

logger = logging.getLogger(__name__)

#: Fields a resume may change ("section.*": the whole section).
MAY_CHANGE: tuple[str, ...] = ("search.num_trials", "search.time_budget_s",
                               "search.max_concurrent", "resources.*", "storage.*")


def _may_change(section: str, field: str) -> bool:
    return f"{section}.{field}" in MAY_CHANGE or f"{section}.*" in MAY_CHANGE


def _show(value: Any) -> str:
    from jetstudy.study.config import _fmt

    return _fmt(value)


#: Fields newer than some saved studies, and the value such a study ran with (its config.yaml
#: lacks the field): ``data.duplicates`` came in 2026-11-28; before, every jet was read as it is.
OLDER_STUDIES: dict[tuple[str, str], Any] = {("data", "duplicates"): "keep"}


def config_for_resume(given: StudyConfig, folder: Path) -> StudyConfig:
    """The study's saved config with the fields that may change taken from ``given``; a
    ConfigError listing every other field that differs. A field the saved config predates
    (:data:`OLDER_STUDIES`) keeps the value that study ran with, whatever ``given`` says."""
    saved, filled = _saved(folder)
    differ, merged = [], {}
    for section in SECTIONS:
        old, new = getattr(saved, section), getattr(given, section)
        changes = {}
        for f in dataclasses.fields(old):
            a, b = getattr(old, f.name), getattr(new, f.name)
            if a == b or _same_meaning(section, f.name, a, b, old, new):
                continue
            if (section, f.name) in filled:
                logger.info("--resume: %s.%s stays %s, as this study (saved before the field "
                            "existed) ran", section, f.name, _show(a))
                continue
            if _may_change(section, f.name):
                changes[f.name] = b
            else:
                differ.append(f"{section}.{f.name}: saved {_show(a)}, given {_show(b)}")
        merged[section] = dataclasses.replace(old, **changes)
    if differ:
        raise ConfigError(
            f"--resume: the config given differs from the study's saved config "
            f"({folder / 'config.yaml'}) in {'; '.join(differ)}; a study continues as it "
            f"started: resume with the same config file and --set options as its first run "
            f"(only {', '.join(MAY_CHANGE)} may change), or start a new study with another "
            f"storage.name")
    resumed = dataclasses.replace(saved, **merged)
    for name in ("num_trials", "time_budget_s", "max_concurrent"):
        a, b = getattr(saved.search, name), getattr(resumed.search, name)
        if a != b:
            logger.warning("--resume: search.%s is now %s (was %s)", name, _show(b), _show(a))
    return resumed


def _same_meaning(section: str, name: str, a: Any, b: Any, old: Any, new: Any) -> bool:
    """Two spellings of one setting: ``search.objectives`` left out is ``[search.metric]``."""
    if (section, name) == ("search", "objectives"):
        return tuple(a or (old.metric,)) == tuple(b or (new.metric,))
    return False


def check_data_unchanged(folder: Path) -> None:
    """--resume: every data file ``provenance.json`` recorded with a SHA-256 (the last run's
    ``data``) still has those bytes, else a ConfigError naming each changed file. The split's
    statistics (``jetstudy.study.prepare``) miss an edit of jets that land in the validation or
    test split only; the checksum does not. A file no longer at its path is left to the data
    loading (it was read, or the study now reads other files: compared by their jets).

    The rule is the file's bytes, not the jets read (a stated choice): a file only appended
    to (its first recorded bytes unchanged; the message says so and how to put the original
    back) and an HDF5 file whose attributes alone changed are refused as well."""
    import json

    from jetstudy.study.fetch import file_sha256
    from jetstudy.study.provenance import PROVENANCE

    try:
        entries = json.loads(read_plain(folder / PROVENANCE)).get("data")
    except (OSError, ValueError, AttributeError):
        return  # no record (an older study): nothing to compare with
    changed, appended = [], []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            continue
        path = Path(str(entry.get("path")))
        try:
            if not path.is_file():
                continue
            size = path.stat().st_size
            now = file_sha256(path) if size == entry.get("bytes") else None
            grown = (now is None and isinstance(entry.get("bytes"), int)
                     and size > entry["bytes"] and _prefix_sha256(path, entry["bytes"])
                     == entry["sha256"])
        except OSError:
            continue
        if now != entry["sha256"]:
            was = f"{entry.get('bytes')} bytes, SHA-256 {entry['sha256'][:12]}..."
            changed.append(f"{path} (was {was}; now {size} bytes"
                           + (f", SHA-256 {now[:12]}...)" if now else ")")
                           + (" was only appended to: its first "
                              f"{entry['bytes']} bytes are the recorded ones" if grown else ""))
            if grown:
                appended.append((path, entry["bytes"]))
    if changed:
        copy = (f" (for a file only appended to: `head -c {appended[0][1]} {appended[0][0]} > "
                f"original`, move the grown file aside and put that copy at its path)"
                if appended else "")
        raise ConfigError(
            f"--resume: the data file{'s' if len(changed) > 1 else ''} {'; '.join(changed)} "
            f"changed since this study started ({folder / PROVENANCE} records its checksum); "
            f"its trials would continue on other jets and its validation and test splits "
            f"would change. jetstudy compares whole files by their SHA-256, not the jets it "
            f"reads: a file only appended to is refused even where data.max_jets reads the "
            f"same first jets, and so is an HDF5 file whose attributes (metadata) alone "
            f"changed: restore the original file{copy}, or start a new study on the new data "
            f"(another storage.name)")


def _prefix_sha256(path: Path, n: int) -> str:
    """The SHA-256 of the first ``n`` bytes of ``path``."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while n > 0:
            block = f.read(min(n, 1 << 20))
            if not block:
                break
            digest.update(block)
            n -= len(block)
    return digest.hexdigest()


def saved_config(folder: Path) -> StudyConfig:
    """The study's saved config (``folder/config.yaml``), read without logging its warnings:
    the config the run was given (whose warnings its loading logged) has the same ones, and
    they are said once."""
    return _saved(folder)[0]


def _saved(folder: Path) -> tuple[StudyConfig, set[tuple[str, str]]]:
    """:func:`saved_config`, and the fields of :data:`OLDER_STUDIES` it lacked (filled in)."""
    from jetstudy.study.config import _yaml_load, from_dict

    path = folder / "config.yaml"
    try:
        raw = _yaml_load(read_plain(path))
    except Exception:  # unreadable: load_config's own message
        return load_config(path), set()
    if not isinstance(raw, dict):
        return load_config(path), set()
    filled = set()
    for (section, name), value in OLDER_STUDIES.items():
        part = raw.get(section)
        if isinstance(part, dict) and name not in part:
            raw = {**raw, section: {**part, name: value}}
            filled.add((section, name))
    from jetstudy.study.config import newer_writer

    with newer_writer(folder):  # a field of a newer jetstudy: said so, with how to go on
        return from_dict(raw), filled
