"""Load a study's result tables (the contract in ``docs/results_layout.md``) and check them once.

Everything downstream trusts what this module returns, so the checks live here: required columns
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

import numpy as np
import pandas as pd
import yaml

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.table_files import check_json_numbers
from jetstudy.analysis.table_values import check_numbers as _check_numbers
from jetstudy.analysis.table_values import coerce as _coerce
from jetstudy.analysis.table_values import renamed_hint as _renamed_hint
from jetstudy.analysis.table_values import tidy_names as _tidy_names
from jetstudy.analysis.table_files import read_table as _read_table
from jetstudy.trainables.objective import METRIC_MODES
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.table_schema import EPOCHS, TEST_PREDICTIONS, TRIALS, TableSchema

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

#: Statuses of ``trials.status`` (see the results layout); others are kept but never "finished".
STATUSES: tuple[str, ...] = ("completed", "stopped", "failed", "running", "interrupted")

#: Without these a table is not a jetstudy trials table: every part needs a loss and a size.
REQUIRED_TRIAL_COLUMNS: tuple[str, ...] = TRIALS.required
#: A learning curve needs both losses per epoch.
REQUIRED_EPOCH_COLUMNS: tuple[str, ...] = EPOCHS.required
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


def validate_trials(df: pd.DataFrame, where: str = "trials table",
                    folder: Path | None = None) -> pd.DataFrame:
    """Check and normalise a trials table; raise :class:`AnalysisError` naming what is wrong
    (``folder``: the study folder it is in, when known, for the fix's command)."""
    df = _tidy_names(df, where)  # ' val_loss' in a hand-edited CSV header is val_loss
    missing = [c for c in REQUIRED_TRIAL_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"the {where} lacks the columns {', '.join(missing)}"
            f"{_renamed_hint(missing, df.columns)}; a jetstudy trials table has "
            f"at least {', '.join(REQUIRED_TRIAL_COLUMNS)} (see docs/results_layout.md). "
            "Was it written by `jetstudy run`?"
        )
    if df.empty:
        raise AnalysisError(
            f"the {where} has no rows: no trial has reported yet. Wait for the first trial "
            "to finish an epoch, then run the report again"
        )
    df = df.reset_index(drop=True)  # a concatenated table repeats index labels
    out = _coerce(df, TRIALS)
    _check_numbers(df, out, TRIALS, where, folder)
    out = _whole_numbers(out, TRIALS)
    for col in ("trial_id", "status", "error"):
        if col in out.columns:
            out[col] = out[col].str.strip()
    out = out[out["trial_id"] != ""]
    out["status"] = out["status"].str.lower()
    blank = int((out["status"] == "").sum())
    if blank:  # an empty cell (a hand edit, a CSV round trip), not a status named ''
        logger.warning("%s: %d trial(s) without a status (an empty cell) kept, never counted as "
                       "finished; fill in their status (completed, failed, ...) to count them",
                       where, blank)
    unknown = sorted(set(out["status"]) - set(STATUSES) - {""})
    if unknown:
        logger.warning("%s: unknown statuses %s kept, never counted as finished", where, unknown)
    if out["trial_id"].duplicated().any():
        logger.warning("%s: duplicate trial ids (a snapshot?); keeping the last row of each", where)
        out = out.drop_duplicates("trial_id", keep="last")
    if out.empty:
        raise AnalysisError(f"the {where} has no row with a trial_id; it cannot be analysed")
    return out.reset_index(drop=True)


def _whole_numbers(out: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The schema's count columns (epochs, n_params, flops, ...) as pandas' nullable ``Int64``,
    as the writer stores them: a report prints 9096, never 9096.0, and a missing count stays
    missing (``pd.NA``). Runs after :func:`check_numbers`, which refused fractions, negatives
    and infinities, so the rounding changes no value."""
    for col in out.columns:
        column = schema.column(str(col))
        if column is not None and column.dtype == "int":
            out[col] = out[col].round().astype("Int64")
    return out


def validate_epochs(df: pd.DataFrame, trial_ids: pd.Series,
                    folder: Path | None = None) -> pd.DataFrame:
    """Check an epochs table and keep the rows of known trials, one per (trial, epoch)
    (``folder``: the study folder it is in, when known, for the fix's command)."""
    df = _tidy_names(df, "epochs table")
    missing = [c for c in REQUIRED_EPOCH_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"the epochs table lacks the columns {', '.join(missing)}"
            f"{_renamed_hint(missing, df.columns)} "
            f"(needs {', '.join(REQUIRED_EPOCH_COLUMNS)})"
        )
    df = df.reset_index(drop=True)  # a concatenated table repeats index labels
    out = _coerce(df, EPOCHS)
    _check_numbers(df, out, EPOCHS, "epochs table", folder)
    out = _whole_numbers(out, EPOCHS)
    below = (out["epoch"] < 1).fillna(False).astype(bool)
    if below.any():  # epochs count from 1; 0 or less is a hand edit gone wrong
        at = below.idxmax()
        raise AnalysisError(
            f"the epochs table has epoch = {_plain(df['epoch'][at])!r} for trial "
            f"{df['trial_id'][at]}, "
            "but epochs count from 1; correct or drop that row")
    out["trial_id"] = out["trial_id"].str.strip()  # as validate_trials does
    known = out["trial_id"].isin(set(trial_ids))
    if len(out) and not known.any():  # another study's epochs, or ids written otherwise
        raise AnalysisError(
            f"its trial ids match none of the trials table's (e.g. "
            f"{out['trial_id'].iloc[0]!r} here, {trial_ids.iloc[0]!r} there): the epochs table "
            "of another study? Put the study's own epochs table beside its trials table")
    out = out[known & out["epoch"].notna()]
    dropped = len(df) - len(out)
    if dropped:
        logger.info("epochs table: dropped %d rows of trials not in the trials table", dropped)
    out = out.drop_duplicates(["trial_id", "epoch"], keep="last")
    return out.sort_values(["trial_id", "epoch"]).reset_index(drop=True)


def _validate_predictions(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TEST_PREDICTIONS.required if c not in df.columns]
    if missing:
        raise AnalysisError(f"test_predictions lacks the columns {', '.join(missing)}")
    out = df.copy()
    out["label"] = pd.to_numeric(out["label"], errors="coerce")
    bad = ~out["label"].isin(range(len(CLASSES)))
    if bad.all():
        raise AnalysisError(f"test_predictions has no row with a label in 0..{len(CLASSES) - 1}")
    if bad.any():  # dropping them would score the model on part of its test split
        at = bad.idxmax()
        raise AnalysisError(
            f"test_predictions has label = {_plain(df['label'][at])!r} in row {at} "
            f"({int(bad.sum())} rows like it), but labels are class indices "
            f"0..{len(CLASSES) - 1}; restore the file the study wrote (best/ holds the study's "
            "own evaluation: it is not edited by hand)")
    probabilities = [c for c in out.columns if str(c).startswith(("p_", "bayes_"))]
    values = out[probabilities].apply(pd.to_numeric, errors="coerce")
    outside = ~((values >= -1e-6) & (values <= 1 + 1e-6))  # NaN, text, outside 0..1
    if outside.to_numpy().any():
        row, col = (int(i[0]) for i in np.nonzero(outside.to_numpy()))
        raise AnalysisError(
            f"test_predictions has {probabilities[col]} = "
            f"{_plain(df[probabilities[col]].iloc[row])!r} in row {row}, but a probability must "
            "be a number from 0 to 1; restore the file the study wrote (best/ holds the study's "
            "own evaluation: it is not edited by hand)")
    out["label"] = out["label"].astype(int)
    return out.reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value (``7``, not ``np.int64(7)``) for messages."""
    return value.item() if isinstance(value, np.generic) else value


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
    value = json.loads(path.read_text())
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    check_json_numbers(path.name, value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    value = yaml.safe_load(path.read_text())
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
    folder = trials_path.parent
    trials = _numbered(trials, folder)
    tables = StudyTables(source=source, folder=folder, name=folder.name, trials=trials,
                         inputs=[trials_path])
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
    tables.data_summary = optional(("data_summary.json",), "data summary", _read_json)
    tables.reference = optional(("reference.json",), "reference", _read_json)
    tables.test_metrics = optional(("best/test_metrics.json",), "test metrics", _read_json)
    tables.test_predictions = optional(
        ("best/test_predictions.parquet",), "test predictions",
        lambda p: _validate_predictions(_read_table(p, "test predictions")),
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
        written = json.loads((folder / "provenance.json").read_text())["versions"]["jetstudy"]
        here = metadata.version("jetstudy")
    except (OSError, ValueError, KeyError, TypeError, metadata.PackageNotFoundError):
        return
    old, new = _release(here), _release(written)
    if old is not None and new is not None and new > old:
        logger.warning("%s was written by jetstudy %s, newer than this jetstudy %s: what that "
                       "version added to the tables is kept as it is or skipped, so parts of the "
                       "report may be missing; update jetstudy (pip install -U jetstudy) for "
                       "the full report", folder, written, here)
