"""Where a pack's numbers live: the flat parameter layout of :class:`~jetstudy.trainables.packed.
PackedTrainer` and the layout of one training or evaluation call (torch, no autograd).

A pack of ``capacity`` MLPs padded to ``max_depth`` hidden layers of ``max_width`` units keeps
each store (weights, Adam's two moments, the "own number" mask) in one flat buffer,
layer-major: each Linear's ``(capacity, out, in)`` weight block, then its ``(capacity, out)``
bias block, the head last (:class:`FlatLayout`). Element-wise work over a whole store (Adam,
penalties, masks) is then a handful of kernels at any depth.

A call trains or evaluates some of the slots in a *working copy* gathered from the stores in
the call's own, smaller layout (:class:`CallLayout`, built by :func:`call_layout`): with
``trim``, padded only to the call's deepest model and, layer by layer, to the widest state any
of its models has there (rounded up to 8, :func:`~jetstudy.trainables.pack_groups.
padded_widths`). :meth:`FlatLayout.gather` and :meth:`FlatLayout.scatter` move numbers between
the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.pack_groups import padded_widths

__all__ = ["CallLayout", "FlatLayout", "Layers", "Shapes", "call_layout", "element_maps",
           "layer_views", "linear_shapes"]

Layers = list[tuple[torch.Tensor, torch.Tensor]]  # (weight (M, out, in), bias (M, out))
Shapes = tuple[tuple[int, int], ...]               # (out, in) per Linear, the head last


def linear_shapes(n_inputs: int, widths: Sequence[int], n_classes: int) -> Shapes:
    """(out, in) of each Linear of an MLP with these hidden widths, the head last."""
    sizes = [n_inputs, *widths, n_classes]
    return tuple(zip(sizes[1:], sizes[:-1]))


def layer_views(flat: torch.Tensor, rows: int, shapes: Shapes) -> Layers:
    """(weight (rows, out, in), bias (rows, out)) views of a layer-major buffer."""
    out, off = [], 0
    for o, i in shapes:
        w = flat[off:off + rows * o * i].view(rows, o, i)
        off += rows * o * i
        out.append((w, flat[off:off + rows * o].view(rows, o)))
        off += rows * o
    return out


def element_maps(rows: int, shapes: Shapes, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each number of a ``rows``-model buffer of these shapes: its model (row), and 1.0 if
    it is a weight (0.0: a bias)."""
    models, weights = [], []
    ids = torch.arange(rows, device=device).view(rows, 1)
    for o, i in shapes:
        for n, is_w in ((o * i, 1.0), (o, 0.0)):
            models.append(ids.expand(rows, n).reshape(-1))
            weights.append(torch.full((rows * n,), is_w, device=device))
    return torch.cat(models), torch.cat(weights)


@dataclass(frozen=True, eq=False)
class CallLayout:
    """What one call needs to know of its slots; built by :func:`call_layout`.

    Tensors are on the pack's device and hold one row per slot of the call (``M`` rows)."""

    slots: tuple[int, ...]
    idx: torch.Tensor                        # (M,) the slots, as an index into the stores
    depth: int                               # hidden layers computed (the deepest model's)
    min_depth: int                           # from this layer on, some models have ended
    width: int                               # the widest working layer
    shapes: Shapes                           # the working copy's Linears, the head last
    layer_map: tuple[int, ...]               # working layer -> stored layer (head: max_depth)
    gate: tuple[torch.Tensor, ...]           # per layer (M, 1, width_l): 1 on a model's units
    active: tuple[torch.Tensor, ...]         # per layer (M, 1, 1): the model has this layer
    acts: tuple[tuple[str, torch.Tensor], ...]  # activation name, (M, 1, 1) who uses it
    dropout: tuple[torch.Tensor, torch.Tensor] | None  # (rate, 1 / (1 - rate)), (M, 1, 1)

    @property
    def rows(self) -> int:
        """Models in the call."""
        return len(self.slots)

    @property
    def size(self) -> int:
        """Numbers in the call's working copy of one store."""
        return self.rows * sum(o * i + o for o, i in self.shapes)

    @property
    def macs_per_jet(self) -> int:
        """Multiply-adds of one model's padded forward pass per jet."""
        return sum(o * i for o, i in self.shapes)


