"""A study on a real multi-node Ray cluster: a head and two workers, all on this machine.

``ray.cluster_utils.Cluster`` starts three Ray nodes (three raylets, one GCS), each declaring
one GPU, so fractional GPU requests (0.5 per trial) are scheduled across nodes as on a real
GPU cluster (``resources.pack_size: 0``: trials that train themselves; the default, ``auto``,
would pack them, one pack per GPU). Torch sees no CUDA here, so the trials train on the CPU
(``pick_device``).

All nodes share this machine's IP, so where a trial ran is read from Ray's actor table
(actor pid -> node id), not from ``node_ip``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ray import tune

from jetstudy.study.cluster import check_shared_storage, nodes_missing
from jetstudy.study.launch import run_study
from jetstudy.trainables.errors import ConfigError

pytestmark = pytest.mark.slow

N_TRIALS = 8
MAX_EPOCHS = 3
N_NODES = 3


class TrialPids(tune.Callback):
    """Driver-side: the worker pids each trial reported from (a trial may move on restart)."""

    def __init__(self) -> None:
        self.pids: dict[str, set[int]] = {}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        self.pids.setdefault(trial.trial_id, set()).add(int(result["pid"]))


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 200 * 1024**2}  # 3 nodes on one machine: keep shm small
    c = Cluster(initialize_head=True,
                head_node_args={"num_cpus": 1, "num_gpus": 1, "include_dashboard": False,
                                **small})
    for _ in range(N_NODES - 1):
        c.add_node(num_cpus=2, num_gpus=1, **small)
    try:
        c.wait_for_nodes()
        ray.init(address=c.address, log_to_driver=False)
        yield c
    finally:
        ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="module")
def study(cluster, small_config, tmp_path_factory: pytest.TempPathFactory):
    cfg = small_config(tmp_path_factory.mktemp("results"), "multinode",
                       search={"max_concurrent": 4}, scheduler={"max_epochs": MAX_EPOCHS},
                       resources={"address": cluster.address, "num_cpus": None,
                                  "cpus_per_trial": 1, "gpus_per_trial": 0.5,
                                  "pack_size": 0})
    pids = TrialPids()
    outcome = run_study(cfg, callbacks=[pids])
    return cfg, outcome, pids


def pid_nodes() -> dict[int, str]:
    """Worker pid -> node id, for every actor this cluster ever ran (dead ones included).

    ``ray.util.state`` needs the dashboard (``ray[default]``); the GCS actor table does not.
    """
    import ray._private.state

    return {int(a["Pid"]): a["Address"]["NodeID"]
            for a in ray._private.state.actors().values() if a.get("Pid")}


def test_cluster_has_three_nodes_with_one_gpu_each(cluster) -> None:
    import ray

    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) == N_NODES
    assert ray.cluster_resources()["GPU"] == N_NODES


def test_trials_table_is_complete(study) -> None:
    _, outcome, _ = study
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    epochs = pd.read_parquet(outcome.folder / "epochs.parquet")
    assert len(trials) == N_TRIALS and trials["trial_id"].is_unique
    assert set(trials["status"]) <= {"completed", "stopped"}
    assert (trials.loc[trials["status"] == "completed", "epochs"] == MAX_EPOCHS).all()
    assert len(epochs) == trials["epochs"].sum()
    assert set(epochs["trial_id"]) == set(trials["trial_id"])
    for _, group in epochs.groupby("trial_id"):
        assert list(group["epoch"]) == list(range(1, len(group) + 1))
    assert epochs[["train_loss", "val_loss", "val_acc", "val_auc"]].notna().all().all()
    assert outcome.test_metrics is not None
    assert (outcome.folder / "best" / "test_metrics.json").is_file()


def test_trials_ran_on_several_nodes(study) -> None:
    _, outcome, pids = study
    assert set(pids.pids) == set(outcome.trials["trial_id"])
    where = pid_nodes()
    nodes = {where[pid] for trial_pids in pids.pids.values() for pid in trial_pids}
    assert len(nodes) >= 2, f"all trials ran on node(s) {nodes}"


def test_results_folder_is_shared(study) -> None:
    _, outcome, _ = study
    check_shared_storage(outcome.folder)  # same filesystem everywhere: passes
    assert not list(outcome.folder.glob(".jetstudy-shared-check-*"))


def test_every_node_reports_a_missing_path(cluster, tmp_path: Path) -> None:
    missing = nodes_missing(tmp_path / "absent")
    assert len(missing) == N_NODES and len(set(missing)) == N_NODES
    assert nodes_missing(tmp_path) == []


def test_unshared_folder_is_a_config_error(cluster, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # A driver whose marker the nodes cannot see: what a private /mnt on the head looks like.
    import jetstudy.study.cluster as cluster_mod

    real = cluster_mod.nodes_missing
    monkeypatch.setattr(cluster_mod, "nodes_missing", lambda path: real(tmp_path / "elsewhere"))
    folder = tmp_path / "results" / "s"
    folder.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"storage\.results_dir '.*results' is not shared: "
                       r"nodes .*cannot see .*/results/s; .*mounted on every node"):
        check_shared_storage(folder)
    assert not list(folder.iterdir()), "the marker file was left behind"
