"""Referee round 7, result tables edited by hand: a negative loss (a cross-entropy is never
below 0) in the trials or epochs table was read as the best trial's score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.tables import load_tables
from tests.faults.test_referee5_inputs_tables import _epochs, _trials


@pytest.mark.parametrize("column", ["val_loss", "train_loss", "best_val_loss"])
def test_a_negative_loss_in_the_trials_table_is_refused(tmp_path: Path, column: str) -> None:
    trials = _trials(["a", "b", "c"])
    trials[column] = [0.6, -0.5, 0.55]
    trials.to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(AnalysisError) as caught:
        load_tables(tmp_path)
    error = str(caught.value)
    assert f"{column} = -0.5 for trial b" in error and "a cross-entropy" in error, error


def test_a_negative_loss_in_the_epochs_table_leaves_it_out_saying_why(tmp_path: Path) -> None:
    _trials(["a", "b", "c"]).to_csv(tmp_path / "trials.csv", index=False)
    epochs = _epochs(["a", "b", "c"])
    epochs.loc[1, "val_loss"] = -1.0
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    tables = load_tables(tmp_path)
    assert tables.epochs is None
    assert any("val_loss = -1.0" in why for _, why in tables.missing), tables.missing


def test_a_diverged_trials_infinite_or_empty_loss_is_still_read(tmp_path: Path) -> None:
    trials = _trials(["a", "b", "c"])
    trials["val_loss"] = [0.6, np.inf, np.nan]
    trials.to_csv(tmp_path / "trials.csv", index=False)
    read = load_tables(tmp_path).trials["val_loss"].tolist()
    assert read[0] == 0.6 and read[1] == np.inf and np.isnan(read[2])
