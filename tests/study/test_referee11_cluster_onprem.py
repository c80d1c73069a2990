"""The resource check on the repository's on-premise cluster (``cluster-onprem.yaml``).

Ray's ``local`` provider gives every listed machine one node type, ``local.cluster.node``, with
no declared resources (Ray sizes each machine as it joins; ``prepare_local``), and ``ray up``
writes that prepared config to the head's ``~/ray_bootstrap_config.yaml``, the file the check
reads. Counted as a node type of unknown size that may be added without limit, it let any
request through: a trial asking 2 GPUs of workers that have 1 each was accepted and Ray Tune
waited for ever. The listed machines are all there will be: once they have joined, the running
nodes are the cluster; only machines not joined yet are of unknown size. Pure: Ray's own
``prepare_config`` builds the bootstrap text, the running nodes are made up.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from ray.autoscaler._private.util import prepare_config

from jetstudy.study.config import from_dict
from jetstudy.study.resources import NodeShape, check_request, pack_room, scalable_shapes
from jetstudy.trainables.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
HEAD, WORKER = NodeShape(8, 0), NodeShape(8, 1)


@pytest.fixture(scope="module")
def bootstrap() -> str:
    """``~/ray_bootstrap_config.yaml`` as ``ray up cluster-onprem.yaml`` prepares it."""
    raw = yaml.safe_load((REPO / "cluster-onprem.yaml").read_text())
    return yaml.safe_dump(prepare_config(copy.deepcopy(raw)))


def _cfg(**resources) -> object:
    return from_dict({"search": {"max_concurrent": 4}, "resources": resources})


def test_all_listed_workers_joined_no_node_of_unknown_size_left(bootstrap: str) -> None:
    running = [HEAD, WORKER, WORKER]  # the head and both worker_ips
    assert scalable_shapes(bootstrap, running) == []
    with pytest.raises(ConfigError) as info:
        check_request(_cfg(gpus_per_trial=2), running + scalable_shapes(bootstrap, running),
                      False)
    msg = str(info.value)
    assert "resources.gpus_per_trial is 2" in msg and "set resources.gpus_per_trial to 1" in msg
    assert "3 nodes: 8 CPUs, no GPU; 8 CPUs, 1 GPU; 8 CPUs, 1 GPU" in msg, msg
    # packs: one per card the cluster has, not 'no limit'
    assert pack_room(running + scalable_shapes(bootstrap, running), 2, 1) == (True, 2)


def test_a_worker_not_joined_yet_may_still_come(bootstrap: str) -> None:
    running = [HEAD, WORKER]  # one listed worker still starting
    (missing,) = scalable_shapes(bootstrap, running)
    assert missing.count == 1 and missing.scalable and "local.cluster.node" in missing.name
    check_request(_cfg(gpus_per_trial=2), running + [missing], False)  # its size is unknown


def test_autoscaling_node_types_are_unchanged() -> None:
    """cluster.yaml's types do not depend on the running nodes."""
    text = (REPO / "cluster.yaml").read_text()
    shapes = scalable_shapes(text, [HEAD, WORKER, WORKER])
    assert [(s.name, s.count, s.gpus) for s in shapes] == [
        ("gpu_1x_a10g", 8, 1.0), ("gpu_4x_a10g", 2, 4.0)]


def test_autoscaler_max_workers_caps_all_types_together() -> None:
    """cluster.yaml: 8 workers at most over both GPU types (its global max_workers), so 2 x
    g5.12xlarge + 6 x g5.2xlarge = 14 GPUs at most, not 8 + 2 x 4 = 16: 16 packs of one GPU
    were accepted and 2 of them waited for a node the autoscaler never starts."""
    scalable = scalable_shapes((REPO / "cluster.yaml").read_text(), [HEAD])
    assert pack_room([HEAD, *scalable], 2, 1) == (True, 14)
    cfg = from_dict({"search": {"max_concurrent": 64, "num_trials": 64},
                     "resources": {"cpus_per_trial": 2, "gpus_per_trial": 1, "pack_size": 4}})
    with pytest.raises(ConfigError) as info:
        check_request(cfg, [HEAD, *scalable], False)
    msg = str(info.value)
    assert "starts 16 packs" in msg and "holds only 14" in msg, msg
    assert "8 workers at most in all" in msg, msg
    check_request(from_dict({"search": {"max_concurrent": 56, "num_trials": 64},
                             "resources": {"cpus_per_trial": 2, "gpus_per_trial": 1,
                                           "pack_size": 4}}), [HEAD, *scalable], False)


def test_running_workers_count_in_the_autoscaler_pool() -> None:
    """A second study (or a --resume) while cluster.yaml's GPU workers are still up (they
    idle 10 minutes): the running g5.2xlarge nodes are among the 8 workers the autoscaler may
    have, not 8 more. Counted on top, 8 running + 14 = 22 packs were planned where 14 fit."""
    running = [HEAD] + [WORKER] * 8  # g5.2xlarge: 8 CPUs, 1 GPU, as cluster.yaml declares
    scalable = scalable_shapes((REPO / "cluster.yaml").read_text(), running)
    assert pack_room(running + scalable, 2, 1) == (True, 14)
    assert pack_room([HEAD, WORKER, WORKER] + scalable, 2, 1) == (True, 14)
    other = NodeShape(16, 2)  # a machine joined by hand, not of cluster.yaml's types
    assert pack_room([HEAD, other] + scalable, 2, 1) == (True, 16)
    # a head of a worker type's size is not one of the autoscaler's workers
    head_like = NodeShape(8, 1, name="head")
    assert pack_room([head_like] + scalable, 2, 1) == (True, 15)
