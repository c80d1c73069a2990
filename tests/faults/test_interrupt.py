"""Ctrl-C and kill -9 of the driver, the way a user meets them.

* Ctrl-C (SIGINT to the driver): Tune's own stop, the tables written with the cut-short trials
  ``interrupted`` (never ``completed`` with fewer than ``max_epochs`` epochs), the ``--resume``
  command printed with the study's name and the run's options, exit 130, and no Ray process
  of the run left.
* kill -9 of a resumed driver: the next ``--resume`` stops what is left of the killed driver's
  Ray (checked by the pids it recorded) and finishes the study, continuing trials from their
  checkpoints.

The study and its steps are shared fixtures (``tests/faults/flows.py``).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.faults.flows import FIRST_RUN_OPTION, MAX_EPOCHS, NAME, recorded_alive

pytestmark = pytest.mark.slow


def test_ctrl_c_exits_130_and_prints_the_resume_command(interrupted_study) -> None:
    s = interrupted_study
    assert s.code == 130, s.output[-3000:]
    assert "Traceback" not in s.output, s.output[-3000:]
    assert "continue the study with:" in s.output
    command = s.output.split("continue the study with:")[1].strip().splitlines()[0]
    assert command.startswith(f"jetstudy run {s.config.name} ")
    assert f"--set {FIRST_RUN_OPTION}" in command  # the run's own options come along
    assert command.endswith(f"--set storage.name={NAME} --resume"), command


def test_interrupted_trials_are_not_called_completed(interrupted_study) -> None:
    trials = interrupted_study.trials
    assert set(trials["status"]) <= {"interrupted", "completed"}, trials
    assert (trials["status"] == "interrupted").any(), trials[["trial_id", "status", "epochs"]]
    short = trials[trials["epochs"] < MAX_EPOCHS]
    assert (short["status"] != "completed").all()
    csv = pd.read_csv(interrupted_study.folder / "trials.csv")  # the twin says the same
    assert sorted(csv["status"]) == sorted(trials["status"])
    assert "interrupted" in interrupted_study.output


def test_no_ray_process_outlives_ctrl_c(interrupted_study) -> None:
    s = interrupted_study
    assert s.record["processes"], "the run recorded no Ray process"
    assert recorded_alive(s.record) == []
    assert not (s.folder / "ray_session.json").exists()


def test_kill_9_leftovers_are_stopped_by_the_next_resume(resumed_study) -> None:
    r = resumed_study
    assert r.code == 0, r.output[-3000:]
    assert r.killed_record["processes"]
    assert r.leftovers_after_resume == [], r.leftovers_after_resume


def test_resume_finishes_and_continues_the_cut_trials(interrupted_study, resumed_study) -> None:
    folder = interrupted_study.folder
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "completed").all(), trials
    for log in (folder / "trials").glob("*/epochs.jsonl"):
        epochs = [json.loads(line)["epoch"] for line in log.read_text().splitlines()]
        # continued from their checkpoints: no epoch trained twice, none skipped
        assert epochs == list(range(1, MAX_EPOCHS + 1)), (log.parent.name, epochs[:5])
