"""Referee round 3: a Ctrl-C or SIGTERM that lands at the worst moment of a command leaves
nothing behind and nothing half-done: not the folders ``init DIR``, ``synth DIR``, ``report
-o`` or ``run`` made for their output, not a study lock, not best/ half swapped.

Each case runs in its own process, which signals itself from inside the step (the technique
of tests/trainables/test_stop_while_making.py): the stop lands deterministically where the
old code had no clean-up (after a folder was made and before the ``try`` that removes it,
between the two renames of best/'s swap, after the lock file was linked)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import REPO, checksums, plant, study_yaml

PRELUDE = """
import os, signal, sys
from pathlib import Path
SIG = getattr(signal, sys.argv[1])
def stop(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)   # as the CLI does (main() installs its own)
def send_then(real, after=False, on_call=1):
    calls = []
    def wrapped(*args, **kwargs):
        calls.append(1)
        if not after and len(calls) == on_call:
            os.kill(os.getpid(), SIG)   # lands inside the step
        out = real(*args, **kwargs)
        if after and len(calls) == on_call:
            os.kill(os.getpid(), SIG)
        return out
    return wrapped
def cli(*args):
    from jetstudy.study.cli import main
    print("exit", main([str(a) for a in args]), flush=True)
"""


def _run(code: str, sig: str, *args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-c", PRELUDE + code, sig, *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


SIGNALS = ["SIGINT", "SIGTERM"]


@pytest.mark.parametrize("sig", SIGNALS)
def test_best_swap_stopped_between_its_renames_is_whole(sig: str, tmp_path: Path) -> None:
    """The stop lands after the old best/ was moved aside and before the new one took its
    place: best/ is the new one, whole, and nothing is left beside it."""
    code = """
import jetstudy.study.evaluate as ev
from jetstudy.trainables.staging import make_staging
out = Path(sys.argv[2])
(out / "best").mkdir()
for n in ("model.pt", "test_metrics.json", "test_predictions.parquet"):
    (out / "best" / n).write_text("old")
stage = make_staging(out, ".best.partial-", "jetstudy best-model evaluation")
for n in ("model.pt", "test_metrics.json", "test_predictions.parquet"):
    (stage / n).write_text("new")
os.replace = send_then(os.replace, after=True)   # once best/ is moved aside
try:
    ev._swap_in(stage, out / "best")
except KeyboardInterrupt:
    print("stopped", flush=True)
"""
    done = _run(code, sig, tmp_path, cwd=tmp_path)
    assert done.stdout.split() == ["stopped"], (done.stdout, done.stderr[-2000:])
    assert sorted(os.listdir(tmp_path)) == ["best"]
    assert {n: (tmp_path / "best" / n).read_text() for n in os.listdir(tmp_path / "best")} == {
        "model.pt": "new", "test_metrics.json": "new", "test_predictions.parquet": "new"}


@pytest.mark.parametrize("sig", SIGNALS)
def test_init_stopped_leaves_no_folder_it_made(sig: str, tmp_path: Path) -> None:
    planted = plant(tmp_path, ["notes.txt"])
    code = """
import jetstudy.trainables.atomic as atomic
atomic.current_umask = send_then(atomic.current_umask)   # the folders are made by now
cli("init", sys.argv[2])
"""
    done = _run(code, sig, "new/a/b", cwd=tmp_path)
    assert done.stdout.split() == ["exit", "130"], (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert checksums(tmp_path) == planted


@pytest.mark.parametrize("sig", SIGNALS)
def test_synth_stopped_midway_adds_no_file_and_no_folder(sig: str, tmp_path: Path) -> None:
    """Stopped while its second of three files is written: a new DIR is gone again, and a
    folder of the user's holds only what it held (no first file of a set never finished)."""
    mine = tmp_path / "mine"
    planted = plant(mine, ["notes.txt"])
    code = """
import jetstudy.trainables.synth as synth
synth._write_h5 = send_then(synth._write_h5, on_call=2)
cli("synth", sys.argv[2], "--jets", "300", "--jets-per-file", "100")
"""
    for out in ("new/jets", "mine"):
        done = _run(code, sig, out, cwd=tmp_path)
        assert done.stdout.split() == ["exit", "130"], (done.stdout, done.stderr[-2000:])
        assert "Traceback" not in done.stderr
    assert checksums(tmp_path) == {"mine": "dir", **{f"mine/{n}": d for n, d in planted.items()}}


