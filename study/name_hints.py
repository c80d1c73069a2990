"""Hints for a misspelt name: the field, section or choice the user meant (``num_trial``:
search.num_trials; ``max_epochs`` under search: scheduler's; ``gpu``: cuda; ``reprot``:
report), a key YAML read as something else (``yes:``, ``~:``, a date), and the command-line
option of another subcommand. :mod:`jetstudy.study.check_hints` gives the hints for values
and re-exports these."""

from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any

__all__ = ["did_you_mean", "near_field", "key_hint", "option_choice_hint",
           "unknown_arguments_hint", "near_choice"]


#: Words users write for a command-line choice (a subcommand, fetch's dataset).
_OPTION_SYNONYMS = {"train": "run", "start": "run", "resume": "run", "plot": "report",
                    "plots": "report", "onnx": "export", "download": "fetch",
                    "generate": "synth", "synthetic": "synth", "openml": "hls4ml",
                    "42468": "hls4ml", "hls4ml_lhc_jets_hlf": "hls4ml",
                    "hls4ml_lhc_jets": "hls4ml", "hls4ml_jets": "hls4ml", "jets": "hls4ml"}


def option_choice_hint(message: str) -> str:
    """" (did you mean 'hls4ml'?)" for argparse's "invalid choice: 'X' (choose from ...)"
    message, in the words a config choice gets (HLS4ML, 'full ', openml, reprot); "" for
    other messages or nothing near."""
    found = re.search(r"invalid choice: '(.*)' \(choose from (.*)\)", message, re.S)
    if not found:
        return ""
    options = re.findall(r"'([^']*)'", found.group(2)) or [
        o.strip() for o in found.group(2).split(",")]
    given = found.group(1)
    word = given.strip().lower().replace("-", "_")
    meant = _OPTION_SYNONYMS.get(word)
    meant = meant if meant in options else near_choice(given, options)
    if meant is None:
        return ""
    extra = " --resume" if word == "resume" and meant == "run" else ""
    return f" (did you mean '{meant}{extra}'?)"


def unknown_arguments_hint(extras: list[str], parser: Any, commands: dict[str, Any]) -> str:
    """" (did you mean --resume?); jetstudy run takes [CONFIG] and the options --set, ..."
    for arguments ``parser`` (a subcommand's argparse parser) does not know: the option meant
    (a typo, or the option of another command), then what the command takes."""
    import difflib

    actions = [a for a in parser._actions if "-h" not in a.option_strings]
    options = [o for a in actions for o in a.option_strings]
    hints = []
    for extra in (e for e in extras if e.startswith("-")):
        name = extra.split("=", 1)[0]
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.7)
        elsewhere = [c for c, p in commands.items() if p is not parser and any(
            name in a.option_strings for a in p._actions)]
        alone = len([e for e in extras if e.startswith("-")]) == 1
        if close:
            hints.append(f"{'' if alone else name + ': '}did you mean {close[0]}?")
        elif elsewhere:
            hints.append(f"{name} is an option of jetstudy {' and '.join(elsewhere[:2])}")
    positionals = [f"{'at most ' if a.nargs == '?' else ''}one {a.metavar or a.dest}"
                   for a in actions if not a.option_strings]
    shown = ", ".join("/".join(a.option_strings) for a in actions if a.option_strings)
    takes = ((f"{' '.join(positionals)} and " if positionals else "")
             + (f"the options {shown}" if shown else "no options"))
    return f" ({'; '.join(hints)})" * bool(hints) + f"; {parser.prog} takes {takes}"


#: Words users write for a choice that jetstudy spells otherwise.
_SYNONYMS = {"gpu": "cuda", "accuracy": "val_acc", "acc": "val_acc", "auc": "val_auc",
             "loss": "val_loss", "swish": "silu", "csv": "table", "parquet": "table",
             "pq": "table", "arff": "table", "openml": "table", "h5": "hdf5", "hdf": "hdf5",
             "early_stopping": "patience", "earlystopping": "patience"}


def near_choice(value: str | None, options: list[str]) -> str | None:
    """The choice ``value`` most likely means: a synonym (gpu: cuda), another spelling
    (Leaky-ReLU: leaky_relu), a longer name (TPESampler: tpe, cuda:0: cuda), a typo."""
    import difflib

    if not value or not options:
        return None
    word = value.strip().lower().replace("-", "_").replace(" ", "_")
    word = _SYNONYMS.get(word, word)
    if word in options:
        return word
    joined = [o for o in options if o.replace("_", "") == word.replace("_", "")]  # adam_w
    if joined:
        return joined[0]
    longer = [o for o in options if len(o) >= 3 and word.startswith(o)]
    if longer:
        return max(longer, key=len)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return close[0] if close else None


def did_you_mean(key: str, section: str | None = None) -> str:
    """``" (did you mean num_trials?)"`` for a misspelt field (or section, when ``section`` is
    None); a field of another section is named there (``max_epochs`` is ``scheduler``'s)."""
    import difflib

    from jetstudy.study.config import SECTIONS

    key = str(key).strip().lower().replace("-", "_")  # DATA, Max-Jets: names are lower case
    elsewhere = [other for other, cls in SECTIONS.items() if other != section
                 and key in {f.name for f in dataclasses.fields(cls)}]
    if elsewhere:
        return f" (it is a field of '{elsewhere[0]}': write {elsewhere[0]}.{key})"
    if section is None:
        close = [key] if key in SECTIONS else difflib.get_close_matches(
            key, list(SECTIONS), n=1, cutoff=0.6)
        return f" (did you mean '{close[0]}'?)" if close else ""
    fields = sorted(f.name for f in dataclasses.fields(SECTIONS[section]))
    close = [key] if key in fields else difflib.get_close_matches(
        key, fields, n=1, cutoff=0.6) or [
        f for f in fields if len(key) >= 3 and (f.startswith(key) or key.startswith(f))]
    if close:
        return f" (did you mean {section}.{close[0]}?)"
    near = near_field(key, section)  # max_epoch under search: scheduler.max_epochs
    return f" (did you mean {near}? It is a field of '{near.split('.')[0]}')" if near else ""


def near_field(key: str, section: str | None = None) -> str:
    """``"scheduler.max_epochs"`` for a misspelt field of another section than ``section``;
    "" when no field of any section is close."""
    import difflib

    from jetstudy.study.config import SECTIONS

    others = {f"{name}.{f.name}": f.name for name, cls in SECTIONS.items() if name != section
              for f in dataclasses.fields(cls)}
    close = difflib.get_close_matches(str(key).strip().lower().replace("-", "_"),
                                      list(others.values()), n=1, cutoff=0.8)
    return next((full for full, name in others.items() if close and name == close[0]), "")


def key_hint(key: Any) -> str:
    """A field name YAML read as something else: ``yes:``/``on:`` is true, ``~:`` or a bare
    ``:`` is null, ``2024-01-01:`` a date."""
    if isinstance(key, bool):
        return " (YAML reads a key yes/no/on/off as true/false: write the field's name)"
    if key is None:
        return " (a key '~', 'null' or nothing before ':' is YAML's null: write the field's name)"
    if isinstance(key, datetime.date):  # not datetime.date(2024, 1, 1): as written
        return f" (YAML read the key as the date {key.isoformat()}: write the field's name)"
    if isinstance(key, (int, float)):
        return f" (YAML read the key as the {type(key).__name__} {key!r}: write the field's name)"
    return ""
