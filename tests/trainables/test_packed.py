"""The packed trainer against the per-trial ``Trainer``: same losses and metrics, padding inert,
no cross-talk between slots, slot reuse, per-slot divergence, checkpoints.

How the batch order is shared: ``PackedTrainer(seed=s)`` draws one permutation per
``train_epoch`` from a generator seeded with ``s``, exactly as ``Trainer(seed=s)`` does; a solo
``Trainer`` built with another seed (its initialisation) is given the pack's batch order by
re-seeding its ``generator`` with ``s`` (it draws nothing else from it).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import pytest
import torch

from jetstudy.trainables.loop import (Trainer, TrialData, arch_from_params,
                             hyperparams_from_params)
from jetstudy.trainables.metrics import roc_auc_ovr
from jetstudy.trainables.model import build_mlp
from jetstudy.trainables.metrics_torch import roc_auc_ovr_batched
from jetstudy.trainables.packed import PackedTrainer
from tests.conftest import make_train_settings

CPU = torch.device("cpu")
SETTINGS = make_train_settings(scheduler={"max_epochs": 2},
                               training={"batch_size": 256, "train_eval_jets": 1000})
PACK_SEED = 5
KEYS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_loss_se", "val_loss_se")
BASE = {"depth": 2, "width_0": 64, "width_1": 32, "dropout": 0.0, "activation": "relu",
        "batch_norm": False, "lr": 3e-3, "l1": 1e-4, "l2": 1e-4}
MIXED = [  # different depths, widths, rates, penalties and activations, packed together
    BASE,
    {**BASE, "depth": 1, "width_0": 128, "lr": 1e-2, "l1": 0.0, "l2": 0.0},
    {**BASE, "depth": 4, "width_0": 16, "width_1": 100, "width_2": 8, "width_3": 40,
     "lr": 1e-3, "l1": 3e-4, "l2": 0.0, "activation": "tanh"},
    {**BASE, "depth": 3, "width_2": 128, "lr": 5e-3, "l1": 0.0, "l2": 1e-3,
     "activation": "elu"},
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One torch thread, as trials run (``training.torch_threads``): on a busy 2-core machine
    two threads make every packed op wait for the other thread's time slice (10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _solo(data: TrialData, params: dict, seed: int, epochs: int = 2,
          device: torch.device = CPU) -> list[tuple[float, dict]]:
    """``Trainer`` on the pack's batch order: (running loss, metrics) per epoch."""
    trainer = Trainer(arch_from_params(params), hyperparams_from_params(params), SETTINGS, data, device, seed=seed)
    trainer.generator.manual_seed(PACK_SEED)
    return [(trainer.train_epoch(), trainer.evaluate()) for _ in range(epochs)]


def _packed(data: TrialData, configs: list[dict], seeds: list[int], epochs: int = 2,
            max_depth: int = 4, max_width: int = 128, device: torch.device = CPU,
            trim: bool = False) -> list[list[tuple[float, dict]]]:
    """``trim=False``: every call computes the full max_depth x max_width padding."""
    pt = PackedTrainer(data, SETTINGS, device, max_depth=max_depth, max_width=max_width,
                       capacity=len(configs) + 1, seed=PACK_SEED, trim=trim)
    slots = [pt.add(c, seed=s) for c, s in zip(configs, seeds)]
    runs: list[list[tuple[float, dict]]] = [[] for _ in slots]
    for _ in range(epochs):
        losses, metrics = pt.train_epoch(slots), pt.evaluate(slots)
        for run, slot in zip(runs, slots):
            run.append((losses[slot], metrics[slot]))
    return runs


def _assert_same(a: list[tuple[float, dict]], b: list[tuple[float, dict]],
                 rtol: float = 1e-4) -> None:
    for (loss_a, m_a), (loss_b, m_b) in zip(a, b, strict=True):
        assert loss_a == pytest.approx(loss_b, rel=rtol)
        for key in KEYS:
            tol = 2e-3 if key == "val_acc" else 0.0  # one jet of 2,000 may flip on a near-tie
            assert m_a[key] == pytest.approx(m_b[key], rel=rtol, abs=tol), key