@pytest.mark.parametrize("sig", SIGNALS)
def test_report_stopped_while_built_leaves_no_folder_it_made(sig: str, tmp_path: Path) -> None:
    from tests.analysis.conftest import _make_study

    trials, _ = _make_study(n_trials=6, max_epochs=3)
    trials.to_parquet(tmp_path / "trials.parquet")
    before = checksums(tmp_path)
    code = """
import jetstudy.analysis.report as report
report.build_report = send_then(report.build_report)
cli("report", sys.argv[2], "-o", sys.argv[3])
"""
    done = _run(code, sig, tmp_path / "trials.parquet", "out/a/b", cwd=tmp_path)
    assert done.stdout.split() == ["exit", "130"], (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert checksums(tmp_path) == before


@pytest.mark.parametrize("sig", SIGNALS)
def test_lock_stopped_once_won_leaves_no_lock(sig: str, tmp_path: Path) -> None:
    """The stop lands right after the lock file was linked into place: no driver.lock (it
    would hold the study for 30 s on another host), no temporary."""
    code = """
import jetstudy.study.lock as lock
lock.os.link = send_then(lock.os.link, after=True)
try:
    with lock.StudyLock(Path(sys.argv[2])):
        print("inside", flush=True)
except KeyboardInterrupt:
    print("stopped", flush=True)
"""
    done = _run(code, sig, tmp_path, cwd=tmp_path)
    assert done.stdout.split() == ["stopped"], (done.stdout, done.stderr[-2000:])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig", SIGNALS)
def test_run_stopped_while_claiming_its_folder_leaves_none(sig: str, tmp_path: Path) -> None:
    """The stop lands once the study folder (and results_dir) are made and marked, before
    the run's clean-up was set up: neither is left, exit 130, no traceback."""
    config = study_yaml(tmp_path / "study.yaml", "results/deep", "s")
    before = checksums(tmp_path)
    code = """
import jetstudy.study.launch as launch
launch.check_folder = send_then(launch.check_folder, after=True)   # claimed, not yet undoable
cli("run", sys.argv[2])
"""
    done = _run(code, sig, config, cwd=tmp_path)
    assert done.stdout.split()[-2:] == ["exit", "130"], (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "nothing to resume" in done.stderr
    assert checksums(tmp_path) == before


def test_run_stopped_while_ray_starts_stops(tmp_path: Path) -> None:
    """A SIGTERM that came while ``ray.init`` forked its processes met Ray's own handler
    (``sys.exit(15)``) inside a fork hook, which swallowed the exit: the study ran on to the
    end and exited 0. It now waits for Ray to start, then stops the study: exit 130, and the
    study folder this run made (its name from the clock) is gone with its synthetic jets."""
    config = study_yaml(tmp_path / "study.yaml", "results", None)
    before = checksums(tmp_path)
    code = """
import ray
real_init = ray.init
def init(*args, **kwargs):
    sent = []
    def at_fork():   # lands inside the fork hooks of ray.init's first fork
        if not sent:
            sent.append(1)
            os.kill(os.getpid(), SIG)
    os.register_at_fork(after_in_parent=at_fork)
    return real_init(*args, **kwargs)
ray.init = init
cli("run", sys.argv[2])
"""
    done = _run(code, "SIGTERM", config, cwd=tmp_path)
    assert done.stdout.split()[-2:] == ["exit", "130"], (done.stdout, done.stderr[-2000:])
    assert "nothing to resume" in done.stderr and "Traceback" not in done.stderr
    assert checksums(tmp_path) == before
