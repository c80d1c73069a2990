"""The MLP builder and its parameter and FLOP counts, checked against the built torch module."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch import nn

from jetstudy.trainables.model import (
    ACTIVATION_LAYERS,
    MLPArch,
    build_mlp,
    count_flops,
    count_params,
    weight_matrices,
)

WIDTHS = [(), (7,), (16, 3), (5, 9, 2), (4, 4, 4, 4)]  # depth 0..4
DROPOUTS = [0.0, 0.2]


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("activation", sorted(ACTIVATION_LAYERS))
def test_count_params_equals_built_model(activation: str, batch_norm: bool) -> None:
    for widths, dropout in itertools.product(WIDTHS, DROPOUTS):
        arch = MLPArch(n_inputs=16, widths=widths, n_classes=5, activation=activation,
                       dropout=dropout, batch_norm=batch_norm)
        model = build_mlp(arch)
        assert count_params(arch) == sum(p.numel() for p in model.parameters()), arch
        assert count_params(arch) == sum(p.numel() for p in model.parameters()
                                         if p.requires_grad)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("widths", WIDTHS)
def test_count_flops_is_twice_the_multiply_adds(widths: tuple[int, ...],
                                                batch_norm: bool) -> None:
    arch = MLPArch(n_inputs=10, widths=widths, n_classes=3, activation="prelu",
                   dropout=0.1, batch_norm=batch_norm)
    expected = 2 * sum(m.in_features * m.out_features for m in linears(build_mlp(arch)))
    assert count_flops(arch) == expected


def test_hls4ml_reference_model() -> None:
    # The hls4ml jet-tagging MLP 16-64-32-32-5 has 4389 parameters (Duarte et al. 2018).
    arch = MLPArch(n_inputs=16, widths=(64, 32, 32), n_classes=5)
    assert count_params(arch) == 4389
    assert sum(p.numel() for p in build_mlp(arch).parameters()) == 4389
    # 16*64 + 64*32 + 32*32 + 32*5 multiply-adds
    assert count_flops(arch) == 2 * (16 * 64 + 64 * 32 + 32 * 32 + 32 * 5)


def test_logistic_regression_has_one_linear_layer() -> None:
    arch = MLPArch(n_inputs=16, widths=(), n_classes=5)
    model = build_mlp(arch)
    assert [type(m) for m in model] == [nn.Linear]
    assert count_params(arch) == 16 * 5 + 5


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize(("widths", "n_classes"), [((), 5), ((8,), 5), ((32, 16, 8), 5),
                                                   ((4, 4), 2)])
def test_forward_gives_one_logit_per_class(widths: tuple[int, ...], n_classes: int,
                                           batch_norm: bool) -> None:
    torch.manual_seed(0)
    model = build_mlp(MLPArch(n_inputs=16, widths=widths, n_classes=n_classes,
                              dropout=0.3, batch_norm=batch_norm))
    x = torch.randn(7, 16)
    out = model(x)
    assert out.shape == (7, n_classes)
    assert torch.isfinite(out).all()
    model.eval()
    assert model(x[:1]).shape == (1, n_classes)


@pytest.mark.parametrize(("dropout", "batch_norm"), [(0.0, False), (0.25, False), (0.0, True),
                                                     (0.5, True)])
def test_dropout_and_batch_norm_layers_iff_asked(dropout: float, batch_norm: bool) -> None:
    widths = (12, 6, 3)
    model = build_mlp(MLPArch(n_inputs=16, widths=widths, activation="tanh", dropout=dropout,
                              batch_norm=batch_norm))
    mods = list(model.modules())
    drops = [m for m in mods if isinstance(m, nn.Dropout)]
    norms = [m for m in mods if isinstance(m, nn.BatchNorm1d)]
    assert len(drops) == (len(widths) if dropout > 0 else 0)
    assert all(d.p == dropout for d in drops)
    assert len(norms) == (len(widths) if batch_norm else 0)
    assert [n.num_features for n in norms] == (list(widths) if batch_norm else [])
    assert sum(isinstance(m, nn.Tanh) for m in mods) == len(widths)
    assert len(linears(model)) == len(widths) + 1


def test_layer_order_per_hidden_layer() -> None:
    model = build_mlp(MLPArch(n_inputs=4, widths=(3, 2), activation="elu", dropout=0.1,
                              batch_norm=True))
    block = [nn.Linear, nn.BatchNorm1d, nn.ELU, nn.Dropout]
    assert [type(m) for m in model] == block + block + [nn.Linear]


@pytest.mark.parametrize("activation", sorted(ACTIVATION_LAYERS))
def test_each_activation_uses_its_layer(activation: str) -> None:
    model = build_mlp(MLPArch(n_inputs=3, widths=(4, 4), activation=activation))
    assert sum(type(m) is ACTIVATION_LAYERS[activation] for m in model) == 2


def test_arch_dict_round_trip() -> None:
    arch = MLPArch(n_inputs=16, widths=(64, 32), n_classes=5, activation="silu",
                   dropout=0.2, batch_norm=True)
    d = arch.to_dict()
    assert d["widths"] == [64, 32]
    assert MLPArch.from_dict(json.loads(json.dumps(d))) == arch
    assert MLPArch.from_dict(d) == arch


def test_unknown_activation_is_rejected() -> None:
    with pytest.raises(ValueError, match="sigmoid") as info:
        MLPArch(n_inputs=16, widths=(8,), activation="sigmoid")
    assert all(name in str(info.value) for name in ACTIVATION_LAYERS)


@pytest.mark.parametrize("kwargs", [dict(n_inputs=16, widths=(8, 0)),
                                    dict(n_inputs=0, widths=(8,)),
                                    dict(n_inputs=16, widths=(8,), n_classes=1)])
def test_invalid_shape_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        MLPArch(**kwargs)


def test_weight_matrices_are_the_linear_weights_only() -> None:
    arch = MLPArch(n_inputs=16, widths=(10, 6), n_classes=5, activation="prelu",
                   batch_norm=True)
    model = build_mlp(arch)
    weights = weight_matrices(model)
    sizes = (16, 10, 6, 5)
    assert [tuple(w.shape) for w in weights] == [(b, a) for a, b in zip(sizes[:-1],
                                                                        sizes[1:])]
    params = list(model.parameters())
    assert all(any(w is p for p in params) for w in weights)
    # no bias, batch-norm scale or PReLU slope (all of which are 1-D) slipped in
    assert all(w.dim() == 2 for w in weights)
    n_named_weights = sum(name.endswith("weight") for name, _ in model.named_parameters())
    assert n_named_weights > len(weights)  # the model does have other "weight" tensors