def call_layout(slots: Sequence[int], archs: Sequence[MLPArch], gate_table: torch.Tensor,
                max_depth: int, max_width: int, n_inputs: int, n_classes: int,
                trim: bool) -> CallLayout:
    """The layout of a call for ``slots`` (models ``archs``); ``gate_table`` is the pack's
    ``(capacity, max_depth, max_width)`` unit gate. With ``trim``, the working copy is padded
    only to the slots' deepest model and per layer to their widest state (rounded up to 8; a
    model that has ended carries its last width through the identity layers)."""
    dev, slots = gate_table.device, [int(s) for s in slots]
    depths = [len(a.widths) for a in archs]
    depth, widths = max_depth, [max_width] * max_depth
    if trim:
        depth = max(depths)
        widths = padded_widths([a.widths for a in archs], max_width=max_width)
    idx = torch.tensor(slots, device=dev)
    gate = gate_table.index_select(0, idx)
    depth_t = torch.tensor(depths, device=dev)
    acts = tuple((name, torch.tensor([a.activation == name for a in archs],
                                     device=dev).view(-1, 1, 1))
                 for name in sorted({a.activation for a in archs}))
    dropout = None
    if any(a.dropout > 0 for a in archs):
        rate = torch.tensor([a.dropout for a in archs], device=dev).view(-1, 1, 1)
        dropout = (rate, 1.0 / (1.0 - rate))
    return CallLayout(
        slots=tuple(slots), idx=idx, depth=depth, min_depth=min(depths), width=max(widths),
        shapes=linear_shapes(n_inputs, widths[:depth], n_classes),
        layer_map=(*range(depth), max_depth),
        gate=tuple(gate[:, l, :widths[l]].unsqueeze(1) for l in range(depth)),
        active=tuple((depth_t > l).view(-1, 1, 1) for l in range(depth)),
        acts=acts, dropout=dropout)


class FlatLayout:
    """``capacity`` MLPs of ``n_inputs`` -> up to ``max_depth`` x ``max_width`` -> ``n_classes``
    padded into one layer-major flat buffer per store (:attr:`size` numbers)."""

    def __init__(self, n_inputs: int, n_classes: int, max_depth: int, max_width: int,
                 capacity: int) -> None:
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.max_depth, self.max_width, self.capacity = max_depth, max_width, capacity
        self.full = linear_shapes(n_inputs, [max_width] * max_depth, n_classes)
        self.size = capacity * sum(o * i + o for o, i in self.full)

    def layers(self, store: torch.Tensor) -> Layers:
        """A store's (weight (capacity, out, in), bias (capacity, out)) views, padded."""
        return layer_views(store, self.capacity, self.full)

    def call(self, slots: Sequence[int], archs: Sequence[MLPArch], gate_table: torch.Tensor,
             trim: bool) -> CallLayout:
        """:func:`call_layout` in this layout."""
        return call_layout(slots, archs, gate_table, self.max_depth, self.max_width,
                           self.n_inputs, self.n_classes, trim)

    def pairs(self, store: torch.Tensor, call: CallLayout, work: torch.Tensor
              ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(view of the store's numbers in the working layout, working tensor) pairs."""
        full, pairs = self.layers(store), []
        for stored, (w, b), (o, i) in zip(call.layer_map,
                                          layer_views(work, call.rows, call.shapes),
                                          call.shapes):
            pairs += [(full[stored][0][:, :o, :i], w), (full[stored][1][:, :o], b)]
        return pairs

    def gather(self, store: torch.Tensor, call: CallLayout) -> torch.Tensor:
        """A working copy of the call's slots' rows of a store, in the call's layout."""
        work = torch.empty(call.size, dtype=store.dtype, device=store.device)
        for stored, w in self.pairs(store, call, work):
            torch.index_select(stored, 0, call.idx, out=w)
        return work

    def scatter(self, store: torch.Tensor, call: CallLayout, work: torch.Tensor) -> None:
        """Write a working copy back into the call's slots' rows of a store."""
        for stored, w in self.pairs(store, call, work):
            stored.index_copy_(0, call.idx, w.detach())

    def own(self, store: torch.Tensor, slot: int, arch: MLPArch) -> dict[str, torch.Tensor]:
        """Views of one model's own numbers in a store, keyed as ``build_mlp(arch)``'s
        ``state_dict``: its hidden layers, then the packed head."""
        layers = self.layers(store)
        sizes, out = [self.n_inputs, *arch.widths, self.n_classes], {}
        for k, (name, l) in enumerate(zip(linear_names(arch),
                                          [*range(len(arch.widths)), self.max_depth])):
            out[f"{name}.weight"] = layers[l][0][slot, :sizes[k + 1], :sizes[k]]
            out[f"{name}.bias"] = layers[l][1][slot, :sizes[k + 1]]
        return out

    def clear(self, store: torch.Tensor, slot: int) -> None:
        """Zero one slot's rows of a store."""
        for w, b in self.layers(store):
            w[slot], b[slot] = 0, 0


def linear_names(arch: MLPArch) -> list[str]:
    """The ``state_dict`` prefixes of ``build_mlp(arch)``'s Linear layers, in order."""
    with torch.device("meta"):
        model = build_mlp(arch)
    return [name for name, module in model.named_children() if isinstance(module, nn.Linear)]
