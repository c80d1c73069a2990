"""Kill -9 the driver of a real study at two points, resume it, and check nothing was lost,
re-run or double-counted (in the tables, in Ray Tune's trial logs and in Optuna's history)."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest
import yaml

from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
N_TRIALS = 10
MAX_EPOCHS = 6
PROGRESS = re.compile(r"trials (\d+)/\d+ finished .* (\d+) running")
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


class Driver:
    """``jetstudy run`` in its own process group, so a kill takes Ray's processes with it."""

    def __init__(self, config: Path, resume: bool) -> None:
        cmd = [sys.executable, "-m", "jetstudy.study.cli", "run", str(config), "--no-report"]
        self.proc = subprocess.Popen(cmd + (["--resume"] if resume else []), cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_finished(self, at_least: int, timeout: float = 240) -> None:
        """Block until the progress line shows ``at_least`` finished trials and one running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "driver ended early:\n" + "\n".join(self.log)
                continue
            self.log.append(line)
            m = PROGRESS.search(line)
            if m and int(m.group(1)) >= at_least and int(m.group(2)) >= 1:
                return
        pytest.fail(f"no progress to {at_least} finished trials:\n" + "\n".join(self.log))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)  # the driver, as a crash would
        self.proc.wait(timeout=30)
        try:  # then the local Ray it started (same process group, started by this test)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10  # until the group is gone (zombies aside)
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def finish(self, timeout: float = 300) -> str:
        self.proc.wait(timeout=timeout)
        time.sleep(0.2)
        while not self.lines.empty():
            self.log.append(self.lines.get())
        return "\n".join(self.log)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (a zombie, dead but not yet reaped by
    whoever adopted it, does not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def finished_optuna_trials(folder: Path) -> dict[int, optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    return {t.number: t for t in study.trials if t.state in FINISHED}


def trained_epochs(folder: Path) -> dict[tuple, list[int]]:
    """Every epoch each trial trained, in order (its append-only epoch log), keyed by the
    trial's configuration."""
    out = {}
    for log in (folder / "trials").glob("*/epochs.jsonl"):
        rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        if not rows:
            continue
        config = json.loads((log.parent / "config.json").read_text())
        out[_key(config)] = [int(r["epoch"]) for r in rows]
    return out


def _key(params: dict) -> tuple:
    """A configuration's key, from a trial config (``width_i``) or Optuna's parameters
    (``d<depth>_width_i``, study.space)."""
    depth = int(params["depth"])
    widths = (int(params.get(f"width_{i}", params.get(f"d{depth}_width_{i}")))
              for i in range(depth))
    return (depth, *widths, round(params["lr"], 12))


@pytest.fixture(scope="module", params=[0, 2], ids=["trials", "packed"])
def killed_twice_then_resumed(request: pytest.FixtureRequest,
                              tmp_path_factory: pytest.TempPathFactory):
    """The study killed twice, then resumed to the end; with trials training themselves and
    with the trials in a pack (``resources.pack_size``), which dies with the driver."""
    root = tmp_path_factory.mktemp("resume")
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"synthetic_jets": 8000, "synthetic_seed": 5},
        "space": {"depth": [1, 3], "width": [4, 64]},
        "search": {"num_trials": N_TRIALS, "max_concurrent": 2, "seed": 2},
        "scheduler": {"max_epochs": MAX_EPOCHS, "grace_period": 2, "reduction_factor": 3},
        "training": {"batch_size": 128, "train_eval_jets": 1000},
        "resources": {"num_cpus": 2, "pack_size": request.param},
        "storage": {"results_dir": str(root), "name": "resume"},
    }))
    folder = root / "resume"
    history = []
    first = Driver(config, resume=False)
    first.wait_for_finished(1)          # point 1: early, trials mid-training
    first.kill()
    history.append(finished_optuna_trials(folder))
    second = Driver(config, resume=True)
    second.wait_for_finished(5)         # point 2: half-way
    second.kill()
    history.append(finished_optuna_trials(folder))
    last = Driver(config, resume=True)
    output = last.finish()
    return folder, history, last.proc.returncode, output


def test_resumed_study_finishes_with_every_trial(killed_twice_then_resumed) -> None:
    folder, history, code, output = killed_twice_then_resumed
    assert code == 0, output
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == N_TRIALS and trials["trial_id"].is_unique
    assert set(trials["status"]) <= {"completed", "stopped"}
    epochs = pd.read_parquet(folder / "epochs.parquet")
    for _, group in epochs.groupby("trial_id"):
        assert list(group["epoch"]) == list(range(1, len(group) + 1))
    assert (folder / "best" / "test_metrics.json").is_file()
    assert len(history[0]) >= 1 and len(history[1]) > len(history[0])


def test_optuna_history_is_intact(killed_twice_then_resumed) -> None:
    folder, history, _, _ = killed_twice_then_resumed
    final = finished_optuna_trials(folder)
    for before in history:
        for number, trial in before.items():
            after = final[number]
            assert (after.state, after.value, after.params) == (trial.state, trial.value,
                                                                trial.params)
            assert after.intermediate_values == trial.intermediate_values
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    # every trial in the table is one Optuna trial with its configuration; only a trial
    # interrupted before Optuna heard of its first epoch may be missing from Optuna's finished
    trials = pd.read_parquet(folder / "trials.parquet")
    # a trial asked for just before a kill may have no parameters yet, or only some (the kill
    # came during the define-by-run space): it matches no row
    # two Optuna trials may share parameters (one asked for before a kill and never trained,
    # failed; the restored sampler proposes the same configuration again): a row is the
    # finished one's
    ranked = sorted((t for t in study.trials if "lr" in t.params),
                    key=lambda t: (t.state in FINISHED, t.number))
    by_params = {_key(t.params): t for t in ranked}
    interrupted = 0
    for _, row in trials.iterrows():
        widths = [int(w) for w in row["widths"].split("-")]
        trial = by_params[(int(row["depth"]), *widths, round(row["lr"], 12))]
        if row["error"].startswith("interrupted"):  # lost to Tune and not continued
            interrupted += 1
            assert trial.state in (*FINISHED, optuna.trial.TrialState.FAIL)
        else:
            assert trial.state in FINISHED
    assert N_TRIALS - interrupted <= len(final) <= N_TRIALS


def test_no_trial_was_rerun_and_running_ones_continued(killed_twice_then_resumed) -> None:
    folder, history, _, _ = killed_twice_then_resumed
    logs = trained_epochs(folder)
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len([e for e in logs.values() if e]) == N_TRIALS
    interrupted = trials["error"].str.startswith("interrupted")
    # a trial Tune lost (started after its last snapshot) is continued by the next driver; one
    # whose Optuna trial had already ended is listed as it was: at most the 2 running per kill
    assert interrupted.sum() <= 4
    for epochs in logs.values():
        # a trial restarted from scratch would log epoch 1 again; one resumed from its
        # checkpoint continues where it stopped
        assert epochs.count(1) == 1
        assert sorted(set(epochs)) == list(range(1, max(epochs) + 1))
    for before in history:
        for trial in before.values():
            epochs = logs[_key(trial.params)]
            assert len(epochs) == len(set(epochs)), "a finished trial trained again"
