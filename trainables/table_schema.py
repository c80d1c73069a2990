"""The result tables' columns: the one list of each table's names, types and meanings.

The writer (:mod:`jetstudy.study.tables`) orders and selects the ``trials`` and ``epochs``
columns from here, the reader (:mod:`jetstudy.analysis.tables`) checks the required ones and
gives every known column its type, and a test checks that ``docs/results_layout.md`` lists
exactly these columns. It lives in the bottom layer (plain Python, no torch) so that both
``study`` and ``analysis`` import it without a cycle.

A *required* column is one the reader refuses a table without; an optional one may be absent
(tables written before it existed still load). A name with ``{i}`` stands for a family:
``width_{i}`` is ``width_0``, ``width_1``, ... (one per layer of the space's deepest model).

>>> TRIALS.required[:3]
('trial_id', 'status', 'n_params')
>>> TRIALS.column("width_3").dtype
'float'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from jetstudy.trainables.schema import CLASSES

__all__ = ["Column", "TableSchema", "DTYPES", "TRIALS", "EPOCHS", "TEST_PREDICTIONS", "REGIMES",
           "TABLES", "TRIAL_ORDER", "MAX_EPOCHS"]

#: The most epochs a trial trains (``scheduler.max_epochs``' limit): an epoch column above it
#: in a table is a hand edit gone wrong, not a study's record.
MAX_EPOCHS = 1_000_000

#: Column types: ``int`` columns are written as pandas' nullable ``Int64``.
DTYPES: tuple[str, ...] = ("str", "int", "float", "bool")


@dataclass(frozen=True)
class Column:
    name: str       # ``width_{i}``: a family of numbered columns
    dtype: str      # one of DTYPES
    required: bool  # the reader refuses a table without it
    meaning: str    # one line; docs/results_layout.md says more

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"column {self.name}: dtype must be one of {DTYPES}, "
                             f"got {self.dtype!r}")

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """What the names of this column (or family) match (compiled once per column: a
        tables snapshot asks thousands of times)."""
        return re.compile(re.escape(self.name).replace(r"\{i\}", r"\d+") + r"\Z")

    def matches(self, name: str) -> bool:
        return bool(self.pattern.match(str(name)))


@dataclass(frozen=True)
class TableSchema:
    """One table's columns, in the order the writer puts them."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @cached_property
    def _found(self) -> dict[object, Column | None]:
        return {}  # name -> its column, filled by column(): a snapshot asks per trial's frame

    def column(self, name: str) -> Column | None:
        """The column (or family) ``name`` belongs to, or None for a name not in the table."""
        try:
            return self._found[name]
        except KeyError:
            found = next((c for c in self.columns if name == c.name or c.matches(name)), None)
            self._found[name] = found
            return found

    def of_dtype(self, dtype: str) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.dtype == dtype)

    def order(self, present: Iterable[str]) -> list[str]:
        """``present`` in the schema's order (a family's members by number); raises
        ValueError naming a column the schema does not know (add it here and to
        docs/results_layout.md)."""
        present = list(present)
        unknown = [n for n in present if self.column(n) is None]
        if unknown:
            raise ValueError(f"the {self.name} table has columns {unknown} that "
                             f"jetstudy.trainables.table_schema.{self.name.upper()} does not "
                             f"list; add them there and to docs/results_layout.md")
        rank = {c.name: k for k, c in enumerate(self.columns)}

        def key(name: str) -> tuple[int, int]:
            column = self.column(name)
            number = re.search(r"(\d+)\Z", name) if "{i}" in column.name else None
            return rank[column.name], int(number.group(1)) if number else 0

        return sorted(present, key=key)


def _cols(dtype: str, required: bool, meaning: str, *names: str) -> tuple[Column, ...]:
    return tuple(Column(n, dtype, required, meaning) for n in names)


#: The trials column (and the trial config key the searcher sets) of the order in which the
#: search proposed each trial: its Optuna trial number, the same on every rerun of the study.
#: It breaks exact ties wherever one trial is chosen (``jetstudy.analysis.trial_order``); Ray's
#: trial ids are random.
TRIAL_ORDER = "trial_number"

