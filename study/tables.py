"""Result tables: one row per trial (``trials``) and one per trial-epoch (``epochs``).

The columns are the contract with :mod:`analysis`: their names, order and types come from
:mod:`jetstudy.trainables.table_schema` (documented in ``docs/results_layout.md``). Tables are
built from plain per-epoch records, so the same code serves the final tables (from Ray Tune's
result grid) and live snapshots (from the progress callback). Files are written atomically
(:func:`jetstudy.trainables.atomic.write_atomic`, with the user's umask): a reader, or an interrupted run, never sees half a table.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from jetstudy.trainables.atomic import write_atomic  # the one atomic writer (re-exported)
from jetstudy.trainables.objective import Objective
from jetstudy.trainables.table_schema import EPOCHS, TRIAL_ORDER, TRIALS, TableSchema

__all__ = ["EPOCH_COLUMNS", "HYPERPARAMS", "epoch_rows", "epochs_trained", "trial_row", "trials_frame",
           "epochs_frame", "write_table", "write_parquet", "write_atomic", "write_json",
           "write_text", "error_reason"]

#: Per-epoch metrics the trial loop reports, in table order (the epochs table's columns after
#: ``trial_id``; ``*_se``: NaN in records from before they were measured).
EPOCH_COLUMNS: tuple[str, ...] = tuple(n for n in EPOCHS.names if n != "trial_id")
#: Hyperparameter columns (besides the per-layer widths).
HYPERPARAMS: tuple[str, ...] = ("dropout", "l1", "l2", "lr", "activation", "batch_norm")
_LAST = ("train_loss", "train_loss_running", "val_loss", "val_acc", "val_auc", "train_loss_se",
         "val_loss_se")


def epoch_rows(trial_id: str, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the table's columns of each reported result (Ray adds many of its own)."""
    return [{"trial_id": trial_id, **{c: r.get(c, math.nan) for c in EPOCH_COLUMNS}}
            for r in records]


def error_reason(error: BaseException | str | None) -> str:
    """The last informative line of an error (Ray wraps trial errors in long tracebacks)."""
    if error is None:
        return ""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else type(error).__name__


def epochs_trained(epochs: pd.DataFrame | list[dict[str, Any]]) -> int:
    """Epochs trained: the highest ``epoch`` of the log (a table or its records; 0 for an
    empty log; the row count for records without epoch numbers), the one count of
    ``trials.epochs``, a trial's status (all of ``max_epochs`` trained: completed) and its
    stop reason, so that a log with a gap (1, 2, 5) is 5 epochs everywhere."""
    if isinstance(epochs, list):
        epochs = pd.DataFrame(epochs)
    if not len(epochs):
        return 0
    if "epoch" not in epochs:
        return int(len(epochs))
    numbers = pd.to_numeric(epochs["epoch"], errors="coerce")
    return int(numbers.max()) if numbers.notna().any() else int(len(epochs))


def trial_row(trial_id: str, params: dict[str, Any], epochs: pd.DataFrame, *, status: str,
              error: str, max_epochs: int, max_depth: int, metric: str, mode: str,
              batch_size: int, flops: int | None = None) -> dict[str, Any]:
    """Summarise one trial: its hyperparameters, last and best metrics and how it ended."""
    depth = int(params.get("depth", 0))
    widths = [int(params[f"width_{i}"]) for i in range(depth) if f"width_{i}" in params]
    row: dict[str, Any] = {
        "trial_id": trial_id, "status": status, "error": error, "depth": depth,
        # the search's order of the trial (the searcher puts it in the config): the tie-break
        TRIAL_ORDER: int(params[TRIAL_ORDER]) if params.get(TRIAL_ORDER) is not None else None,
        "widths": "-".join(map(str, widths)),
        **{f"width_{i}": float(widths[i]) if i < len(widths) else math.nan
           for i in range(max_depth)},
        **{h: params.get(h) for h in HYPERPARAMS},
        "batch_size": batch_size,
        "n_params": int(epochs["n_params"].iloc[-1]) if len(epochs) else None,
        "flops": flops, "multiplications": flops // 2 if flops is not None else None,
        # epochs trained: the last epoch's number, as the regime rules, best_epoch and the
        # searcher count them; a log with gaps (1, 2, 5) or an epoch logged twice (a resumed
        # trial) is no fewer or more epochs trained than its last number says
        "epochs": epochs_trained(epochs), "max_epochs": max_epochs,
    }
    last = epochs.iloc[-1] if len(epochs) else None
    row.update({c: float(last[c]) if last is not None else math.nan for c in _LAST})
    best = Objective(metric, mode).best_index(epochs[metric]) if len(epochs) else None
    for c in ("val_loss", "val_acc", "val_auc"):
        row[f"best_{c}"] = float(epochs.loc[best, c]) if best is not None else math.nan
    row["best_epoch"] = int(epochs.loc[best, "epoch"]) if best is not None else None
    row["wall_time_s"] = float(epochs["time_s"].iloc[-1]) if len(epochs) else 0.0
    return row


def _typed(frame: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The schema's column order, and its ``int`` columns as nullable integers (``Int64``)."""
    frame = frame[schema.order(frame.columns)]  # raises on a column the schema lacks
    return frame.astype({c: "Int64" for c in frame.columns if schema.column(c).dtype == "int"})


def trials_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The trials table of :func:`trial_row` rows (plus ``stop_reason``), in the schema's
    column order; a column the schema does not list is an error."""
    return _typed(pd.DataFrame(rows), TRIALS)


def epochs_frame(rows: list[dict[str, Any]], *, typed: bool = True) -> pd.DataFrame:
    """The epochs table of :func:`epoch_rows` rows. ``typed=False``: the same columns without
    the schema's types, to read one trial's numbers (a tables snapshot reads every trial's;
    typing each frame cost ~5 ms of CPU a trial, the whole table is typed once)."""
    frame = pd.DataFrame(rows, columns=list(EPOCHS.names))
    return _typed(frame, EPOCHS) if typed else frame


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda p: frame.to_parquet(p, index=False))


def write_table(frame: pd.DataFrame, folder: Path, name: str) -> None:
    """``name.parquet`` and its ``name.csv`` twin, each written atomically."""
    write_parquet(frame, folder / f"{name}.parquet")
    write_atomic(folder / f"{name}.csv", lambda p: frame.to_csv(p, index=False))


def write_json(obj: Any, path: Path) -> None:
    write_text(json.dumps(obj, indent=2, default=float) + "\n", path)


def write_text(text: str, path: Path) -> None:
    write_atomic(path, lambda p: Path(p).write_text(text))
