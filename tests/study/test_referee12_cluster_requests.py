"""Round 12 (helper H): what the cluster may add, and the trials a --resume continued; no Ray.

* Ray's newer autoscalers publish their node types to the cluster state as an
  ``autoscaler_pb2.ClusterConfig``; jetstudy read its ``node_group_configs`` and ignored its
  ``max_resources``, the most of each resource the whole cluster may hold. A GPU node type
  under ``max_resources: {GPU: 0}`` counted as a GPU the cluster could add, so a GPU request
  passed the check and Ray Tune waited for ever (``resources.config_shapes``).
* A trial ``--resume`` continues from its checkpoint after the driver stopped was counted
  nowhere (no worker died: Tune's ``on_trial_recover`` is not called), so the report said
  nothing of the curve joining two runs; the resuming driver now records it in
  ``trials/<id>/resumed`` (the trials table's ``resumed``), and the Outcomes part names it in a
  sentence of its own, never as a worker's loss. The real crash and resume on a two-node
  cluster: ``test_referee12_cluster_nodes.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from ray.core.generated import autoscaler_pb2

from jetstudy.analysis.restarts import restart_lines, restarted
from jetstudy.study.launch_resumed import continued_trials, mark_continued
from jetstudy.study.resources import NodeShape, check_request, config_shapes
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.table_schema import TRIALS
from jetstudy.trainables.trialfiles import RESUMED_FILE, restart_count, resume_count
from tests.conftest import make_small_config

HEAD = NodeShape(4.0, 0.0, name="head")


def _config(groups: list[tuple[str, dict, int]], most: dict | None = None
            ) -> autoscaler_pb2.ClusterConfig:
    config = autoscaler_pb2.ClusterConfig()
    for name, resources, max_count in groups:
        group = config.node_group_configs.add(name=name, max_count=max_count)
        group.resources.update(resources)
    config.max_resources.update(most or {})
    return config


def test_a_gpu_type_the_cluster_may_not_hold_is_no_gpu_it_can_add(tmp_path: Path) -> None:
    config = _config([("cpu", {"CPU": 8}, -1), ("gpu", {"CPU": 8, "GPU": 1}, -1)], {"GPU": 0})
    shapes = config_shapes(config)
    assert [s.name for s in shapes] == ["cpu"]
    cfg = make_small_config(tmp_path, "s", resources={"gpus_per_trial": 1, "pack_size": 0,
                                                      "num_cpus": None})
    with pytest.raises(ConfigError, match=r"resources\.gpus_per_trial is 1, but the Ray "
                       r"cluster has no GPU .*may add any number x cpu"):
        check_request(cfg, [HEAD, *shapes], local=False)


def test_max_resources_bounds_how_many_nodes_a_type_adds() -> None:
    config = _config([("big", {"CPU": 16, "GPU": 2}, -1), ("small", {"CPU": 4}, 10),
                      ("huge", {"CPU": 128}, -1)], {"CPU": 64, "GPU": 4})
    shapes = {s.name: s.count for s in config_shapes(config)}
    assert shapes == {"big": 2, "small": 10}  # GPU 4 / 2; 10 under 64 / 4; 128 > 64: none


def test_without_max_resources_the_types_are_as_declared() -> None:
    config = _config([("gpu", {"CPU": 8, "GPU": 1}, -1), ("off", {"CPU": 8}, 0),
                      ("few", {"CPU": 2}, 3)])
    shapes = config_shapes(config)
    assert [(s.name, s.count, s.gpus, s.scalable) for s in shapes] == [
        ("gpu", None, 1.0, True), ("few", 3, 0.0, True)]
    assert config_shapes(autoscaler_pb2.ClusterConfig()) is None
    assert config_shapes(None) is None


def _tune_state(folder: Path, statuses: dict[str, str]) -> None:
    """Ray Tune's experiment state as it stands on disk (only the fields read)."""
    (folder / "ray").mkdir(parents=True)
    data = {"trial_data": [[json.dumps({"trial_id": t, "status": s}), "{}"]
                           for t, s in statuses.items()]}
    (folder / "ray" / "experiment_state-2026-11-29_08-00-00.json").write_text(json.dumps(data))


def _epochs(folder: Path, trial_id: str, n: int) -> None:
    (folder / "trials" / trial_id).mkdir(parents=True)
    (folder / "trials" / trial_id / "epochs.jsonl").write_text(
        "".join(json.dumps({"epoch": e, "val_loss": 1.0 / e}) + "\n" for e in range(1, n + 1)))


def test_resume_records_the_trials_it_continues_and_only_those(tmp_path: Path) -> None:
    _tune_state(tmp_path, {"run": "RUNNING", "done": "TERMINATED", "lost": "ERROR",
                           "late": "RUNNING", "fresh": "PENDING", "paused": "PAUSED"})
    for trial_id, n in (("run", 2), ("done", 3), ("lost", 1), ("late", 3), ("paused", 1)):
        _epochs(tmp_path, trial_id, n)
    (tmp_path / "trials" / "late" / "ended").write_text("3\n")  # ended after the state
    assert continued_trials(tmp_path) == {"run": 2, "paused": 1}
    assert mark_continued(tmp_path) == {"run": 2, "paused": 1}
    state_dir = str(tmp_path / "trials")
    assert (tmp_path / "trials" / "run" / RESUMED_FILE).read_text() == '{"after_epoch": 2}\n'
    assert resume_count(state_dir, "run") == 1 and resume_count(state_dir, "done") == 0
    assert restart_count(state_dir, "run") == 0  # not a worker's loss
    mark_continued(tmp_path)  # a second --resume continues it again
    assert resume_count(state_dir, "run") == 2


