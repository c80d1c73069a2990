"""Round 12 (helper H): a node lost mid-study, and a driver killed mid-study, on a real
two-node Ray cluster (``ray.cluster_utils.Cluster``: a head and a worker on this machine, one
CPU each, so each holds one trial at a time).

* **A node removed mid-study** (``Cluster.remove_node``): restarts were tested only by killing
  a worker process. Here the worker node goes while one of its trials trains; the study ends,
  every trial once in the tables, the lost trial's restart counted and named by the report.
* **The driver killed mid-study** (SIGKILL of ``jetstudy run`` alone; the cluster lives on),
  then ``--resume`` against the same cluster: every trial once, trial numbers 0..n-1, each
  curve's epochs 1..max_epochs, and the trials the resume continued from their checkpoint are
  counted in ``resumed`` (no worker's loss: ``restarts`` stays 0) and named by the report
  (before round 12 nothing said their curves join two runs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from ray import tune

from jetstudy.analysis.report import write_report
from jetstudy.study.launch import run_study
from jetstudy.study.launch_resumed import continued_trials
from tests.conftest import make_small_config

pytestmark = pytest.mark.slow

MAX_EPOCHS = 3
KILLED_EPOCHS = 12  # the killed driver's study: see driver_killed
#: The cluster of this module, for the callback (Tune pickles callbacks: it holds no Cluster).
_CLUSTER: dict[str, Any] = {}
_SMALL = {"object_store_memory": 100 * 1024**2}


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    # a lost node is noticed within ~2 s, not Ray's default ~30 s
    fast = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
            "health_check_failure_threshold": 4}
    c = Cluster(initialize_head=True,
                head_node_args={"num_cpus": 1, "include_dashboard": False,
                                "_system_config": fast, **_SMALL})
    try:
        ray.init(address=c.address, log_to_driver=False)
        _CLUSTER["c"] = c
        yield c
    finally:
        _CLUSTER.clear()
        ray.shutdown()
        c.shutdown()


def _two_nodes(c: Any) -> Any:
    """A worker node beside the head (a new one after a test removed the last); returns it."""
    c.add_node(num_cpus=1, **_SMALL)
    c.wait_for_nodes()
    return c.list_all_nodes()[-1]


def _config(root: Path, name: str, address: str, num_trials: int,
            epochs: int = MAX_EPOCHS) -> Any:
    return make_small_config(
        root, name, data={"synthetic_jets": 1000},
        search={"num_trials": num_trials, "max_concurrent": 2, "seed": 1},
        scheduler={"type": "fifo", "max_epochs": epochs},
        space={"depth": [1, 1], "width": [4, 16]},
        training={"batch_size": 128, "train_eval_jets": 200},
        resources={"address": address, "num_cpus": None, "cpus_per_trial": 1,
                   "gpus_per_trial": 0, "pack_size": 0})


def _pid_nodes() -> dict[int, str]:
    """Worker pid -> node id of every actor the cluster ran (the GCS table; all nodes share
    this machine's IP)."""
    import ray._private.state

    return {int(a["Pid"]): a["Address"]["NodeID"]
            for a in ray._private.state.actors().values() if a.get("Pid")}


class RemoveWorkerNode(tune.Callback):
    """At the first result of a trial training on the worker node (before its last epoch),
    remove that node: its raylet and workers die as a lost machine's would."""

    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.removed: tuple[str, int] | None = None
        self.seen: list[tuple[int, str | None]] = []

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if self.removed is not None or result["epoch"] >= MAX_EPOCHS:
            return
        where = _pid_nodes().get(int(result["pid"]))
        self.seen.append((int(result["pid"]), where))
        if where != self.node_id:
            return
        c = _CLUSTER["c"]
        node = next(n for n in c.list_all_nodes() if n.node_id == self.node_id)
        c.remove_node(node, allow_graceful=False)
        self.removed = (trial.trial_id, int(result["epoch"]))


@pytest.fixture(scope="module")
def node_lost(cluster, tmp_path_factory: pytest.TempPathFactory):
    import ray

    worker = _two_nodes(cluster)
    remover = RemoveWorkerNode(worker.node_id)
    cfg = _config(tmp_path_factory.mktemp("lost"), "lost", cluster.address, 3)
    outcome = run_study(cfg, callbacks=[remover])
    alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
    return outcome, remover, alive, worker.node_id


def test_a_lost_node_ends_the_study_with_every_trial_once(node_lost) -> None:
    outcome, remover, alive, worker = node_lost
    assert remover.removed is not None, (remover.seen, worker)
    assert worker not in alive and len(alive) == 1
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    epochs = pd.read_parquet(outcome.folder / "epochs.parquet")
    assert len(trials) == 3 and trials["trial_id"].is_unique
    assert sorted(trials["trial_number"]) == [0, 1, 2]
    assert (trials["status"] == "completed").all(), trials[["trial_id", "status", "error"]]
    for _, group in epochs.groupby("trial_id"):
        assert list(group["epoch"]) == list(range(1, MAX_EPOCHS + 1))
    assert len(epochs) == 3 * MAX_EPOCHS


def test_the_lost_nodes_trial_is_counted_restarted_and_named(node_lost, tmp_path: Path) -> None:
    outcome, remover, _, _ = node_lost
    lost, epoch = remover.removed
    trials = pd.read_parquet(outcome.folder / "trials.parquet").set_index("trial_id")
    assert trials.loc[lost, "restarts"] == 1, trials["restarts"]
    assert (trials.drop(index=lost)["restarts"] == 0).all(), trials["restarts"]
    assert (trials["resumed"] == 0).all()  # no --resume: a lost node is no resume
    (line,) = (outcome.folder / "trials" / lost / "restarts").read_text().splitlines()
    assert json.loads(line)["after_epoch"] >= epoch
    text = (write_report(outcome.folder, tmp_path / "report", figures=False).out_dir
            / "summary.md").read_text()
    assert f"1 trial restarted after its worker died or failed: {lost} (1)" in text
    assert "continued by --resume" not in text


@pytest.fixture(scope="module")
def driver_killed(cluster, tmp_path_factory: pytest.TempPathFactory):
    _two_nodes(cluster)
    root = tmp_path_factory.mktemp("killed")
    # long enough that Tune saves its state while a trial is mid-way (3 epochs of 1,000 jets
    # ended all 4 trials within 13 s on the CI machine, before any such snapshot)
    cfg = _config(root / "results", "killed", cluster.address, 4, epochs=KILLED_EPOCHS)
    config = root / "study.yaml"
    config.write_text(yaml.safe_dump(cfg.to_dict()))
    folder = root / "results" / "killed"
    command = [sys.executable, "-m", "jetstudy.study.cli", "run", str(config), "--no-report"]
    with open(root / "first.log", "w") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        deadline = time.monotonic() + 240
        # killed once Tune's saved state holds a trial mid-way that logged an epoch
        while driver.poll() is None and time.monotonic() < deadline:
            if continued_trials(folder):
                break
            time.sleep(0.2)
        alive = driver.poll() is None
        if alive:
            os.kill(driver.pid, signal.SIGKILL)  # the driver alone: the cluster lives on
        driver.wait()
    assert alive, (root / "first.log").read_text()[-3000:]
    at_kill = continued_trials(folder)  # what --resume will find unfinished
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return folder, at_kill


def test_a_resume_after_a_killed_driver_runs_every_trial_once(driver_killed) -> None:
    folder, at_kill = driver_killed
    assert at_kill
    trials = pd.read_parquet(folder / "trials.parquet")
    epochs = pd.read_parquet(folder / "epochs.parquet")
    assert len(trials) == 4 and trials["trial_id"].is_unique
    assert sorted(trials["trial_number"]) == [0, 1, 2, 3]
    assert (trials["status"] == "completed").all(), trials[["trial_id", "status", "error"]]
    for _, group in epochs.groupby("trial_id"):
        assert list(group["epoch"]) == list(range(1, KILLED_EPOCHS + 1))


def test_the_trials_the_resume_continued_are_counted_and_named(driver_killed,
                                                               tmp_path: Path) -> None:
    folder, at_kill = driver_killed
    trials = pd.read_parquet(folder / "trials.parquet").set_index("trial_id")
    assert set(trials.index[trials["resumed"] > 0]) == set(at_kill), trials["resumed"]
    assert (trials["restarts"] == 0).all(), trials["restarts"]  # no worker was lost
    text = (write_report(folder, tmp_path / "report", figures=False).out_dir
            / "summary.md").read_text()
    k = len(at_kill)
    words = (f"{k} trial{'s' if k > 1 else ''} continued by --resume after the study's "
             f"driver stopped: ")
    assert words in text, text
    assert "restarted after" not in text
