"""Referee round 2 (task B): resuming a finished study, resuming with another concurrency, and
a study whose every trial fails, on real Ray, Optuna and small CPU studies.

Found and fixed here:
- a TPE study resumed with another ``search.max_concurrent`` (or ``num_trials``) kept the first
  run's start-up count in its restored sampler (``max(10, 2 * max_concurrent)`` held for the
  first run only); it follows the resumed config now, and ``provenance.json`` says, per run,
  what the sampler did;
- the report did not say which kind of study ran nor how its sampler searched: its overview
  names the kind, sampler and scheduler, and TPE's settings from ``provenance.json``;
- ``--resume`` of a study that had run all its trials said nothing about there being nothing
  to do (it printed the same results as if it had trained); it says so now, exit 0;
- a study whose every trial failed printed Ray's traceback once per trial, a warning "no trial
  finished an epoch" (they had: they failed later) and one "failed:" line per trial with the
  same reason; now no traceback, "every trial failed", and one line for trials that failed
  alike, exit 3 (README);
- a diverged trial was restarted ``resources.max_failures`` times from its checkpoint (2 by
  default) and trained into the same NaN each time; a restart now fails at once with the
  first attempt's reason (``trials/<id>/diverged``).

The resume checks (finished study resumed as it is, then with more trials at a time) read the
TPE study that ``test_referee_search_resume.py`` grows: they are its
``test_resume_finished_then_with_more_at_a_time`` (one shared study, not two).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml


pytestmark = pytest.mark.slow


def test_every_trial_failing_is_one_clear_story(tmp_path: Path) -> None:
    """The real command line: exit 3 (README), no Ray traceback, one line for trials that
    failed alike."""
    from tests.conftest import make_small_config

    raw = make_small_config(
        tmp_path, "allfail", data={"synthetic_jets": 2000},
        space={"depth": [3, 3], "width": [128, 128], "dropout": [0, 0], "l1": [0, 0],
               "l2": [0, 0], "lr": [10, 10]},
        search={"num_trials": 2, "max_concurrent": 1, "sampler": "random"},
        scheduler={"type": "fifo", "max_epochs": 3},
        training={"optimizer": "sgd"}, resources={"max_failures": 2, "num_cpus": 1}).to_dict()
    path = tmp_path / "allfail.yaml"
    path.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "RAY_worker_niceness": "0"}
    run = subprocess.run([sys.executable, "-m", "jetstudy.study.cli", "run", str(path),
                          "--no-report"], capture_output=True, text=True, env=env,
                         timeout=300)
    out = run.stdout + run.stderr
    trials = pd.read_parquet(tmp_path / "allfail" / "trials.parquet")
    assert len(trials) == 2 and (trials["status"] == "failed").all(), out
    assert (trials["stop_reason"] == "failed").all()
    assert run.returncode == 3, out
    assert "Traceback" not in out and "Trial task failed" not in out
    assert "every trial failed (2); no best model to evaluate" in out
    assert "no trial finished an epoch" not in out
    failed = [line for line in out.splitlines() if line.startswith("failed:")]
    groups = trials.groupby("error")["trial_id"]
    assert len(failed) == groups.ngroups, out  # one line per reason, not per trial
    for error, ids in groups:
        (line,) = [x for x in failed if x.endswith(f": {error}")]
        assert all(i in line for i in ids)
        assert "TrialDiverged" in line and "lower the learning rate" in line
    assert not (tmp_path / "allfail" / "best" / "test_metrics.json").exists()
    # Tune restarted each trial max_failures (2) times; a restart fails at once with the first
    # attempt's reason instead of training from the checkpoint into the same NaN again
    for row in trials.itertuples():
        folder = tmp_path / "allfail" / "trials" / row.trial_id
        lines = (folder / "diverged").read_text().splitlines()
        assert lines == [row.error.split(": ", 1)[1]] + ["restarted: not trained again"] * 2
        assert len((folder / "epochs.jsonl").read_text().splitlines()) == row.epochs
    # those restarts are the divergence's, said in the error: not counted as a worker's restarts
    assert (trials["restarts"] == 0).all(), trials["restarts"]
