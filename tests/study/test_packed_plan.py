"""``resources.pack_size: auto`` and ``pack_groups: auto``: parsing, and how auto resolves
(pure, on made-up clusters; one real local Ray without GPUs)."""

from __future__ import annotations

import logging
import math

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.packing import AUTO_PACK_MAX, plan_packing
from jetstudy.study.resources import NodeShape, check_request, pack_room, resolve_packing
from jetstudy.trainables.errors import ConfigError

GPU = {"gpus_per_trial": 1}


def _cfg(concurrent: int = 64, **resources) -> object:
    return from_dict({"search": {"max_concurrent": concurrent, "num_trials": 512},
                      "resources": resources})


def test_both_default_to_auto_and_take_integers() -> None:
    r = from_dict({}).resources
    assert (r.pack_size, r.pack_groups) == ("auto", "auto")
    r = from_dict({"resources": {"pack_size": 8, "pack_groups": 3}}).resources
    assert (r.pack_size, r.pack_groups) == (8, 3)
    assert from_dict({"resources": {"pack_size": 0}}).resources.pack_size == 0


@pytest.mark.parametrize("field, value, example", [
    ("pack_size", -1, "64"), ("pack_size", "Auto", "64"), ("pack_size", 2.5, "64"),
    ("pack_groups", 0, "4"), ("pack_groups", "many", "4"), ("pack_groups", True, "4"),
])
def test_bad_values_name_field_value_and_fix(field: str, value, example: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({"resources": {field: value}})
    low = "0" if field == "pack_size" else "1"
    assert str(err.value).startswith(f"resources.{field} must be auto or an integer >= {low}, "
                                     f"got ")
    assert str(err.value).endswith(f"; set e.g. {example}")


def test_auto_accepts_what_a_pack_cannot_train_and_an_integer_does_not() -> None:
    bn = {"space": {"batch_norm": [False, True]}}
    assert from_dict(bn).resources.pack_size == "auto"  # resolves to 0, with a reason
    with pytest.raises(ConfigError, match="resources.pack_size is 8, but packs cannot train "
                                          "batch norm; set resources.pack_size to 0"):
        from_dict({**bn, "resources": {"pack_size": 8}})


def test_an_integer_is_kept() -> None:
    plan = plan_packing(_cfg(10, pack_size=4), has_gpus=False, room=None)
    assert (plan.size, plan.packs) == (4, 3)
    assert plan_packing(_cfg(pack_size=0, **GPU), True, 1).size == 0


@pytest.mark.parametrize("raw, has_gpus, words", [
    ({"resources": {}}, True, "resources.gpus_per_trial is 0"),
    ({"resources": GPU, "training": {"device": "cpu"}}, True, "training.device is 'cpu'"),
    ({"resources": GPU}, False, "the Ray cluster has no GPU"),
    ({"resources": GPU, "space": {"batch_norm": [True]}}, True, "set space.batch_norm"),
    ({"resources": GPU, "space": {"activations": ["prelu"]}}, True, "activation 'prelu'"),
    ({"resources": GPU, "training": {"optimizer": "sgd"}}, True, "set training.optimizer"),
], ids=["cpu-trials", "cpu-device", "no-gpu", "batch-norm", "prelu", "sgd"])
def test_auto_stays_unpacked_and_says_why(raw: dict, has_gpus: bool, words: str) -> None:
    plan = plan_packing(from_dict(raw), has_gpus, room=1)
    assert (plan.size, plan.packs) == (0, 0)
    assert plan.why.startswith("resources.pack_size auto: unpacked") and words in plan.why


@pytest.mark.parametrize("concurrent, room, size, packs", [
    (64, 1, 64, 1),                   # one H100: one pack of every trial running
    (4, 1, 4, 1),
    (256, 1, 256, 1),                 # one GPU holds one pack, however many trials
    (64, 4, 16, 4),                   # four GPUs: one pack each
    (4, 8, 1, 4),                     # more GPUs than trials: one trial per pack
    (10, 4, 3, 4),
    (100, None, 50, 2),               # GPUs not known (autoscaler): up to AUTO_PACK_MAX
    (64, None, AUTO_PACK_MAX, 1),
    (64, 0, 64, 1),                   # no room: check_fit will say why, for this number
])
def test_auto_packs_one_per_gpu(concurrent: int, room, size: int, packs: int) -> None:
    plan = plan_packing(_cfg(concurrent, **GPU), has_gpus=True, room=room)
    assert (plan.size, plan.packs) == (size, packs)
    assert math.ceil(concurrent / plan.size) == plan.packs
    assert f"{size} trials per pack" in plan.why
    assert plan.record(_cfg(concurrent, **GPU)) == {
        "pack_size": "auto", "resolved": size, "packs": packs, "pack_groups": "auto",
        "why": plan.why}


def test_pack_room_counts_whole_gpus() -> None:
    assert pack_room([NodeShape(16, 1)], 1, 0.25) == (True, 1)  # shares: one pack per card
    assert pack_room([NodeShape(16, 4), NodeShape(8, 2)], 2, 1) == (True, 6)
    assert pack_room([NodeShape(2, 4)], 1, 1) == (True, 2)     # CPUs limit it
    assert pack_room([NodeShape(2, 0)], 1, 1) == (False, 0)
    assert pack_room([NodeShape(2, 0), NodeShape(8, 1, None, True, "gpu")], 1, 1) == (True, None)


def test_before_ray_starts_auto_is_checked_as_a_lone_trial() -> None:
    """check_local_request runs before Ray knows its GPUs: auto is held to what any trial or
    pack needs (its CPUs), and checked again once resolved (check_fit)."""
    check_request(_cfg(64, cpus_per_trial=2, **GPU), [NodeShape(2, math.inf)], local=True)
    with pytest.raises(ConfigError, match="resources.cpus_per_trial is 4"):
        check_request(_cfg(64, cpus_per_trial=4, **GPU), [NodeShape(2, math.inf)], local=True)


def test_resolving_without_gpus_asks_no_cluster(caplog: pytest.LogCaptureFixture) -> None:
    """CPU trials, or a space no pack trains: decided from the config alone (no Ray here);
    GPUs a pack cannot use are a warning, CPU trials only an info line."""
    caplog.set_level(logging.INFO, logger="jetstudy.study.resources")
    cfg, plan = resolve_packing(_cfg(4))
    assert cfg.resources.pack_size == 0 and plan.size == 0
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    caplog.clear()
    cfg, plan = resolve_packing(from_dict({"resources": GPU, "space": {"batch_norm": [True]}}))
    assert cfg.resources.pack_size == 0
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert "packs cannot train batch norm" in caplog.records[0].getMessage()


@pytest.mark.slow
def test_a_ray_without_gpus_resolves_auto_to_unpacked() -> None:
    import ray

    ray.init(address="local", num_cpus=1, num_gpus=0, include_dashboard=False,
             log_to_driver=False)
    try:
        cfg, plan = resolve_packing(_cfg(4, **GPU))
    finally:
        ray.shutdown()
    assert cfg.resources.pack_size == 0 and "the Ray cluster has no GPU" in plan.why
