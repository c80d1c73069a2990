"""The packed computation: the models' forward pass and the training step CUDA graphs capture.

:func:`forward` computes the logits of a call's models (one ``baddbmm`` per layer, per-model
activation, dropout and depth by masks; :class:`~jetstudy.trainables.packed_layout.CallLayout`
says which). :class:`TrainStep` holds one call's working copy (weights, gradients, Adam
moments, gathered from the pack's stores) and is the step itself: ``step(k)`` trains batch
``k`` of the epoch's permutation (forward, mean cross-entropy per model, backward, the L1/L2
penalties' gradients, masking of padded numbers, :func:`~jetstudy.trainables.packed_adam.
adam_update`). It is graph-capturable: no host sync, and nothing that changes per step is a
Python value; with ``k`` a ``(1,)`` device tensor it reads its batch and Adam scalars through
it (:func:`~jetstudy.trainables.packed_graph.replay_steps`), with an int it indexes directly
(eager: the CPU path, and the reference).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from jetstudy.trainables.loop import Hyperparams
from jetstudy.trainables.model import MLPArch
from jetstudy.trainables.packed_adam import AdamTables, adam_update
from jetstudy.trainables.packed_layout import (CallLayout, FlatLayout, Layers, element_maps,
                                               layer_views)

__all__ = ["PACKED_ACTIVATIONS", "TrainStep", "check_packable", "forward", "cross_entropy", "per_jet_nll"]

#: Activations a packed model may use (all map 0 to 0, so padded units stay 0).
PACKED_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "elu": F.elu, "tanh": torch.tanh, "gelu": F.gelu, "silu": F.silu,
    "leaky_relu": F.leaky_relu,
}


def forward(layers: Layers, x: torch.Tensor, call: CallLayout, train: bool,
            generator: torch.Generator | None) -> torch.Tensor:
    """Logits (M, B, classes) of the call's M models for jets ``x`` (B, inputs); ``train``
    applies dropout, drawn from ``generator``."""
    h = x.expand(call.rows, *x.shape)
    for l in range(call.depth):
        w, b = layers[l]
        z = torch.baddbmm(b.unsqueeze(1), h, w.mT)
        (first, _), *others = call.acts
        out = PACKED_ACTIVATIONS[first](z)
        for name, chosen in others:
            out = torch.where(chosen, PACKED_ACTIVATIONS[name](z), out)
        gate = call.gate[l]
        if train and call.dropout is not None:  # inverted dropout, a rate per model
            rate, scale = call.dropout
            u = torch.rand(out.shape, device=x.device, generator=generator)
            gate = gate * (u >= rate) * scale
        out = out * gate
        if l >= call.min_depth:  # some models have ended: they keep their state
            extra = out.shape[2] - h.shape[2]  # what is cut or added is zero for them
            if extra:
                h = h[:, :, :out.shape[2]] if extra < 0 else F.pad(h, (0, extra))
            out = torch.where(call.active[l], out, h)
        h = out
    w, b = layers[-1]
    return torch.baddbmm(b.unsqueeze(1), h, w.mT)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per model (M,) of logits (M, B, C) against labels (B,)."""
    logp = torch.log_softmax(logits, dim=2)
    return -logp.gather(2, y.view(1, -1, 1).expand(len(logits), -1, 1)).squeeze(2).mean(dim=1)