def test_no_tune_state_or_an_unreadable_one_continues_none(tmp_path: Path) -> None:
    assert mark_continued(tmp_path) == {}
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "experiment_state-x.json").write_text("{not json")
    assert continued_trials(tmp_path) == {}


def test_resumed_is_the_trials_tables_last_optional_int_column() -> None:
    column = TRIALS.column("resumed")
    assert column is not None and column.dtype == "int" and not column.required
    assert TRIALS.names[-2:] == ("restarts", "resumed")  # at the end: older readers keep order


def test_the_report_says_a_resumed_trial_went_on_and_not_that_its_worker_died() -> None:
    trials = pd.DataFrame({"trial_id": ["a1b2", "c3d4", "e5f6"], "restarts": [0, 1, 0],
                           "resumed": pd.array([1, 0, pd.NA], dtype="Int64")})
    restart, resume = restart_lines(trials)
    assert restart.startswith("1 trial restarted after its worker died or failed: c3d4 (1) ")
    assert resume.startswith("1 trial continued by --resume after the study's driver "
                             "stopped: a1b2 (1) ")
    assert "not a worker's loss" in resume and "its curve joins two runs" in resume
    assert "a1b2" not in restart and list(restarted(trials, "resumed").index) == ["a1b2"]
    only = restart_lines(trials.assign(restarts=0))
    assert len(only) == 1 and "died" not in only[0]
    assert restart_lines(trials.drop(columns="resumed")) == [restart]  # older tables


def test_shares_of_a_gpu_are_placed_within_one_card(tmp_path: Path) -> None:
    """Ray puts a request of 0.4 GPU on one card, never across two (checked on a real Ray with
    two GPUs declared: four such actors start, the fifth waits): a 2-GPU node holds 4 packs of
    0.4, not 5, and five were let through to wait for ever."""
    node = [NodeShape(16.0, 2.0, name="head")]
    cfg = make_small_config(tmp_path, "s", search={"num_trials": 8, "max_concurrent": 5},
                            resources={"gpus_per_trial": 0.4, "cpus_per_trial": 1,
                                       "pack_size": 1, "num_cpus": None})
    with pytest.raises(ConfigError, match=r"starts 5 packs of 1 CPU and 0\.4 GPUs each, but the "
                       r"Ray cluster holds only 4 "):
        check_request(cfg, node, local=False)
    check_request(cfg, [NodeShape(16.0, 3.0, name="head")], local=False)  # 3 x 2 = 6: fits
    half = make_small_config(tmp_path, "h", search={"num_trials": 8, "max_concurrent": 2},
                             resources={"gpus_per_trial": 0.25, "cpus_per_trial": 1,
                                        "pack_size": 1, "num_cpus": None})
    check_request(half, [NodeShape(16.0, 0.5, name="head")], local=False)  # part of a card
    from jetstudy.study.concurrency import trials_at_once

    unpacked = make_small_config(tmp_path, "u", search={"num_trials": 8, "max_concurrent": 8},
                                 resources={"gpus_per_trial": 0.4, "cpus_per_trial": 1,
                                            "pack_size": 0, "num_cpus": None})
    assert trials_at_once(unpacked, node) == 4  # 2 a card, not floor(2 / 0.4) = 5


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("named", [True, False], ids=["named", "clock-named"])
def test_a_dead_cluster_is_refused_before_the_folder_or_the_data(tmp_path: Path,
                                                                 named: bool) -> None:
    """--address where nothing answers was found only when Ray was joined, after the jets were
    read: a named study's folder kept its marker, synthetic jets and JSON files (12 MB), and
    with real data the error came after the whole read. Now refused before either."""
    import sys

    from jetstudy.study.launch import run_study

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        pytest.skip("this process already runs Ray: the study would join it")
    address = f"127.0.0.1:{_closed_port()}"
    cfg = make_small_config(tmp_path / "results", "s" if named else None,
                            resources={"address": address, "num_cpus": None})
    with pytest.raises(ConfigError, match=rf"resources\.address '{address}': nothing answers "
                       r"at .*connection refused"):
        run_study(cfg)
    assert not (tmp_path / "results").exists()


def test_a_lost_trial_the_resumed_searcher_adopts_is_counted_continued(tmp_path: Path) -> None:
    """A trial that trained after Tune's last snapshot is unknown to Tune: the resumed searcher
    adopts it under a new id and it goes on from its checkpoint, which was counted nowhere
    either (the sibling of Tune's restored trials)."""
    from jetstudy.study.config import from_dict
    from jetstudy.study.searcher import make_searcher

    raw = {"space": {"depth": [1, 3], "width": [4, 64]}, "search": {"num_trials": 10, "seed": 2},
           "scheduler": {"max_epochs": 6, "grace_period": 2}}
    (tmp_path / "trials").mkdir()
    first = make_searcher(from_dict(raw), tmp_path).searcher
    lost = first.suggest("lost")
    _epochs(tmp_path, "lost", 2)
    (tmp_path / "trials" / "lost" / "config.json").write_text(json.dumps(lost))
    (tmp_path / "trials" / "lost" / "state.pt").write_bytes(b"checkpoint")
    second = make_searcher(from_dict(raw), tmp_path).searcher
    assert second.suggest("next") == lost  # adopted under Tune's new id
    state_dir = str(tmp_path / "trials")
    assert resume_count(state_dir, "next") == 1 and restart_count(state_dir, "next") == 0
    assert (tmp_path / "trials" / "next" / RESUMED_FILE).read_text() == '{"after_epoch": 2}\n'
