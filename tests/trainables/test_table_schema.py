"""One source for the result tables' columns: trainables.table_schema, the writer (study.tables),
the reader (analysis.tables) and docs/results_layout.md agree."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.regimes import assess_regimes
from jetstudy.analysis.tables import validate_epochs, validate_trials
from jetstudy.study.tables import epoch_rows, epochs_frame, trial_row, trials_frame
from jetstudy.trainables.table_schema import EPOCHS, TABLES, TRIALS, Column, TableSchema

LAYOUT = Path(__file__).parents[2] / "docs" / "results_layout.md"
#: Tables the analysis reads (their docs say which columns are required).
READ = ("trials.parquet", "epochs.parquet", "best/test_predictions.parquet")


def documented(table: str) -> list[tuple[list[str], str | None, str]]:
    """The rows ``(names, type, meaning)`` of the column table under ``## `table` ``."""
    text = LAYOUT.read_text()
    head = text.index(f"## `{table}`\n")
    lines = text[head:].splitlines()[1:]
    start = next(k for k, line in enumerate(lines) if line.startswith("| column |"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (c.strip() for c in line.strip().strip("|").split("|"))))
        rows.append((re.findall(r"`([^`]+)`", cells["column"]), cells.get("type"),
                     cells["meaning"]))
    return rows


@pytest.mark.parametrize("table", list(TABLES))
def test_the_results_layout_lists_exactly_the_schema_columns(table: str) -> None:
    schema = TABLES[table]
    rows = documented(table)
    names = [n for row_names, _, _ in rows for n in row_names]
    assert sorted(set(names)) == sorted(schema.names), (
        f"docs/results_layout.md lists {sorted(set(names) - set(schema.names))} not in the "
        f"schema, and lacks {sorted(set(schema.names) - set(names))}")
    assert len(names) == len(set(names)), f"a column listed twice: {names}"
    for row_names, dtype, meaning in rows:
        for name in row_names:
            assert dtype == schema.column(name).dtype, (table, name, dtype)
        if table in READ:  # the reader's contract: the docs say which columns it needs
            required = [n for n in row_names if schema.column(n).required]
            assert bool(required) == ("required" in meaning), (table, row_names)


def test_a_family_matches_its_numbered_members_only() -> None:
    width = TRIALS.column("width_2")
    assert width is not None and width.name == "width_{i}"
    assert TRIALS.column("widths").name == "widths"
    assert TRIALS.column("width_x") is None and TRIALS.column("nonsense") is None
    assert TRIALS.order(["width_10", "trial_id", "width_2", "status"]) == [
        "trial_id", "status", "width_2", "width_10"]
    with pytest.raises(ValueError, match=r"\['extra'\] .* add them there and to docs"):
        TRIALS.order(["trial_id", "extra"])
    with pytest.raises(ValueError, match="dtype must be one of"):
        Column("x", "double", False, "")


def _written() -> tuple[pd.DataFrame, pd.DataFrame]:
    records = [{"epoch": e, "train_loss": 1.0 / e, "train_loss_running": 1.1 / e,
                "val_loss": 1.2 / e, "val_acc": 0.5, "val_auc": 0.7, "train_loss_se": 0.01,
                "val_loss_se": 0.01, "n_params": 100, "time_s": float(e), "flops": 200}
               for e in (1, 2, 3)]
    epochs = epochs_frame(epoch_rows("t1", records))
    params = {"depth": 2, "width_0": 8, "width_1": 4, "dropout": 0.1, "l1": 0.0, "l2": 1e-5,
              "lr": 1e-3, "activation": "relu", "batch_norm": False}
    row = trial_row("t1", params, epochs, status="completed", error="", max_epochs=3,
                    max_depth=3, metric="val_loss", mode="min", batch_size=256, flops=200)
    return trials_frame([{**row, "stop_reason": "max_epochs", "restarts": 0, "resumed": 0}]), epochs


def _expected(schema: TableSchema, frame: pd.DataFrame) -> list[str]:
    return [n for c in schema.columns for n in frame.columns if c.matches(n)]


def test_the_writer_orders_and_types_columns_by_the_schema() -> None:
    trials, epochs = _written()
    assert list(trials.columns) == _expected(TRIALS, trials)
    assert set(TRIALS.names) - {"width_{i}"} <= set(trials.columns)  # the writer fills each
    assert [c for c in trials.columns if c.startswith("width_")] == [
        "width_0", "width_1", "width_2"]
    assert list(epochs.columns) == list(EPOCHS.names)
    for frame, schema in ((trials, TRIALS), (epochs, EPOCHS)):
        for name in frame.columns:
            if schema.column(name).dtype == "int":
                assert str(frame[name].dtype) == "Int64", name
    with pytest.raises(ValueError, match="'surprise'"):
        trials_frame([{"trial_id": "t", "surprise": 1}])


def test_the_reader_needs_exactly_the_required_columns() -> None:
    trials, epochs = _written()
    assert validate_trials(trials[list(TRIALS.required)]).shape == (1, len(TRIALS.required))
    for name in TRIALS.required:
        with pytest.raises(AnalysisError, match=f"lacks the columns {name}"):
            validate_trials(trials.drop(columns=[name]))
    for name in EPOCHS.required:
        with pytest.raises(AnalysisError, match=f"lacks the columns {name}"):
            validate_epochs(epochs.drop(columns=[name]), trials["trial_id"])
    # types from the schema: a CSV round trip's int ids and "True" strings are put back
    raw = trials.assign(trial_id=[7], batch_norm=["True"], depth=["2"])
    back = validate_trials(raw)
    assert back.loc[0, "trial_id"] == "7" and back.loc[0, "batch_norm"] is np.True_
    assert back["batch_norm"].dtype == bool  # as pd.read_parquet gives it: ~ negates
    # a count column comes back as the schema's int (nullable Int64, as the writer stores it)
    assert back.loc[0, "depth"] == 2 and str(back["depth"].dtype) == "Int64"


def test_regimes_csv_has_the_schema_columns() -> None:
    trials, epochs = _written()
    table = assess_regimes(validate_trials(trials),
                           validate_epochs(epochs, trials["trial_id"])).table
    assert list(table.columns) == list(TABLES["report/regimes.csv"].names)
    assert np.isfinite(table["final_val_loss"]).all()