@pytest.mark.parametrize("trim", [False, True])
def test_one_padded_model_matches_trainer(small_trial_data: TrialData, trim: bool) -> None:
    # depth 2, widths 64/32 padded to depth 4 x 128 units (trim: 2 x 64), with L1 and L2 on
    solo = _solo(small_trial_data, BASE, seed=PACK_SEED)
    trainer = Trainer(arch_from_params(BASE), hyperparams_from_params(BASE), SETTINGS, small_trial_data, CPU,
                      seed=PACK_SEED)  # same seed for init and batch order, nothing re-seeded
    assert trainer.train_epoch() == pytest.approx(solo[0][0], rel=1e-12)
    _assert_same(_packed(small_trial_data, [BASE], [PACK_SEED], trim=trim)[0], solo)


@pytest.mark.parametrize("trim", [False, True])
def test_packed_models_each_match_their_own_trainer(small_trial_data: TrialData,
                                                    trim: bool) -> None:
    seeds = [11, 12, 13, 14]
    runs = _packed(small_trial_data, MIXED, seeds, max_depth=5, trim=trim)
    for params, seed, run in zip(MIXED, seeds, runs):
        _assert_same(run, _solo(small_trial_data, params, seed))


def test_padding_is_inert(small_trial_data: TrialData) -> None:
    tight = _packed(small_trial_data, [MIXED[2]], [3], max_depth=4, max_width=100)[0]
    loose = _packed(small_trial_data, [MIXED[2]], [3], max_depth=7, max_width=256)[0]
    trimmed = _packed(small_trial_data, [MIXED[2]], [3], max_depth=7, max_width=256,
                      trim=True)[0]  # computed at widths 16, 104, 8, 40
    _assert_same(tight, loose, rtol=1e-5)
    _assert_same(tight, trimmed, rtol=1e-5)
    # trimmed per layer to 64, 104, 32, 40: BASE's finished state is cut from 104 to 32 units,
    # then padded to 40, on its way to the head
    pair = [MIXED[2], BASE]
    for a, b in zip(_packed(small_trial_data, pair, [3, 4], max_depth=6, max_width=256),
                    _packed(small_trial_data, pair, [3, 4], trim=True)):
        _assert_same(a, b, rtol=1e-5)


def test_padded_entries_stay_zero(small_trial_data: TrialData) -> None:
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, max_depth=5, max_width=128, capacity=4,
                       seed=PACK_SEED, trim=False)
    slots = [pt.add(c, seed=i) for i, c in enumerate(MIXED)]
    pt.train_epoch(slots)
    pad = ~pt._live  # white-box: every number outside a model's own Linears
    for store in (pt._param, pt._exp_avg, pt._exp_avg_sq):
        assert store[pad].abs().max().item() == 0.0
    assert (pt._param[pt._live] != 0).float().mean().item() > 0.99


def test_removed_slot_is_reused_cleanly(small_trial_data: TrialData) -> None:
    n = len(small_trial_data.x_train)
    perms = [torch.randperm(n, generator=torch.Generator().manual_seed(k)) for k in range(4)]
    fresh = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=1)
    slot = fresh.add(MIXED[3], seed=8)
    expected = [fresh.train_epoch([slot], perms[k])[slot] for k in (2, 3)]
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=2)
    a, b = pt.add(MIXED[2], seed=1), pt.add(MIXED[1], seed=2)  # a's depth 4 > c's
    for k in (0, 1):
        pt.train_epoch([a, b], perms[k])
    pt.remove(a)
    assert pt.occupied == [b]
    c = pt.add(MIXED[3], seed=8)
    assert c == a and pt.epoch(c) == 0
    got = [pt.train_epoch([b, c], perms[k])[c] for k in (2, 3)]
    assert got == pytest.approx(expected, rel=1e-5)


def test_a_diverging_model_gets_nan_and_the_others_do_not_notice(
        small_trial_data: TrialData) -> None:
    wild = {**BASE, "lr": 1e30}
    runs = _packed(small_trial_data, [MIXED[1], wild, MIXED[2]], [21, 22, 23], max_depth=5)
    assert all(math.isnan(loss) for loss, _ in runs[1][1:])
    assert all(math.isnan(metrics[k]) for k in KEYS for _, metrics in runs[1][1:])
    _assert_same(runs[0], _solo(small_trial_data, MIXED[1], 21))
    _assert_same(runs[2], _solo(small_trial_data, MIXED[2], 23))