def per_jet_nll(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``Trainer.evaluate``'s per-jet loss ``-log(max(p_true, 1e-12))`` (M, B), float64, of
    probabilities (M, B, C)."""
    p = probs.gather(2, y.view(1, -1, 1).expand(len(probs), -1, 1)).squeeze(2)
    return -torch.log(p.clamp_min(1e-12)).double()


def check_packable(arch: MLPArch, hp: Hyperparams, max_depth: int, max_width: int) -> None:
    """Raise ``ValueError`` (naming the field, its value and the fix) unless a pack of
    ``max_depth`` x ``max_width`` can train this model."""
    depth, widest = len(arch.widths), max(arch.widths, default=0)
    use_trainer = "; train this configuration with trainables.loop.Trainer"
    problems = [
        (arch.batch_norm, "batch_norm is True, but PackedTrainer does not support batch "
                          "norm" + use_trainer),
        (arch.activation not in PACKED_ACTIVATIONS,
         f"activation is {arch.activation!r}, but PackedTrainer supports "
         f"{', '.join(PACKED_ACTIVATIONS)}" + use_trainer),
        (not 1 <= depth <= max_depth, f"depth is {depth}, but must be "
         f"1..{max_depth} (max_depth); build the PackedTrainer with a larger max_depth"),
        (widest > max_width, f"widths {list(arch.widths)} exceed max_width "
         f"{max_width}; build the PackedTrainer with max_width >= {widest}"),
        (not (math.isfinite(hp.lr) and hp.lr > 0) or hp.l1 < 0 or hp.l2 < 0,
         f"lr must be > 0 and l1, l2 >= 0, got {hp}; fix the trial's config"),
        (not 0 <= arch.dropout < 1,
         f"dropout must be in [0, 1), got {arch.dropout}; fix the trial's config"),
    ]
    for bad, message in problems:
        if bad:
            raise ValueError(message)


class TrainStep:
    """One call's epoch: its working copy and ``step(k)``, the training step on batch ``k``.

    Built from the pack's stores (``param``, ``exp_avg``, ``exp_avg_sq``, ``live``: the
    numbers that are a model's own) for the models of ``call`` with hyperparameters ``hps``
    and ``steps_done`` Adam steps so far; batches are rows ``k * batch_size ...`` of ``perm``.
    After the steps, :meth:`scatter` writes weights and moments back and :attr:`loss_sum`
    holds each model's summed batch cross-entropy (times the batch size)."""

    def __init__(self, flat: FlatLayout, call: CallLayout,
                 stores: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
                 hps: Sequence[Hyperparams], steps_done: Sequence[int], x: torch.Tensor,
                 y: torch.Tensor, perm: torch.Tensor, batch_size: int,
                 generator: torch.Generator) -> None:
        param, exp_avg, exp_avg_sq, live = stores
        dev, rows = x.device, call.rows
        self.call, self.x, self.y, self.perm, self.generator = call, x, y, perm, generator
        self.batch_size = bs = batch_size
        self.p, self.m, self.v = (flat.gather(t, call) for t in (param, exp_avg, exp_avg_sq))
        self.dead, self.g = ~flat.gather(live, call), torch.zeros_like(self.p)
        self.layers = layer_views(self.p, rows, call.shapes)
        for (w, b), (gw, gb) in zip(self.layers, layer_views(self.g, rows, call.shapes)):
            w.requires_grad_(True), b.requires_grad_(True)
            w.grad, b.grad = gw, gb  # backward accumulates into g in place
        model_of, is_weight = element_maps(rows, call.shapes, dev)
        # the penalties' gradients l1 * sign(W) + 2 * l2 * W, on weights only
        self.penalties: tuple[torch.Tensor, torch.Tensor] | None = None
        if any(h.l1 > 0 or h.l2 > 0 for h in hps):
            self.penalties = (
                torch.tensor([h.l1 for h in hps], device=dev)[model_of] * is_weight,
                torch.tensor([2 * h.l2 for h in hps], device=dev)[model_of] * is_weight)
        n = len(perm)
        self.n_steps, self.n_full = math.ceil(n / bs), n // bs
        self.adam = AdamTables.build([h.lr for h in hps], steps_done, self.n_steps, model_of)
        self.loss_sum = torch.zeros(rows, device=dev)
        self.batches = perm[:self.n_full * bs].reshape(self.n_full, bs)

    def __call__(self, k: int | torch.Tensor) -> None:
        """Training step k: an int (eager), or a (1,) device tensor (graph replay)."""
        bs, p, g = self.batch_size, self.p, self.g
        if isinstance(k, int):
            rows = self.perm[k * bs:(k + 1) * bs]
        else:  # read through the device counter: no host value in the graph
            rows = self.batches.index_select(0, k).view(-1)
        ce = cross_entropy(forward(self.layers, self.x.index_select(0, rows), self.call, True,
                                   self.generator), self.y.index_select(0, rows))
        g.zero_()
        ce.sum().backward()
        with torch.no_grad():
            if self.penalties is not None:
                l1, l2 = self.penalties
                g.addcmul_(l1, p.sign()).addcmul_(l2, p)
            g.masked_fill_(self.dead, 0.0)
            adam_update(p, g, self.m, self.v, self.adam, k)
            self.loss_sum.add_(ce.detach() * len(rows))

    def scatter(self, flat: FlatLayout, param: torch.Tensor, exp_avg: torch.Tensor,
                exp_avg_sq: torch.Tensor) -> None:
        """Write the trained weights and moments back into the pack's stores."""
        for store, work in ((param, self.p), (exp_avg, self.m), (exp_avg_sq, self.v)):
            flat.scatter(store, self.call, work)
