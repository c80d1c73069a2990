"""The packed path's units on their own: the flat layout (``packed_layout``), the per-model
Adam (``packed_adam``) and the step CUDA graphs capture (``packed_step``), on the CPU.

The step's device-counter path (``step(k)`` with a ``(1,)`` tensor, what a graph replays) is
checked here against its eager path (``step(k)`` with an int) bit for bit, so the indexing a
GPU replay relies on is tested without a GPU.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest
import torch

from jetstudy.trainables.loop import Hyperparams, TrialData, arch_from_params
from jetstudy.trainables.model import build_mlp
from jetstudy.trainables.packed import PackedTrainer
from jetstudy.trainables.packed_adam import AdamTables, adam_state_dict, adam_update
from jetstudy.trainables.packed_layout import FlatLayout, call_layout, layer_views
from jetstudy.trainables.packed_step import TrainStep, check_packable
from tests.conftest import make_train_settings

SETTINGS = make_train_settings(scheduler={"max_epochs": 2},
                               training={"batch_size": 256, "train_eval_jets": 1000})
BASE = {"depth": 2, "width_0": 64, "width_1": 32, "dropout": 0.0, "activation": "relu",
        "batch_norm": False, "lr": 3e-3, "l1": 1e-4, "l2": 1e-4}
DEEP = {**BASE, "depth": 3, "width_0": 16, "width_1": 100, "width_2": 8,
        "activation": "tanh", "dropout": 0.25, "l1": 0.0}


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """One torch thread, as trials run: two make small ops wait for each other on 2 cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_packed_adam_matches_torch_adam_per_model() -> None:
    """Two models with their own lr and step counts in one flat buffer step as two
    ``torch.optim.Adam`` do (float32; torch computes the same scalars in float64)."""
    gen = torch.Generator().manual_seed(0)
    sizes, lrs, done = (5, 3), (1e-2, 3e-3), (0, 7)
    params = [torch.randn(n, generator=gen) for n in sizes]
    optimisers = []
    for p, lr, steps in zip(params, lrs, done):
        p = p.clone().requires_grad_(True)
        opt = torch.optim.Adam([p], lr=lr)
        for _ in range(steps):  # bring the step count (and moments) to `steps`
            p.grad = torch.zeros_like(p)
            opt.step()
        optimisers.append((p, opt))
    flat = torch.cat([p.detach().clone() for p, _ in optimisers])
    m = torch.cat([opt.state[p]["exp_avg"] if steps else torch.zeros_like(p)
                   for (p, opt), steps in zip(optimisers, done)]).detach().clone()
    v = torch.cat([opt.state[p]["exp_avg_sq"] if steps else torch.zeros_like(p)
                   for (p, opt), steps in zip(optimisers, done)]).detach().clone()
    model_of = torch.cat([torch.full((n,), j) for j, n in enumerate(sizes)])
    tables = AdamTables.build(lrs, done, 4, model_of)
    for k in range(4):
        grads = [torch.randn(n, generator=gen) for n in sizes]
        for (p, opt), g in zip(optimisers, grads):
            p.grad = g.clone()
            opt.step()
        adam_update(flat, torch.cat(grads), m, v, tables, k)
    torch.testing.assert_close(flat, torch.cat([p.detach() for p, _ in optimisers]),
                               rtol=1e-6, atol=1e-7)
    # a (1,) device tensor reads the same row as the int
    for k in range(4):
        for a, b in zip(tables.at(k), tables.at(torch.tensor([k]))):
            assert torch.equal(a, b)


def test_adam_state_dict_loads_into_torch_adam() -> None:
    model = build_mlp(arch_from_params(BASE))
    moments = [torch.full_like(p, 0.5) for p in model.parameters()]
    state = adam_state_dict(moments, [m * m for m in moments], 12,
                            {**torch.optim.Adam([torch.zeros(1)]).state_dict()["param_groups"][0],
                             "lr": 0.01})
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    opt.load_state_dict(state)
    assert opt.param_groups[0]["lr"] == 0.01
    first = next(iter(model.parameters()))
    assert float(opt.state[first]["step"]) == 12.0
    assert torch.equal(opt.state[first]["exp_avg_sq"], torch.full_like(first, 0.25))
    with pytest.raises(ValueError):  # moments of different lengths are refused
        adam_state_dict(moments, moments[:-1], 1, {})


