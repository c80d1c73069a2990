"""Round 10: a real Ctrl-C of ``jetstudy run`` and ``--resume`` draw what a straight run of the
same seed draws. Round 9 (``_seed_draw``) tested that at the searcher alone; here through Ray
Tune's own snapshot and restore: a serial TPE search (5 trials, 2 random start-up ones, then
3 proposed from TPE's model over the trials' real losses) SIGINT-ed while a trial trains, then
resumed, lists in ``trials.parquet`` the configurations, each under its trial number, of the
straight run, and Optuna holds each trial once, complete. Checked by hand as well (6 trials,
random and TPE, cut between and within trials): the same configurations. The Ctrl-C reaches a
real ``jetstudy run`` process; the straight run and the resume, whose files are what is
compared, run the same command lines in this process on the module's Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.trialfiles import ENDED_FILE, EPOCHS_FILE
from tests.conftest import make_small_config
from tests.faults.conftest import jetstudy_here

pytestmark = pytest.mark.slow

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_worker_niceness": "0"}
CONFIG_COLUMNS = ["trial_number", "depth", "widths", "lr", "dropout", "l2", "status", "epochs"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "jetstudy.study.cli", *args, "--no-report"]


def _config(root: Path, name: str) -> Path:
    cfg = make_small_config(root, name, data={"synthetic_jets": 3000},
                            space={"depth": [1, 2], "width": [4, 16], "lr": [1e-3, 1e-2]},
                            search={"sampler": "tpe", "num_trials": 5, "max_concurrent": 1,
                                    "seed": 5},
                            scheduler={"type": "fifo", "max_epochs": 3},
                            training={"batch_size": 256, "train_eval_jets": 500},
                            resources={"num_cpus": 1})
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    return path


def _training(folder: Path) -> bool:
    """A trial after the first has logged an epoch and not ended (the search is mid-trial
    past a draw)."""
    logs = list((folder / "trials").glob(f"*/{EPOCHS_FILE}"))
    return len(logs) >= 2 and any(log.read_text().count("\n") >= 1
                                  and not (log.parent / ENDED_FILE).exists() for log in logs)


def _table(folder: Path) -> pd.DataFrame:
    trials = pd.read_parquet(folder / "trials.parquet")
    return trials[CONFIG_COLUMNS].sort_values("trial_number").reset_index(drop=True)


def test_ctrl_c_and_resume_draw_the_straight_runs_configurations(ray_cluster,
                                                                 tmp_path: Path) -> None:
    straight = jetstudy_here("run", str(_config(tmp_path, "straight")), "--no-report",
                             cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    path, folder = _config(tmp_path, "cut"), tmp_path / "cut"
    proc = subprocess.Popen(_cli("run", str(path)), env=ENV, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if _training(folder):
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    _, err = proc.communicate(timeout=300)
    if proc.returncode == 0:
        pytest.skip("the search finished before Ctrl-C reached it")
    assert proc.returncode == 130, err[-3000:]
    cut = pd.read_parquet(folder / "trials.parquet")
    assert 2 <= len(cut) < 5, cut[CONFIG_COLUMNS]
    again = jetstudy_here("run", str(path), "--resume", "--no-report", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    want, got = _table(tmp_path / "straight"), _table(folder)
    assert len(want) == 5 and (want["status"] == "completed").all()
    pd.testing.assert_frame_equal(got, want)
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    assert [t.number for t in study.trials] == list(range(5))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
