"""``resources.pack_size: auto`` promises one pack per GPU (round 4 of the referee). With
``gpus_per_trial`` below 1 (the documented way to share a card among unpacked trials) each
pack asked Ray for that share, and Ray puts fractional requests on the first card: on a
2-GPU node both packs trained on GPU 0 while GPU 1 idled. A packed ``auto`` now gives each
pack a whole GPU; an explicit ``pack_size`` keeps the user's ``gpus_per_trial``.

Real Ray with two declared (fake) GPUs: Ray's own accounting hands out the card ids."""

from __future__ import annotations

import math

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.resources import check_fit, resolve_packing

pytestmark = pytest.mark.slow


def _cfg(pack_size: int | str) -> object:
    return from_dict({"search": {"num_trials": 4, "max_concurrent": 4},
                      "resources": {"pack_size": pack_size, "gpus_per_trial": 0.5,
                                    "cpus_per_trial": 0.5}})


@pytest.fixture(scope="module")
def two_gpu_ray():
    import ray

    ray.init(address="local", num_cpus=2, num_gpus=2, include_dashboard=False,
             log_to_driver=False)
    yield ray
    ray.shutdown()


def test_auto_packs_each_get_their_own_gpu(two_gpu_ray) -> None:
    ray = two_gpu_ray
    cfg, plan = resolve_packing(_cfg("auto"))
    assert (plan.size, plan.packs) == (2, 2) and "one per GPU" in plan.why
    assert cfg.resources.gpus_per_trial == 1.0  # what launch_packs asks Ray for, per pack
    check_fit(cfg)  # and the cluster holds them

    @ray.remote
    class Card:  # a stand-in pack, with the same request
        def ids(self) -> list:
            return ray.get_gpu_ids()

    packs = [Card.options(num_cpus=cfg.resources.cpus_per_trial,
                          num_gpus=cfg.resources.gpus_per_trial).remote()
             for _ in range(plan.packs)]
    ids = ray.get([p.ids.remote() for p in packs], timeout=60)
    for p in packs:
        ray.kill(p)
    assert sorted(i for got in ids for i in got) == [0, 1], ids


def test_an_explicit_pack_size_keeps_the_users_gpu_share(two_gpu_ray) -> None:
    cfg, plan = resolve_packing(_cfg(2))
    assert (plan.size, cfg.resources.gpus_per_trial) == (2, 0.5)


@pytest.mark.parametrize("restored, capacity", [(0, 4), (6, 6), (200, 64)])
def test_a_pack_larger_than_the_study_holds_only_its_trials(restored: int,
                                                             capacity: int) -> None:
    """``pack_size`` 64 for 4 trials at once: the pack preallocates every slot (padded
    weights, gradients and Adam moments), so it is built for the 4 (or the trials a
    ``--resume`` continues), never more than ``pack_size``; ``provenance.json`` still records
    the 64 asked for. No cluster is asked (an integer setting); ``packs.json``'s capacity
    shows it in a real study (test_referee4_packed_semantics)."""
    cfg = from_dict({"search": {"num_trials": 10, "max_concurrent": 4},
                     "resources": {"pack_size": 64}})
    resolved, plan = resolve_packing(cfg, restored)
    assert plan.slots == capacity  # what launch_packs builds each pack with
    assert (plan.size, plan.packs) == (64, math.ceil(max(4, restored) / 64))
    assert resolved.resources.pack_size == 64 and plan.record(cfg)["resolved"] == 64
