"""The MLP jet tagger, built from an architecture description. Imports only torch.

The model knows nothing of training, Ray or the study config: it takes an :class:`MLPArch`
and gives a ``torch.nn.Module`` plus its parameter and FLOP counts, so the same code serves the
trial loop, the final test evaluation and anyone loading ``best/model.pt``.

>>> arch = MLPArch(n_inputs=16, widths=(64, 32, 32), n_classes=5)
>>> count_params(arch), count_flops(arch)
(4389, 8512)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

__all__ = ["MLPArch", "build_mlp", "count_params", "count_flops", "weight_matrices",
           "ACTIVATION_LAYERS"]

ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "elu": nn.ELU, "prelu": nn.PReLU, "tanh": nn.Tanh, "gelu": nn.GELU,
    "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU,
}


@dataclass(frozen=True)
class MLPArch:
    """What defines the network's shape; serialisable with :meth:`to_dict`."""

    n_inputs: int
    widths: tuple[int, ...]          # one entry per hidden layer; () is logistic regression
    n_classes: int = 5
    activation: str = "relu"
    dropout: float = 0.0             # after every hidden activation
    batch_norm: bool = False         # BatchNorm1d before every hidden activation

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATION_LAYERS:
            raise ValueError(f"activation {self.activation!r} unknown; use one of "
                             f"{', '.join(ACTIVATION_LAYERS)}")
        if any(w < 1 for w in self.widths) or self.n_inputs < 1 or self.n_classes < 2:
            raise ValueError(f"invalid MLP shape {self}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "MLPArch":
        return cls(**{**d, "widths": tuple(d["widths"])})


def build_mlp(arch: MLPArch) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] per hidden layer, then a linear head
    giving logits (softmax is left to the loss)."""
    layers: list[nn.Module] = []
    n_in = arch.n_inputs
    for width in arch.widths:
        layers.append(nn.Linear(n_in, width))
        if arch.batch_norm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATION_LAYERS[arch.activation]())
        if arch.dropout > 0:
            layers.append(nn.Dropout(arch.dropout))
        n_in = width
    layers.append(nn.Linear(n_in, arch.n_classes))
    return nn.Sequential(*layers)


def count_params(arch: MLPArch) -> int:
    """Trainable parameters, computed from the shape (equals summing a built model's)."""
    sizes = (arch.n_inputs, *arch.widths, arch.n_classes)
    total = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if arch.batch_norm:
        total += 2 * sum(arch.widths)
    if arch.activation == "prelu":
        total += len(arch.widths)
    return total


def count_flops(arch: MLPArch) -> int:
    """Floating-point operations of one forward pass of one jet through the linear layers
    (2 per multiply-add; activations, normalisation and biases are not counted)."""
    sizes = (arch.n_inputs, *arch.widths, arch.n_classes)
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def weight_matrices(model: nn.Module) -> list[torch.Tensor]:
    """The weights of the linear layers: what the L1 and L2 penalties act on (not biases,
    not batch-norm scales)."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