_LAST = "last epoch's"
TRIALS = TableSchema("trials", (
    Column("trial_id", "str", True, "Ray Tune trial id"),
    Column(TRIAL_ORDER, "int", False, "order the search proposed the trial in (Optuna number)"),
    Column("status", "str", True, "completed, stopped, failed, running or interrupted"),
    Column("error", "str", False, "why a failed trial failed; empty otherwise"),
    Column("stop_reason", "str", False, "why it ended (max_epochs, patience, scheduler, ...)"),
    Column("depth", "int", False, "number of hidden layers"),
    Column("widths", "str", False, "hidden layer widths joined by '-'"),
    Column("width_{i}", "float", False, "width of hidden layer i (NaN where i >= depth)"),
    *_cols("float", False, "hyperparameter", "dropout", "l1", "l2", "lr"),
    Column("activation", "str", False, "activation function"),
    Column("batch_norm", "bool", False, "batch norm after each hidden layer"),
    Column("batch_size", "int", False, "training batch size"),
    Column("n_params", "int", True, "trainable parameters"),
    Column("flops", "int", False, "floating-point operations of one jet's forward pass"),
    Column("multiplications", "int", False, "dense multiply-adds of one jet (flops / 2)"),
    Column("epochs", "int", False, "epochs trained: the last epoch number of its log"),
    Column("max_epochs", "int", False, "the study's epoch budget"),
    Column("train_loss", "float", True, f"{_LAST} eval-mode training cross-entropy"),
    Column("train_loss_running", "float", False, f"{_LAST} mean train-mode batch loss"),
    Column("val_loss", "float", True, f"{_LAST} validation cross-entropy"),
    *_cols("float", False, f"{_LAST} validation metric", "val_acc", "val_auc"),
    *_cols("float", False, f"{_LAST} standard error of the loss", "train_loss_se",
           "val_loss_se"),
    *_cols("float", False, "value at best_epoch", "best_val_loss", "best_val_acc",
           "best_val_auc"),
    Column("best_epoch", "int", False, "epoch at which the search metric was best"),
    Column("wall_time_s", "float", False, "trial wall time"),
    Column("restarts", "int", False, "times it went on from its checkpoint after its worker "
           "(or pack) died or it failed (resources.max_failures)"),
    Column("resumed", "int", False, "times a --resume continued it from its checkpoint after "
           "the study's driver stopped (not a worker's loss)"),
))

EPOCHS = TableSchema("epochs", (
    Column("trial_id", "str", True, "Ray Tune trial id"),
    Column("epoch", "int", True, "1-based epoch"),
    Column("train_loss", "float", True, "eval-mode training cross-entropy"),
    Column("train_loss_running", "float", False, "mean train-mode batch loss"),
    Column("val_loss", "float", True, "validation cross-entropy"),
    Column("val_acc", "float", False, "validation accuracy"),
    Column("val_auc", "float", False, "macro one-vs-rest validation AUC"),
    *_cols("float", False, "standard error of the loss", "train_loss_se", "val_loss_se"),
    Column("n_params", "int", False, "trainable parameters"),
    Column("time_s", "float", False, "seconds since the trial started"),
))

TEST_PREDICTIONS = TableSchema("test_predictions", (
    Column("label", "int", True, "true class index"),
    *(Column(f"p_{c}", "float", True, f"the best model's probability of class {c}")
      for c in CLASSES),
    *(Column(f"bayes_{c}", "float", False, f"Bayes-optimal posterior of class {c} "
             "(synthetic jets only)") for c in CLASSES),
))

REGIMES = TableSchema("regimes", (
    Column("trial_id", "str", True, "as in trials"),
    Column("status", "str", True, "as in trials"),
    Column("regime", "str", True, "underfit, good, overfit, unstable or undetermined"),
    Column("reason", "str", True, "the rule that decided, with its numbers"),
    Column("complete", "bool", True, "the curve ran to the end"),
    Column("judged_on_partial", "bool", True, "a verdict from a curve that is not complete"),
    Column("epochs_judged", "int", True, "epochs trained: the curve's last epoch number"),
    Column("epochs_logged", "int", False, "epochs of the curve with finite losses (gaps out)"),
    *_cols("float", True, "last epoch's loss", "final_train_loss", "final_val_loss"),
    Column("min_val_loss", "float", True, "lowest 3-epoch running median of the val loss "
           "(may exceed final_val_loss)"),
    Column("gap", "float", True, "relative val - train gap of the judged final losses"),
    Column("gap_sigma", "float", True, "the gap in standard errors (NaN without them)"),
    Column("reference_loss", "float", True, "L* of the validation jets"),
    *_cols("float", False, "the judged final loss (median of the last 3 finite epochs)",
           "judged_train_loss", "judged_val_loss"),
    Column("gap_abs", "float", False, "judged val - train - split_offset, as the reason prints"),
    Column("split_offset", "float", False, "the splits' own Bayes difference taken out"),
    Column("judged_reference_loss", "float", False, "the L* the bias rule compared with"),
    Column("judged_reference_split", "str", False, "train, val or user: whose L* that is"),
    Column("excess_abs", "float", False, "judged loss - judged_reference_loss"),
    Column("excess", "float", False, "excess_abs / judged_reference_loss"),
    Column("excess_sigma", "float", False, "excess_abs in standard errors"),
    Column("min_val_epoch", "int", False, "the epoch of min_val_loss"),
    Column("train_loss_at_min_val", "float", False, "running-median train loss there"),
    *_cols("float", False, "running-median loss at the last epoch",
           "smoothed_final_train_loss", "smoothed_final_val_loss"),
))

#: Every table, by the name docs/results_layout.md gives its file.
TABLES: dict[str, TableSchema] = {
    "trials.parquet": TRIALS, "epochs.parquet": EPOCHS,
    "best/test_predictions.parquet": TEST_PREDICTIONS, "report/regimes.csv": REGIMES,
}