def test_state_round_trip(small_trial_data: TrialData) -> None:
    params = MIXED[3]
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=2, seed=PACK_SEED)
    slot = pt.add(params, seed=4)
    pt.train_epoch([slot])
    state = pt.state(slot)
    # weights load into build_mlp and give the same metrics as the packed model
    trainer = Trainer(arch_from_params(params), hyperparams_from_params(params), SETTINGS, small_trial_data, CPU,
                      seed=0)
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    build_mlp(arch_from_params(params)).load_state_dict(state["model"])
    packed_metrics = pt.evaluate([slot])[slot]
    for key in KEYS:
        assert trainer.evaluate()[key] == pytest.approx(packed_metrics[key], rel=1e-5)
    # the Adam moments and step came along: the next epoch matches, in a Trainer and a new slot
    perm = torch.randperm(len(small_trial_data.x_train), generator=torch.Generator().manual_seed(9))
    other = pt.add(params, seed=99)
    pt.load_state(other, state)
    assert pt.epoch(other) == 1
    losses = pt.train_epoch([slot, other], perm)
    trainer.generator.set_state(torch.Generator().manual_seed(9).get_state())
    assert losses[other] == pytest.approx(losses[slot], rel=1e-6)
    assert trainer.train_epoch() == pytest.approx(losses[slot], rel=1e-4)
    pt.remove(other)
    with pytest.raises(ValueError, match="does not fit its architecture"):
        pt.load_state(pt.add(BASE, seed=0), state)


def test_a_trainer_checkpoint_continues_in_a_pack(small_trial_data: TrialData) -> None:
    params = MIXED[2]
    trainer = Trainer(arch_from_params(params), hyperparams_from_params(params), SETTINGS, small_trial_data, CPU,
                      seed=6)
    trainer.train_epoch()
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=1)
    slot = pt.add(params, seed=0)
    pt.load_state(slot, trainer.state_dict())  # Trainer's own layout: model, optimizer, epoch
    perm = torch.randperm(len(small_trial_data.x_train), generator=torch.Generator().manual_seed(2))
    trainer.generator.set_state(torch.Generator().manual_seed(2).get_state())
    assert pt.train_epoch([slot], perm)[slot] == pytest.approx(trainer.train_epoch(), rel=1e-4)
    assert pt.epoch(slot) == 2


def test_dropout_trains_and_global_rng_is_untouched(small_trial_data: TrialData) -> None:
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=2)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    slots = [pt.add({**BASE, "dropout": 0.5}, seed=1), pt.add(BASE, seed=1)]
    assert torch.equal(before, torch.get_rng_state())
    for _ in range(2):
        losses, metrics = pt.train_epoch(slots), pt.evaluate(slots)
    # dropout makes the train-mode running loss visibly worse than the eval-mode loss
    assert losses[slots[0]] > metrics[slots[0]]["train_loss"] + 0.02
    assert metrics[slots[0]]["val_acc"] > 0.5


@pytest.mark.parametrize("change,message", [
    ({"batch_norm": True}, "batch norm"),
    ({"activation": "prelu"}, "activation is 'prelu'"),
    ({"depth": 5, "width_2": 8, "width_3": 8, "width_4": 8}, "max_depth"),
    ({"width_0": 300}, "max_width"),
    ({"lr": 0.0}, "lr must be > 0"),
])
def test_unsupported_configurations_are_refused(small_trial_data: TrialData, change: dict,
                                                message: str) -> None:
    pt = PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=1)
    with pytest.raises(ValueError, match=message):
        pt.add({**BASE, **change}, seed=0)
    pt.add(BASE, seed=0)
    with pytest.raises(ValueError, match="all 1 slots are taken"):
        pt.add(BASE, seed=0)
    with pytest.raises(ValueError, match="slot 3 holds no model"):
        pt.train_epoch([3])


