"""How a pack splits a round into calls (``resources.pack_groups: auto``): pure, torch-free.

A :class:`~jetstudy.trainables.packed.PackedTrainer` call pads its models to one shape: the
deepest model's depth and, layer by layer, the widest state any of them has there, rounded up
to :data:`PAD_MULTIPLE` (:func:`padded_widths`, the rule :func:`~jetstudy.trainables.packed_layout.call_layout`
applies).
One call for a whole round of mixed models wastes arithmetic on padding (8.4x the models' own
FLOPs in a real R64 study); one call per model pays each call's fixed cost (kernel launches,
host work) once per model. :func:`choose_groups` picks the split with the least estimated
time per training step::

    cost = sum over calls of (6 * batch_size * models * padded multiply-adds + call_cost)

``call_cost`` is what one call costs beyond its arithmetic, in FLOP-equivalents per step
(:func:`call_cost`, one constant per device kind). Models are sorted by (depth, widest layer)
and only runs of that order are considered (exactly, by dynamic programming over the cut points
between (depth, padded widest) buckets): identical models give one call, far-apart clusters
with cheap calls give one call each, and the number of calls never grows with ``call_cost``.

>>> choose_groups([[64, 32], [64, 32]], call_cost=1e9, batch_size=1024)
[[0, 1]]
>>> choose_groups([[8], [256] * 6], call_cost=1e6, batch_size=1024)
[[0], [1]]
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["PAD_MULTIPLE", "CALL_COST_FLOPS", "call_cost", "padded_widths", "padded_macs",
           "choose_groups", "split_even"]

#: A call pads each layer's width up to a multiple of this (tensor-core friendly, and little
#: waste: at most 7 units per layer).
PAD_MULTIPLE = 8

#: A call's fixed cost per training step in FLOP-equivalents (time x the device's rate), per
#: device kind. Derivation (H200, fp32, 2026-11-27, default space padded to 6 x 256: 333,056
#: multiply-adds per jet, so 6 x 1024 x 333,056 = 2.05 GFLOP per model and step): eager steps
#: took 2.8 ms for 1 model, 3.6 ms for 8 and 8.3 ms for 64, i.e. 0.084 ms per model (24 TFLOP/s
#: of padded arithmetic) on top of ~2.8 ms per call: 2.8 ms x 24.4 TFLOP/s = 6.8e10. With the
#: step replayed as a CUDA graph a lone model trains 8.4x faster (3.86 against 0.46
#: model-epochs/s), so a call costs at most 2.8 / 8.4 = 0.33 ms: 0.33 ms x 24.4 TFLOP/s = 8e9.
#: The consequence matches the measurements: eager, 64 default-space models stay in one call
#: (4 calls were slower), with graphs they split (4 calls: 17.1 against 14.2 model-epochs/s).
#: CPU (2-core AMD EPYC dev machine, one torch thread, 2026-11-27): a lone 16-8-5 model steps
#: in 0.62 ms, a lone 6 x 256 one in 28.7 ms (2.05 GFLOP: ~70 GFLOP/s), so a call costs
#: ~0.6 ms x 70 GFLOP/s = 4e7: padding costs real time there, and mixed rounds split.
CALL_COST_FLOPS: dict[str, float] = {"cuda-graphs": 8e9, "cuda": 6.8e10, "cpu": 4e7}


def call_cost(device_type: str, graphs: bool) -> float:
    """:data:`CALL_COST_FLOPS` for a device (``torch.device.type``: ``cuda``, ``cpu``, ...) and
    whether its steps are replayed as CUDA graphs; an unknown kind counts as eager CUDA (an
    accelerator whose calls are launch-bound)."""
    if device_type == "cpu":
        return CALL_COST_FLOPS["cpu"]
    if device_type == "cuda" and graphs:
        return CALL_COST_FLOPS["cuda-graphs"]
    return CALL_COST_FLOPS["cuda"]


def padded_widths(widths: Sequence[Sequence[int]], multiple: int = PAD_MULTIPLE,
                  max_width: int | None = None) -> list[int]:
    """The hidden widths one call of models with these ``widths`` runs at: as many layers as
    the deepest model; at layer ``l`` the widest state any model has there (a model that has
    ended carries its last width through the identity layers), rounded up to ``multiple`` and
    capped at ``max_width``.

    >>> padded_widths([[64, 30], [10]])
    [64, 32]
    """
    if not widths or any(len(w) == 0 for w in widths):
        raise ValueError(f"every model needs at least one hidden layer, got widths {widths!r}")
    depth = max(len(w) for w in widths)
    out = []
    for layer in range(depth):
        widest = max(w[min(layer, len(w) - 1)] for w in widths)
        rounded = -(-widest // multiple) * multiple
        out.append(rounded if max_width is None else min(max_width, rounded))
    return out


def padded_macs(hidden: Sequence[int], n_inputs: int = 16, n_classes: int = 5) -> int:
    """Multiply-adds per jet of one model padded to ``hidden`` widths (the head included)."""
    sizes = [n_inputs, *hidden, n_classes]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def choose_groups(widths: Sequence[Sequence[int]], call_cost: float, batch_size: int,
                  n_inputs: int = 16, n_classes: int = 5, multiple: int = PAD_MULTIPLE,
                  max_width: int | None = None) -> list[list[int]]:
    """Split models (their hidden ``widths``, one list per model) into calls that minimise
    padded training FLOPs plus ``call_cost`` per call (see the module docstring); returns
    lists of indices into ``widths``, smallest models first. Ties go to fewer calls."""
    if call_cost < 0 or batch_size < 1:
        raise ValueError(f"call_cost must be >= 0 and batch_size >= 1, got {call_cost!r} and "
                         f"{batch_size!r}")
    if not widths:
        return []

    def key(i: int) -> tuple:
        w = widths[i]
        return len(w), -(-max(w) // multiple), tuple(w)

    order = sorted(range(len(widths)), key=key)
    # buckets of (depth, padded widest): a call starts and ends at a bucket's edge
    starts = [k for k in range(len(order))
              if k == 0 or key(order[k])[:2] != key(order[k - 1])[:2]]
    edges = [*starts, len(order)]
    deepest = max(len(w) for w in widths)
    # per bucket: its depth and, per layer, the widest state its models carry there
    # (padded_widths of a union is the layer-wise max of these, cut at the union's depth)
    shapes = []
    for b in range(len(starts)):
        members = [widths[order[k]] for k in range(edges[b], edges[b + 1])]
        shapes.append((len(members[0]), [max(w[min(l, len(w) - 1)] for w in members)
                                         for l in range(deepest)]))
    per_model = 6.0 * batch_size
    # best[j]: (cost, calls, previous edge) of the cheapest split of the first j buckets
    best: list[tuple[float, int, int]] = [(0.0, 0, -1)]
    for j in range(1, len(edges)):
        choice, depth, widest = None, 0, [0] * deepest
        for i in range(j - 1, -1, -1):  # the last call holds buckets i..j-1
            depth = max(depth, shapes[i][0])
            widest = [max(a, b) for a, b in zip(widest, shapes[i][1])]
            hidden = [-(-w // multiple) * multiple for w in widest[:depth]]
            if max_width is not None:
                hidden = [min(max_width, w) for w in hidden]
            flops = per_model * (edges[j] - edges[i]) * padded_macs(hidden, n_inputs, n_classes)
            total = (best[i][0] + flops + call_cost, best[i][1] + 1, i)
            if choice is None or total[:2] < choice[:2]:
                choice = total
        best.append(choice)
    groups, j = [], len(edges) - 1
    while j > 0:
        i = best[j][2]
        groups.append([order[k] for k in range(edges[i], edges[j])])
        j = i
    return groups[::-1]


def split_even(widths: Sequence[Sequence[int]], count: int) -> list[list[int]]:
    """Split models (their hidden ``widths``) into at most ``count`` runs of equal size (the
    first ones one longer when they do not divide, as ``numpy.array_split``), sorted by widest
    layer, then depth; returns lists of indices into ``widths``."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"groups must be 'auto' or an integer >= 1, got {count!r}")
    order = sorted(range(len(widths)), key=lambda i: (max(widths[i]), len(widths[i])))
    size, extra = divmod(len(order), count)
    parts, first = [], 0
    for k in range(count):
        last = first + size + (k < extra)
        parts.append(order[first:last])
        first = last
    return [part for part in parts if part]
