"""Referee round 6, result tables edited by hand: a header with spaces around a name
(' val_loss', as a spreadsheet writes it) was 'lacks the columns val_loss'; a column renamed
('valid_loss', 'VAL_LOSS', 'Trial ID') was named missing without the column that is there; an
epoch 0 was shown as 'epoch = np.int64(0)'."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.tables import load_tables
from tests.faults.test_referee5_inputs_tables import _epochs, _trials


def _write(folder: Path, renamed: dict[str, str], epochs_renamed: dict[str, str] | None = None
           ) -> Path:
    _trials(["a", "b", "c"]).rename(columns=renamed).to_csv(folder / "trials.csv", index=False)
    epochs = _epochs(["a", "b", "c"]).rename(columns=epochs_renamed or {})
    epochs.to_csv(folder / "epochs.csv", index=False)
    return folder


def test_spaces_around_column_names_are_read(tmp_path: Path) -> None:
    spaced = {"val_loss": " val_loss", "trial_id": "trial_id "}
    tables = load_tables(_write(tmp_path, spaced, {"epoch": " epoch "}))
    assert tables.trials["val_loss"].tolist() == [0.6, 1.0, 0.55]
    assert tables.trials["trial_id"].tolist() == ["a", "b", "c"]
    assert tables.epochs is not None and len(tables.epochs) == 6


def test_two_names_alike_but_for_spaces_are_refused(tmp_path: Path) -> None:
    trials = _trials(["a", "b", "c"])
    trials[" val_loss"] = [0.1, 0.2, 0.3]
    trials.to_csv(tmp_path / "trials.csv", index=False)
    with pytest.raises(AnalysisError, match=r"val_loss 2 times.*keep one column per name"):
        load_tables(tmp_path)


@pytest.mark.parametrize("renamed, shown, column", [
    ({"val_loss": "valid_loss"}, "'valid_loss'", "val_loss"),
    ({"val_loss": "VAL_LOSS"}, "'VAL_LOSS'", "val_loss"),
    ({"trial_id": "Trial ID"}, "'Trial ID'", "trial_id"),
])
def test_a_renamed_column_is_named_with_the_fix(tmp_path: Path, renamed: dict, shown: str,
                                                column: str) -> None:
    with pytest.raises(AnalysisError) as caught:
        load_tables(_write(tmp_path, renamed))
    error = str(caught.value)
    assert f"lacks the columns {column}" in error and shown in error, error
    assert f"rename it to {column}" in error, error


def test_an_epoch_zero_is_shown_as_written(tmp_path: Path) -> None:
    from jetstudy.analysis.tables import validate_epochs

    epochs = _epochs(["a"])
    epochs["epoch"] = [0, 1]
    with pytest.raises(AnalysisError) as caught:
        validate_epochs(epochs, _trials(["a", "b", "c"])["trial_id"])
    error = str(caught.value)
    assert "epoch = 0 for trial a" in error and "np." not in error, error
