"""Referee 11 (driver): open files per trial, and ``ulimit -n`` (issue 10, bench/README.md
"Open files").

Tune's CSV and JSON loggers kept each running trial's file open, and the TensorBoard writer its
event file: 3 descriptors per trial in the driver, ~1,536 at 512 trials at once, past the
1,024 a Linux shell allows by default. They now open the file only while a result is written.
A local Ray's processes share the driver's limit; under ``ulimit -n 64`` the raylet died with
a C++ stack trace (exit 1) after the study folder was made. The soft limit is now raised where
the hard one allows, and a hard limit below the study's estimate is refused first, with one
line naming ``ulimit -n``, before the study folder is claimed.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jetstudy.study.open_files import files_needed
from jetstudy.study.run_logs import run_log_callbacks
from tests.study.run_log_trial import StandInTrial, curve

ROOT = Path(__file__).resolve().parents[2]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _result(trial: StandInTrial, epoch: int) -> dict:
    return {"epoch": epoch, "train_loss": 1.4 - epoch / 20, "val_loss": 1.5 - epoch / 20,
            "val_acc": 0.5 + epoch / 100, "training_iteration": epoch, "done": False,
            "trial_id": trial.trial_id, "config": trial.config, "time_total_s": 0.5}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_the_loggers_hold_no_file_open_between_results(tmp_path: Path) -> None:
    loggers = run_log_callbacks(None)
    assert len(loggers) == 3  # CSV, JSON, TensorBoard
    trials = [StandInTrial(tmp_path / "staging" / f"t{i}", tmp_path / "ray" / f"t{i}",
                           f"t{i:07d}", {"depth": 1}) for i in range(40)]
    before = _open_fds()
    for logger in loggers:
        for trial in trials:
            logger.log_trial_start(trial)
    for epoch in (1, 2, 3):
        for trial in trials:
            for logger in loggers:
                logger.log_trial_result(epoch, trial, _result(trial, epoch))
    held = _open_fds() - before
    for logger in loggers:
        for trial in trials:
            logger.log_trial_end(trial)
    assert held <= 2, f"{held} descriptors open for 40 running trials (Tune's loggers: 120)"
    # every result is in each file, once, as Tune writes them
    staging = Path(trials[7].local_path)
    with open(staging / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    lines = (staging / "result.json").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]
    assert curve(staging, "ray/tune/val_loss") == [(1, 1.45), (2, 1.4), (3, 1.35)]


def _limited(limit: str, code: str) -> subprocess.CompletedProcess:
    """``code`` (Python) under ``ulimit -n LIMIT`` (``-S``: soft only; else soft and hard)."""
    return subprocess.run(["bash", "-c", f'ulimit {limit} && exec "$0" -c "$1"', sys.executable,
                           textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_a_low_soft_limit_is_raised_towards_the_hard_one() -> None:
    out = _limited("-Sn 64", """
        import resource
        from jetstudy.study.config import from_dict
        from jetstudy.study.open_files import check_open_files
        check_open_files(from_dict({"search": {"num_trials": 512, "max_concurrent": 512}}))
        print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    """)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) >= files_needed(512, local=True) > 64


def test_a_hard_limit_below_the_studys_need_is_refused_before_any_work(
        tmp_path: Path) -> None:
    config = tmp_path / "study.yaml"
    config.write_text("data: {synthetic_jets: 2000}\n"
                      "search: {num_trials: 64, max_concurrent: 64}\n"
                      "scheduler: {type: fifo, max_epochs: 1}\n"
                      "resources: {cpus_per_trial: 0.01, num_cpus: 2}\n"
                      "storage: {results_dir: results, name: limited}\n")
    out = subprocess.run(["bash", "-c", 'ulimit -n 64 && exec "$@"', "-", sys.executable,
                          "-m", "jetstudy.study.cli", "run", str(config), "--no-report"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    error = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1, out.stderr[-2000:]
    assert "allows 64 open files" in error[0] and "`ulimit -n`" in error[0]
    assert "ulimit -n 8192" in error[0]
    assert "search.max_concurrent" not in error[0]  # under 64, no count of trials fits
    assert not (tmp_path / "results" / "limited").exists()  # nothing claimed or written


def test_the_refusal_names_how_many_trials_fit_under_the_hard_limit() -> None:
    out = _limited("-n 256", """
        from jetstudy.study.config import from_dict
        from jetstudy.study.open_files import check_open_files
        from jetstudy.trainables.errors import ConfigError
        check_open_files(from_dict({"search": {"num_trials": 40, "max_concurrent": 40}}))
        try:
            check_open_files(from_dict({"search": {"num_trials": 512, "max_concurrent": 512}}))
        except ConfigError as exc:
            print(exc)
        check_open_files(from_dict({"search": {"num_trials": 150, "max_concurrent": 150},
                                    "resources": {"address": "auto"}}))  # the driver alone
        try:
            check_open_files(from_dict({"search": {"num_trials": 512, "max_concurrent": 512},
                                        "resources": {"address": "auto"}}))
        except ConfigError as exc:
            print(exc)
    """)
    assert out.returncode == 0, out.stderr
    assert "allows 256 open files per process (`ulimit -n`; hard limit 256" in out.stdout
    assert "need about 1600 for 512 trials at once" in out.stdout  # 64 + 3 per trial
    assert "search.max_concurrent 64 or less" in out.stdout  # (256 - 64) / 3
    assert "the driver needs about 576 for 512 trials" in out.stdout  # 64 + 1 per trial
