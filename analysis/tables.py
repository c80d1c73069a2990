"""Load a study's result tables (the contract in ``docs/results_layout.md``) and check them once.

Everything downstream trusts what this module returns, so the checks live here and in
:mod:`jetstudy.analysis.table_rows` (the rows): required columns
(an error names the missing ones), types (CSV round trips turn ids into ints and bools into
strings), statuses in lower case, one row per trial and per (trial, epoch). Which columns are
required and each one's type come from :mod:`jetstudy.trainables.table_schema`, the list the
writer uses too. Optional inputs
(epochs, config, reference numbers, test results) may be absent, as when a colleague mails a
lone ``trials.parquet``; each absence is recorded in :attr:`StudyTables.missing` so the report
can say what it skipped. Tables written before ``train_loss_se``/``val_loss_se`` existed load
as they are (the regime rules then say they judged without standard errors).

>>> tables = load_tables("results/demo")            # doctest: +SKIP
>>> tables.trials.shape, tables.epochs is None      # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.table_files import check_json_numbers
from jetstudy.analysis.table_rows import (REQUIRED_EPOCH_COLUMNS, REQUIRED_TRIAL_COLUMNS,
                                          STATUSES, validate_epochs, validate_predictions,
                                          validate_trials)
from jetstudy.analysis.table_files import read_table as _read_table
from jetstudy.trainables.objective import METRIC_MODES
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.plain_read import read_plain

__all__ = [
    "StudyTables",
    "load_tables",
    "validate_trials",
    "validate_epochs",
    "REQUIRED_TRIAL_COLUMNS",
    "REQUIRED_EPOCH_COLUMNS",
    "STATUSES",
    "search_metric",
]

logger = logging.getLogger(__name__)

# name -> larger is better, from the one rule for "better" (trainables.objective)
_METRICS = {name: mode == "max" for name, mode in METRIC_MODES.items()}


@dataclass
class StudyTables:
    """One study's tables as loaded; ``None`` marks an input that was absent or unusable.

    ``missing`` holds ``(input, why)`` pairs for the report's "skipped" list; ``inputs`` the
    files actually read, so a reader can tell a folder report from a lone-table one.
    """

    source: Path
    folder: Path
    name: str
    trials: pd.DataFrame
    epochs: pd.DataFrame | None = None
    config: dict[str, Any] | None = None
    test_metrics: dict[str, Any] | None = None
    test_predictions: pd.DataFrame | None = None
    data_summary: dict[str, Any] | None = None
    #: ``reference.json``: ``prior_entropy``, ``n_classes`` and, on synthetic data, the
    #: Bayes-optimal ``bayes_val_loss`` (+ ``_se``) and ``bayes_val_acc`` (results layout)
    reference: dict[str, Any] | None = None
    inputs: list[Path] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    #: sentences on rows the readers dropped (a trial id, or a trial's epoch, written twice),
    #: for the report's Outcomes: a result that silently leaves rows out cannot be checked
    dropped: list[str] = field(default_factory=list)

    @property
    def synthetic(self) -> bool | None:
        """Whether the jets were synthetic; ``None`` when no input says (a lone trials table)."""
        for source in (self.test_metrics, self.data_summary):
            if isinstance(source, dict) and isinstance(source.get("synthetic"), bool):
                return source["synthetic"]
        if self.test_predictions is not None and any(
            f"bayes_{c}" in self.test_predictions.columns for c in CLASSES
        ):
            return True
        data = (self.config or {}).get("data")
        if isinstance(data, dict) and "path" in data:
            return data["path"] is None
        return None


def search_metric(config: dict[str, Any] | None, trials: pd.DataFrame) -> tuple[str, bool]:
    """The study's search metric and whether larger is better.

    Taken from ``config.yaml`` (``search.metric``) so the report ranks trials as the search did;
    without a config, ``val_loss`` (always present) is used.
    """
    search = (config or {}).get("search")
    metric = search.get("metric") if isinstance(search, dict) else None
    if not isinstance(metric, str) or metric not in _METRICS or metric not in trials.columns:
        if metric is not None:  # a hand-edited config.yaml: a list or a mapping is no metric
            logger.warning("search.metric %r is not usable here; ranking by val_loss", metric)
        metric = "val_loss"
    return metric, _METRICS[metric]


def _first_existing(folder: Path, names: tuple[str, ...]) -> list[Path]:
    return [folder / n for n in names if (folder / n).is_file()]


def _load_trials(source: Path) -> tuple[pd.DataFrame, Path]:
    if source.is_dir():
        candidates = _first_existing(source, ("trials.parquet", "trials.csv"))
        if not candidates and ((source / "config.yaml").is_file()
                               or (source / ".jetstudy-study").exists()):
            raise AnalysisError(
                f"the study {source} has no trials table yet: no trial finished an epoch before "
                "it was stopped (or it is still starting). Wait for its first epochs, or continue "
                "it with `jetstudy run CONFIG --set storage.results_dir="
                f"{shlex.quote(str(source.absolute().parent))} --set storage.name="
                f"{shlex.quote(source.name)} --resume`, then run the report again")
        if not candidates and source.suffix.lower() in (".parquet", ".csv"):
            _read_table(source, "trials table")  # a folder named like a table: says so
        if not candidates:
            raise AnalysisError(
                f"{source} holds no trials.parquet or trials.csv; give a study's results folder "
                "(<storage.results_dir>/<storage.name>) or a trials table file"
            )
    elif source.is_file():
        candidates = [source]
    else:
        from jetstudy.trainables.datacheck import path_problem

        problem = path_problem(str(source))
        problem = "does not exist" if problem == "no such file or folder" else f"is {problem}"
        raise AnalysisError(f"{source} {problem}; give a results folder or a trials table")
    errors: list[AnalysisError] = []
    for path in candidates:  # parquet first; a half-written snapshot falls back to the csv
        try:
            table = _read_table(path, "trials table")
            found = validate_trials(table, where=f"trials table {path}",
                                    folder=_study_of(path))
        except AnalysisError as exc:
            errors.append(exc)
            continue
        for exc in errors:  # say why we fell back to this one (if none does: the error alone)
            logger.warning("%s", exc)
        return found, path
    raise errors[0]


def _study_of(table: Path) -> Path | None:
    """The study folder a table lies in (it holds config.yaml), else None (a lone table)."""
    return table.parent if (table.parent / "config.yaml").is_file() else None


def _optional(tables: StudyTables, path: Path, what: str, read: Any) -> Any:
    """Read an optional input; on failure record why and return None."""
    try:
        value = read(path)
    except (AnalysisError, OSError, ValueError, yaml.YAMLError) as exc:
        tables.missing.append((what, f"{path.name} is unusable: {exc}"))
        return None
    tables.inputs.append(path)
    return value


def _read_json(path: Path) -> dict[str, Any]:
    value = json.loads(read_plain(path))
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    check_json_numbers(path.name, value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    value = yaml.safe_load(read_plain(path))
    if not isinstance(value, dict):
        raise ValueError("expected a YAML mapping")
    return value


def load_tables(source: str | Path) -> StudyTables:
    """Load a results folder, or a lone trials table plus whatever standard files sit beside it.

    Raises :class:`AnalysisError` when no usable trials table is found; every other input is
    optional and its absence is listed in ``missing``.
    """
    if not str(source).strip():  # Path("") is the current folder: never what was meant
        raise AnalysisError("the results path is empty; give a study's results folder "
                            "(<storage.results_dir>/<storage.name>) or a trials table file")
    from jetstudy.trainables.datacheck import url_problem

    url = url_problem(source) if isinstance(source, str) and not os.path.lexists(
        source) else None
    if url is not None:  # Path() would fold 's3://b/x' into a local 's3:/b/x' "not there"
        raise AnalysisError(f"{source!r} is {url}" + ("" if url.startswith("a URL (file://)")
                            else ": download or copy the study here first, and give its "
                            "local path"))
    source = Path(source).expanduser()
    trials, trials_path = _load_trials(source)
    dropped = list(trials.attrs.get("dropped", []))  # before _numbered makes a new frame
    folder = trials_path.parent
    trials = _numbered(trials, folder)
    tables = StudyTables(source=source, folder=folder, name=folder.name, trials=trials,
                         inputs=[trials_path])
    tables.dropped += dropped
    _newer_writer(folder)

    def optional(names: tuple[str, ...], what: str, read: Any) -> Any:
        found = _first_existing(folder, names)
        if not found:
            tables.missing.append((what, f"no {' or '.join(names)} beside the trials table"))
            return None
        return _optional(tables, found[0], what, read)

    tables.config = optional(("config.yaml",), "config", _read_yaml)
    storage = (tables.config or {}).get("storage")
    if isinstance(storage, dict) and storage.get("name"):
        tables.name = str(storage["name"])
    tables.epochs = optional(
        ("epochs.parquet", "epochs.csv"), "epochs",
        lambda p: validate_epochs(_read_table(p, "epochs table"), trials["trial_id"],
                                  _study_of(p)),
    )
    if tables.epochs is not None:
        tables.dropped += tables.epochs.attrs.get("dropped", [])
    tables.data_summary = optional(("data_summary.json",), "data summary", _read_json)
    tables.reference = optional(("reference.json",), "reference", _read_json)
    tables.test_metrics = optional(("best/test_metrics.json",), "test metrics", _read_json)
    tables.test_predictions = optional(
        ("best/test_predictions.parquet",), "test predictions",
        lambda p: validate_predictions(_read_table(p, "test predictions")),
    )
    return tables


def _numbered(trials: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """``trials`` with a ``trial_number`` in every row, as a resumed study's tables have them
    (:func:`jetstudy.study.trial_numbers.number_unnumbered`): a table written before the
    column existed (an older, never-resumed study) takes each trial's Optuna number from
    ``optuna.journal`` beside it, else numbers in the order Ray Tune created the trials
    (``ray/``'s experiment state), then in its row order, so an exact tie of the best trial, the Pareto front
    and the size answer goes to the same trial in the report, ``best/`` and the export as after
    a resume, not to the first ``trial_id``. A fully numbered table is returned as it is."""
    from jetstudy.study.trial_numbers import number_unnumbered  # no optuna unless needed

    return number_unnumbered(trials, folder)


def _release(text: Any) -> tuple[int, ...] | None:
    """``"1.2.0rc1"`` -> ``(1, 2, 0)``; ``None`` for what is no version."""
    found = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text)) if isinstance(text, str) else None
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _newer_writer(folder: Path) -> None:
    """Tables written by a newer jetstudy (``provenance.json``) may carry columns, statuses or
    files this one does not know: they are kept as they are or skipped, so say so once rather
    than let a report look complete."""
    from importlib import metadata

    try:
        written = json.loads(read_plain(folder / "provenance.json"))["versions"]["jetstudy"]
        here = metadata.version("jetstudy")
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        return
    old, new = _release(here), _release(written)
    if old is not None and new is not None and new > old:
        logger.warning("%s was written by jetstudy %s, newer than this jetstudy %s: what that "
                       "version added to the tables is kept as it is or skipped, so parts of the "
                       "report may be missing; update jetstudy (pip install -U jetstudy) for "
                       "the full report", folder, written, here)
