"""``resources.pack_groups: auto``: the pure chooser on hand-made shapes, and the packed
trainer using it (its calls pad as the chooser assumed, and grouping changes no number)."""

from __future__ import annotations

import random

import pytest
import torch

from jetstudy.trainables.loop import TrainSettings, TrialData
from jetstudy.trainables.pack_groups import (CALL_COST_FLOPS, call_cost, choose_groups,
                                             padded_macs, padded_widths)
from jetstudy.trainables.packed import PackedTrainer
from tests.conftest import make_train_settings

BATCH = 1024
SMALL, BIG = [16, 8], [256, 256, 256, 256]


def _random_widths(n: int, seed: int) -> list[list[int]]:
    """Models of the default space (depth 1-6, widths 8-256 log-uniform), as TPE starts."""
    rng = random.Random(seed)
    return [[round(2 ** rng.uniform(3, 8)) for _ in range(rng.randint(1, 6))]
            for _ in range(n)]


def _cost(widths: list[list[int]], groups: list[list[int]], c: float) -> float:
    return sum(6 * BATCH * len(g) * padded_macs(padded_widths([widths[i] for i in g])) + c
               for g in groups)


def test_identical_models_train_in_one_call() -> None:
    widths = [[64, 32, 32]] * 10
    for device in CALL_COST_FLOPS:
        assert choose_groups(widths, CALL_COST_FLOPS[device], BATCH) == [list(range(10))]
    assert choose_groups(widths, 0.0, BATCH) == [list(range(10))]  # ties go to fewer calls


def test_two_far_apart_clusters_split_when_calls_are_cheap() -> None:
    widths = [SMALL, BIG, SMALL, BIG, SMALL]
    assert choose_groups(widths, 1e6, BATCH) == [[0, 2, 4], [1, 3]]


def test_expensive_calls_keep_one_call() -> None:
    widths = [SMALL, BIG, SMALL, BIG, SMALL]
    # padding the three small models to the big shape costs 3 x 6 x 1024 x ~200k = 3.7e9
    assert choose_groups(widths, 1e10, BATCH) == [[0, 2, 4, 1, 3]]


def test_more_expensive_calls_never_mean_more_calls() -> None:
    widths = _random_widths(64, seed=3)
    counts = [len(choose_groups(widths, c, BATCH))
              for c in (0.0, 1e6, 1e7, 4e7, 1e8, 1e9, 8e9, 3e10, 6.8e10, 1e12)]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] > 1 and counts[-1] == 1


def test_the_split_covers_every_model_once_and_beats_one_call() -> None:
    widths = _random_widths(64, seed=11)
    for c in (CALL_COST_FLOPS["cuda-graphs"], CALL_COST_FLOPS["cpu"]):
        groups = choose_groups(widths, c, BATCH)
        assert sorted(i for g in groups for i in g) == list(range(64))
        assert _cost(widths, groups, c) <= _cost(widths, [list(range(64))], c)


def test_calibration_reproduces_the_h200_measurements() -> None:
    """Eager CUDA: 64 default-space models stay in one call (4 calls measured slower); with
    CUDA graphs they split (4 calls measured faster than 1)."""
    widths = _random_widths(64, seed=0)
    assert len(choose_groups(widths, call_cost("cuda", graphs=False), BATCH)) == 1
    assert len(choose_groups(widths, call_cost("cuda", graphs=True), BATCH)) > 1


def test_call_cost_by_device_kind() -> None:
    assert call_cost("cuda", True) < call_cost("cuda", False)
    assert call_cost("cpu", True) == call_cost("cpu", False) < call_cost("cuda", True)
    assert call_cost("mps", False) == call_cost("cuda", False)  # unknown: launch-bound


def test_padding_rule() -> None:
    assert padded_widths([[64, 30], [10]]) == [64, 32]  # a finished model carries its width
    assert padded_widths([[250]], max_width=256) == [256]
    assert padded_widths([[250]], max_width=250) == [250]
    assert padded_macs([8]) == 16 * 8 + 8 * 5
    with pytest.raises(ValueError, match="at least one hidden layer"):
        padded_widths([[]])
    with pytest.raises(ValueError, match="call_cost must be >= 0"):
        choose_groups([SMALL], -1.0, BATCH)
    assert choose_groups([], 1.0, BATCH) == []


def _settings() -> TrainSettings:
    return make_train_settings(scheduler={"max_epochs": 2},
                               training={"batch_size": 256, "train_eval_jets": 1000,
                                         "device": "cpu", "matmul_precision": "highest"})


def test_packed_trainer_groups_auto_and_the_same_numbers(small_trial_data: TrialData) -> None:
    """On the CPU (cheap calls) a round of one small and two big models splits in two; the
    split changes the padding, not a model's loss; a bad count is refused by name."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        configs = [{"depth": 1, "width_0": 8, "lr": 1e-3},
                   {"depth": 3, "width_0": 128, "width_1": 128, "width_2": 128, "lr": 1e-3},
                   {"depth": 3, "width_0": 120, "width_1": 128, "width_2": 128, "lr": 1e-3}]
        losses = {}
        for groups in ("auto", None):
            pt = PackedTrainer(small_trial_data, _settings(), torch.device("cpu"), max_depth=4,
                               max_width=128, capacity=3, seed=5)
            slots = [pt.add(c, seed=k) for k, c in enumerate(configs)]
            if groups == "auto":
                assert [sorted(g) for g in pt.groups(slots, "auto")] == [[slots[0]], slots[1:]]
            losses[groups] = pt.train_epoch(slots, groups=groups)
            assert pt.evaluate(slots, groups=groups).keys() == set(slots)
        for slot, loss in losses[None].items():
            assert losses["auto"][slot] == pytest.approx(loss, rel=1e-4)
        with pytest.raises(ValueError, match="groups must be 'auto' or an integer >= 1, got 0"):
            pt.groups(slots, 0)
    finally:
        torch.set_num_threads(threads)
