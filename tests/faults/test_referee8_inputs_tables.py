"""Referee round 8, result tables edited by hand: an epoch of 10**12 (in the epochs table, or a
trial's epochs / best_epoch in the trials table) was read as written: the trial was judged on
'epochs_judged 1000000000000', complete, its learning curve drawn over a trillion epochs. No
study trains more than scheduler.max_epochs' limit (table_schema.MAX_EPOCHS): above it is a
hand edit gone wrong, named like a negative count."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.tables import load_tables
from jetstudy.study.config import MAX_EPOCHS as CONFIG_MAX_EPOCHS
from jetstudy.trainables.table_schema import MAX_EPOCHS
from tests.faults.test_referee5_inputs_tables import _epochs, _trials


def test_a_huge_epoch_in_the_epochs_table_leaves_it_out_saying_why(tmp_path: Path) -> None:
    _trials(["a", "b", "c"]).to_csv(tmp_path / "trials.csv", index=False)
    epochs = _epochs(["a", "b", "c"])
    epochs.loc[1, "epoch"] = 10**12
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    tables = load_tables(tmp_path)
    assert tables.epochs is None
    why = " ".join(why for _, why in tables.missing)
    assert "epoch = 1000000000000 for trial a" in why and "from 0 to 1,000,000" in why, why


@pytest.mark.parametrize("column", ["epochs", "best_epoch", "max_epochs"])
def test_a_huge_epoch_count_in_the_trials_table_is_refused(tmp_path: Path, column: str) -> None:
    trials = _trials(["a", "b", "c"])
    trials[column] = [2, MAX_EPOCHS + 1, 2]
    trials.to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(AnalysisError) as caught:
        load_tables(tmp_path)
    error = str(caught.value)
    assert f"{column} = {MAX_EPOCHS + 1} for trial b" in error and "1,000,000" in error, error


def test_epochs_up_to_the_limit_still_read(tmp_path: Path) -> None:
    trials = _trials(["a", "b", "c"])
    trials["epochs"] = [2, MAX_EPOCHS, 2]
    trials.to_csv(tmp_path / "trials.csv", index=False)
    epochs = _epochs(["a", "b", "c"])
    epochs.loc[3, "epoch"] = MAX_EPOCHS
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    tables = load_tables(tmp_path)
    assert tables.trials["epochs"].tolist() == [2, MAX_EPOCHS, 2]
    assert tables.epochs["epoch"].max() == MAX_EPOCHS


def test_the_config_and_the_tables_share_one_epoch_limit() -> None:
    assert CONFIG_MAX_EPOCHS is MAX_EPOCHS