def test_flat_layout_gather_scatter_and_own_views() -> None:
    flat = FlatLayout(n_inputs=16, n_classes=5, max_depth=4, max_width=128, capacity=3)
    store = torch.arange(flat.size, dtype=torch.float32)
    deep, base = arch_from_params(DEEP), arch_from_params(BASE)
    gate = torch.zeros(3, 4, 128)
    call = call_layout([2, 0], [deep, base], gate, 4, 128, 16, 5, trim=True)
    assert (call.depth, call.min_depth, call.width) == (3, 2, 104)
    assert call.shapes == ((64, 16), (104, 64), (32, 104), (5, 32))  # 8, 100, 8 padded to 8
    assert call.layer_map == (0, 1, 2, 4) and call.rows == 2
    assert [n for n, _ in call.acts] == ["relu", "tanh"] and call.dropout is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.depth = 1  # type: ignore[misc]
    work = flat.gather(store, call)
    assert work.shape == (call.size,)
    # each working row is the slot's own padded numbers: slot 2's first weight block
    w0 = layer_views(work, 2, call.shapes)[0][0]
    assert torch.equal(w0[0], flat.layers(store)[0][0][2, :64, :16])
    assert torch.equal(w0[1], flat.layers(store)[0][0][0, :64, :16])
    blank = torch.zeros(flat.size)
    flat.scatter(blank, call, work)
    assert torch.equal(flat.gather(blank, call), work)
    assert flat.layers(blank)[0][0][1].abs().sum() == 0  # slot 1 is not in the call
    # one model's own views carry build_mlp's state_dict keys and shapes
    own = flat.own(store, 0, base)
    expected = {k: tuple(v.shape) for k, v in build_mlp(base).state_dict().items()}
    assert {k: tuple(v.shape) for k, v in own.items()} == expected
    flat.clear(store, 0)
    assert all(v.abs().sum() == 0 for v in flat.own(store, 0, base).values())


def test_untrimmed_layout_pads_to_the_full_shape() -> None:
    call = call_layout([0], [arch_from_params(BASE)], torch.zeros(1, 3, 48), 3, 48, 16, 5,
                       trim=False)
    assert call.shapes == ((48, 16), (48, 48), (48, 48), (5, 48))
    assert (call.depth, call.min_depth) == (3, 2)


def _steps(data: TrialData, counter: bool) -> TrainStep:
    """A pack of two mixed models (penalties, dropout, depths 2 and 3), its first 5 steps
    through ``step(int)`` or through a ``(1,)`` counter tensor as a graph replay reads it."""
    pt = PackedTrainer(data, SETTINGS, torch.device("cpu"), 4, 128, capacity=2, seed=3)
    slots = [pt.add(BASE, seed=1), pt.add(DEEP, seed=2)]
    call = pt._call(slots)
    perm = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(4))
    step = TrainStep(pt._flat, call, (pt._param, pt._exp_avg, pt._exp_avg_sq, pt._live),
                     [Hyperparams(lr=3e-3, l1=1e-4, l2=1e-4), Hyperparams(lr=1e-2, l2=1e-4)],
                     [0, 5], pt.x_train, pt.y_train, perm, 256, pt.dropout_generator)
    with torch.enable_grad():
        for k in range(5):
            step(torch.tensor([k]) if counter else k)
    return step


def test_the_counter_path_steps_exactly_as_the_eager_path(small_trial_data: TrialData) -> None:
    eager, replayed = _steps(small_trial_data, False), _steps(small_trial_data, True)
    assert eager.n_full == 15 and eager.penalties is not None
    for a, b in ((eager.p, replayed.p), (eager.m, replayed.m), (eager.v, replayed.v),
                 (eager.loss_sum, replayed.loss_sum)):
        assert torch.equal(a, b)
    assert torch.isfinite(eager.loss_sum).all() and (eager.loss_sum > 0).all()
    assert eager.g[eager.dead].abs().sum() == 0  # padded numbers get no gradient


def test_check_packable_names_the_field_and_the_fix() -> None:
    arch = arch_from_params(BASE)
    check_packable(arch, Hyperparams(lr=1e-3), 2, 64)
    with pytest.raises(ValueError, match=r"widths \[64, 32\] exceed max_width 32; .*>= 64"):
        check_packable(arch, Hyperparams(lr=1e-3), 2, 32)
    with pytest.raises(ValueError, match="depth is 2, but must be 1..1 .*larger max_depth"):
        check_packable(arch, Hyperparams(lr=1e-3), 1, 64)
