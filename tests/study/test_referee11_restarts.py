"""Round 11 (helper M): a trial Ray Tune restarted after its worker died left no trace.

When a trial's worker dies (a lost node, the OOM killer) Tune restarts it from its checkpoint
(``resources.max_failures``) and the epochs after that checkpoint are trained again; nothing
said so. The driver's ledger now appends a line per restart to ``trials/<id>/restarts``,
``trials.parquet`` counts them (``restarts``, its last column) and the report's Outcomes part
names the trials. The real kill of a worker is ``tests/study/test_faults.py``'s study
(``test_killed_trial_is_counted_as_restarted``); a diverged trial's restarts are not counted
(``test_referee2_search_resume.py``). Here: the record, the ledger's callback and the sentence,
without Ray.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from jetstudy.analysis.restarts import LISTED, restart_lines, restarted
from jetstudy.study.ledger import TrialLedger
from jetstudy.trainables.table_schema import TRIALS
from jetstudy.trainables.trialfiles import (RESTARTS_FILE, mark_diverged, mark_restarted,
                                            restart_count)


def _trial(trial_id: str, epoch: int | None) -> SimpleNamespace:
    """What the ledger reads of Tune's Trial: its id and last result."""
    return SimpleNamespace(trial_id=trial_id, last_result={} if epoch is None else {"epoch": epoch})


def test_restarts_is_the_trials_tables_last_optional_int_column() -> None:
    column = TRIALS.column("restarts")
    assert column is not None and column.dtype == "int" and not column.required
    assert TRIALS.names[-2:] == ("restarts", "resumed")  # round 12 added resumed after it


def test_ledger_records_each_restart_but_not_a_diverged_trials(tmp_path: Path) -> None:
    ledger = TrialLedger(str(tmp_path), asha=False)
    ledger.on_trial_recover(0, [], _trial("a1b2", 2))
    ledger.on_trial_recover(0, [], _trial("a1b2", 3))
    ledger.on_trial_recover(0, [], _trial("c3d4", None))  # died before its first result
    assert restart_count(str(tmp_path), "a1b2") == 2
    assert (tmp_path / "a1b2" / RESTARTS_FILE).read_text().splitlines() == [
        '{"after_epoch": 2}', '{"after_epoch": 3}']
    assert restart_count(str(tmp_path), "c3d4") == 1
    (tmp_path / "e5f6").mkdir()
    mark_diverged(str(tmp_path), "e5f6", "TrialDiverged: lower the learning rate")
    ledger.on_trial_recover(0, [], _trial("e5f6", 1))  # its restart fails at once, as said
    assert restart_count(str(tmp_path), "e5f6") == 0
    assert restart_count(str(tmp_path), "never") == 0


def test_a_line_cut_by_a_kill_still_counts_and_is_not_glued(tmp_path: Path) -> None:
    (tmp_path / "a1b2").mkdir()
    (tmp_path / "a1b2" / RESTARTS_FILE).write_text('{"after_epoch": 2}\n{"after_ep')
    mark_restarted(str(tmp_path), "a1b2", 4)
    assert restart_count(str(tmp_path), "a1b2") == 3


def test_the_record_is_never_written_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "a1b2").mkdir()
    target = tmp_path / "users_file"
    target.write_text("mine\n")
    os.symlink(target, tmp_path / "a1b2" / RESTARTS_FILE)
    with pytest.raises(OSError):
        mark_restarted(str(tmp_path), "a1b2", 1)
    assert target.read_text() == "mine\n"
    assert restart_count(str(tmp_path), "a1b2") == 0


def test_a_failed_record_warns_and_never_fails_the_trial(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a1b2").mkdir()
    (tmp_path / "a1b2" / RESTARTS_FILE).mkdir()  # a folder where the file goes: cannot append
    with caplog.at_level(logging.WARNING, logger="jetstudy.study.ledger"):
        TrialLedger(str(tmp_path)).on_trial_recover(0, [], _trial("a1b2", 2))
    assert "a1b2: could not record its restart" in caplog.text


def test_sentence_names_restarted_trials_and_their_counts() -> None:
    trials = pd.DataFrame({"trial_id": ["a1b2", "zz", "c3d4"],
                           "restarts": pd.array([1, 0, 2], dtype="Int64")})
    (line,) = restart_lines(trials)
    assert line.startswith("2 trials restarted after their worker died or failed: "
                           "a1b2 (1), c3d4 (2) ")
    assert "their curves join two runs" in line and "resources.max_failures" in line
    (one,) = restart_lines(trials.iloc[:2])
    assert one.startswith("1 trial restarted after its worker died or failed: a1b2 (1) ")
    assert "its curve joins two runs" in one


@pytest.mark.parametrize("restarts", [None, [0, 0], [pd.NA, 0], ["x", 0]],
                         ids=["absent", "none", "unknown", "unreadable"])
def test_nothing_is_said_without_a_restart(restarts: list | None) -> None:
    trials = pd.DataFrame({"trial_id": ["a", "b"]})
    if restarts is not None:
        trials["restarts"] = restarts
    assert restart_lines(trials) == []
    assert restarted(trials).empty


def test_many_restarted_trials_are_counted_past_the_named() -> None:
    trials = pd.DataFrame({"trial_id": [f"t{i:02d}" for i in range(LISTED + 3)],
                           "restarts": [1] * (LISTED + 3)})
    (line,) = restart_lines(trials)
    assert line.startswith(f"{LISTED + 3} trials restarted")
    assert f"t{LISTED - 1:02d} (1) and 3 more" in line and f"t{LISTED:02d}" not in line


def test_a_rerun_without_the_restart_still_reproduces(tmp_path: Path) -> None:
    """A worker that died in one run and not in the other is no difference of results."""
    from jetstudy.study.rerun import compare_runs

    epochs = pd.DataFrame({"trial_id": ["a"] * 2, "epoch": [1, 2], "train_loss": [1.0, 0.5],
                           "val_loss": [1.1, 0.6]})
    for name, n in (("first", 1), ("rerun", 0)):
        (tmp_path / name).mkdir()
        pd.DataFrame({"trial_id": ["a"], "status": ["completed"], "n_params": [10],
                      "val_loss": [0.6], "restarts": [n]}).to_parquet(
            tmp_path / name / "trials.parquet")
        epochs.to_parquet(tmp_path / name / "epochs.parquet")
    assert compare_runs(tmp_path / "first", tmp_path / "rerun") == []