def test_constructor_checks(small_trial_data: TrialData) -> None:
    with pytest.raises(ValueError, match="capacity must be an integer >= 1, got 0"):
        PackedTrainer(small_trial_data, SETTINGS, CPU, 4, 128, capacity=0)
    sgd = make_train_settings(scheduler={"max_epochs": 1}, training={"optimizer": "sgd"})
    with pytest.raises(ValueError, match="Adam only.*'sgd'"):
        PackedTrainer(small_trial_data, sgd, CPU, 4, 128, capacity=1)


def test_batched_auc_equals_the_numpy_definition() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=300)
    labels[labels == 3] = 2  # class 3 absent: NaN, as in trainables.metrics
    probs = np.round(rng.random((3, 300, 4)), 2).astype(np.float32)  # many ties
    got = roc_auc_ovr_batched(torch.tensor(probs), torch.tensor(labels),
                              np.bincount(labels, minlength=4).tolist()).numpy()
    for m in range(3):
        np.testing.assert_array_equal(got[m], roc_auc_ovr(labels, probs[m].astype(np.float64)))


@pytest.mark.gpu
def test_packed_matches_trainer_on_cuda(small_trial_data: TrialData) -> None:
    cuda = torch.device("cuda")
    seeds = [11, 12, 13, 14]
    runs = _packed(small_trial_data, MIXED, seeds, max_depth=5, device=cuda)
    for params, seed, run in zip(MIXED, seeds, runs):
        # CUDA matmuls and the fused Adam round differently from the CPU path: looser rtol
        _assert_same(run, _solo(small_trial_data, params, seed, device=cuda), rtol=1e-3)


@pytest.mark.gpu
def test_graph_replay_matches_the_eager_step_on_cuda(small_trial_data: TrialData) -> None:
    """``graphs=True`` (one captured step replayed per full batch) trains as the eager path:
    same losses, metrics and weights to 1e-5 relative, fp32 matmuls, dropout included (the
    dropout generator is registered with the graph, so a replay draws what an eager step
    draws). 4,000 jets at batch 256: 2 eager warm-up steps, 13 replays, 1 short batch."""
    cuda = torch.device("cuda")
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    configs = [*MIXED, {**BASE, "dropout": 0.3}]
    try:
        runs, weights = [], []
        for graphs in (False, True):
            pt = PackedTrainer(small_trial_data, SETTINGS, cuda, max_depth=5, max_width=128,
                               capacity=len(configs), seed=PACK_SEED, graphs=graphs)
            slots = [pt.add(c, seed=20 + i) for i, c in enumerate(configs)]
            runs.append([(pt.train_epoch(slots), pt.evaluate(slots)) for _ in range(2)])
            weights.append([pt.state(s)["model"] for s in slots])
    finally:
        torch.set_float32_matmul_precision(before)
    (eager, graphed) = runs
    for (loss_e, met_e), (loss_g, met_g) in zip(eager, graphed):
        for slot in loss_e:
            assert math.isfinite(loss_g[slot])
            assert loss_g[slot] == pytest.approx(loss_e[slot], rel=1e-5)
            for key in KEYS:
                assert met_g[slot][key] == pytest.approx(met_e[slot][key], rel=1e-5,
                                                         abs=1e-3 if key == "val_acc" else 0)
    for model_e, model_g in zip(*weights):
        for key in model_e:
            torch.testing.assert_close(model_g[key], model_e[key], rtol=1e-5, atol=1e-6)


def test_graphs_flag_leaves_the_cpu_path_eager(small_trial_data: TrialData) -> None:
    """On the CPU ``graphs=True`` changes nothing: the eager step is the only path there."""
    results = []
    for graphs in (False, True):
        pt = PackedTrainer(small_trial_data, SETTINGS, CPU, max_depth=2, max_width=64,
                           capacity=1, seed=PACK_SEED, graphs=graphs)
        slot = pt.add(BASE, seed=3)
        results.append((pt.train_epoch([slot]), pt.state(slot)["model"]))
    assert results[0][0] == results[1][0]
    for key, value in results[0][1].items():
        assert torch.equal(value, results[1][1][key])
