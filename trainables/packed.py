"""Many small MLPs trained as one batched computation on one device (Ray-free).

On a GPU a jet tagger (16 -> widths -> 5) is bound by per-step overheads, not arithmetic, and
separate processes sharing the card time-slice rather than add up. :class:`PackedTrainer`
keeps up to ``capacity`` models in stacked tensors padded to ``max_depth`` hidden layers of
``max_width`` units and steps them all with one ``baddbmm`` per layer and one Adam update:

* a model's padded units have zero weights and biases and a zero gate after the activation, and
  their gradients are masked, so they stay exactly zero (they add nothing to ``|W|`` or ``W^2``);
  hidden layers at index >= the model's depth pass the state through unchanged, so a depth-2
  model padded to depth 4 computes exactly its own function; the head reads the last state;
* per-model learning rate, L1, L2, dropout and Adam step counts are vectors over the models;
  the loss is the sum of each model's mean cross-entropy, so gradients stay per model, and the
  penalties' gradients (``l1 * sign(W) + 2 * l2 * W``, the gradients of ``Trainer``'s terms) are
  added to the weights only;
* all models of an epoch share one permutation drawn from a generator seeded with ``seed``
  (default ``settings.seed``), exactly as ``Trainer(seed=seed)`` draws its own, so a model
  added to a fresh ``PackedTrainer(seed=s)`` with ``add(params, seed=s)`` trains like
  ``Trainer(arch, hp, settings, data, device, seed=s)`` when dropout is 0; ``train_epoch``
  also takes an explicit ``perm``;
* a diverging model gets NaN for its slot only: models share no parameter and no reduction.

Parameters live layer-major in one flat buffer (every layer's ``(models, out, in)`` block is
contiguous), so Adam and the penalties are a dozen element-wise kernels per step, whatever the
depth. Batch norm and PReLU (learnable) are not supported: ``add`` raises ``ValueError`` and the
caller trains that configuration with :class:`~trainables.loop.Trainer`.

>>> pt = PackedTrainer(data, settings, torch.device("cuda"), max_depth=6, max_width=256,
...                    capacity=64)                                            # doctest: +SKIP
>>> slot = pt.add({"depth": 2, "width_0": 64, "width_1": 32, "lr": 1e-3}, seed=7)  # doctest: +SKIP
>>> pt.train_epoch([slot]), pt.evaluate([slot])                                # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from trainables.loop import Hyperparams, TrainSettings, TrialData, arch_from_params
from trainables.model import MLPArch, build_mlp

__all__ = ["PackedTrainer", "PACKED_ACTIVATIONS", "roc_auc_ovr_batched"]

logger = logging.getLogger(__name__)

#: Activations a packed model may use (all map 0 to 0, so padded units stay 0).
PACKED_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu, "elu": F.elu, "tanh": torch.tanh, "gelu": F.gelu, "silu": F.silu,
    "leaky_relu": F.leaky_relu,
}
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam's defaults
#: Evaluation budgets in elements: models x jets per chunk of models, models x rows x width
#: per forward chunk (bounds memory at ~1 GB whatever the number of models).
EVAL_MODEL_JETS, EVAL_ACTIVATIONS = 2**24, 2**25


def roc_auc_ovr_batched(probs: torch.Tensor, labels: torch.Tensor,
                        class_counts: Sequence[int]) -> torch.Tensor:
    """One-vs-rest AUC (M, C) in float64 for probabilities ``probs`` (M, N, C) of M models, on
    their device; the same Mann-Whitney definition with exact ties as
    :func:`trainables.metrics.roc_auc_ovr` (NaN for a class absent or present everywhere).
    ``class_counts`` (host ints) avoids a host sync per class."""
    n = probs.shape[1]
    out = torch.full(probs.shape[::2], float("nan"), dtype=torch.float64, device=probs.device)
    for c, n_pos in enumerate(class_counts):
        if n_pos == 0 or n_pos == n:
            continue
        s = probs[:, :, c].contiguous()
        v = torch.sort(s, dim=1).values
        # average 1-based rank of a run of ties: (first index + end index + 1) / 2
        rank = (torch.searchsorted(v, s) + torch.searchsorted(v, s, right=True) + 1) / 2.0
        u = rank.double() @ (labels == c).double() - n_pos * (n_pos + 1) / 2.0
        out[:, c] = u / (n_pos * (n - n_pos))
    return out


@dataclass
class _Slot:
    arch: MLPArch
    hp: Hyperparams
    step: int = 0      # Adam steps taken (bias correction is per model)
    epoch: int = 0


class PackedTrainer:
    """Up to ``capacity`` MLPs and their Adam states on one device; one call per epoch."""

    def __init__(self, data: TrialData, settings: TrainSettings, device: torch.device,
                 max_depth: int, max_width: int, capacity: int, seed: int | None = None) -> None:
        for name, value in (("max_depth", max_depth), ("max_width", max_width),
                            ("capacity", capacity)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}; e.g. 6, 256, 64")
        if settings.optimizer != "adam":
            raise ValueError(f"PackedTrainer implements Adam only, but settings.optimizer is "
                             f"{settings.optimizer!r}; use trainables.loop.Trainer for it")
        self.settings, self.device = settings, torch.device(device)
        self.max_depth, self.max_width, self.capacity = max_depth, max_width, capacity
        seed = settings.seed if seed is None else seed
        self.generator = torch.Generator(device=self.device)   # the epochs' permutations
        self.generator.manual_seed(seed)
        self.dropout_generator = torch.Generator(device=self.device)
        self.dropout_generator.manual_seed(seed + 1_000_003)
        dev = self.device
        self.x_train = torch.tensor(data.x_train, dtype=torch.float32, device=dev)
        self.y_train = torch.tensor(data.y_train, dtype=torch.long, device=dev)
        self.x_val = torch.tensor(data.x_val, dtype=torch.float32, device=dev)
        y_val = np.asarray(data.y_val, dtype=np.int64)
        self.y_val = torch.tensor(y_val, device=dev)
        self.n_inputs, self.n_classes = self.x_train.shape[1], 5
        n_eval = min(settings.train_eval_jets, len(self.x_train))
        self.x_train_eval, self.y_train_eval = self.x_train[:n_eval], self.y_train[:n_eval]
        self._val_counts = np.bincount(y_val, minlength=self.n_classes).tolist()
        widths = [self.n_inputs] + [max_width] * max_depth + [self.n_classes]
        self._shapes = list(zip(widths[1:], widths[:-1]))   # (out, in) of each Linear
        self._row = sum(o * i + o for o, i in self._shapes)  # numbers per model
        size = capacity * self._row
        self._param = torch.zeros(size, device=dev)
        self._exp_avg = torch.zeros(size, device=dev)
        self._exp_avg_sq = torch.zeros(size, device=dev)
        self._live = torch.zeros(size, dtype=torch.bool, device=dev)  # unpadded entries
        self._gate = torch.zeros(capacity, max_depth, max_width, device=dev)
        self._slots: dict[int, _Slot] = {}

    # ------------------------------------------------------------------ slots

    @property
    def occupied(self) -> list[int]:
        """The slots holding a model, in order."""
        return sorted(self._slots)

    def epoch(self, slot: int) -> int:
        """Epochs this slot's model has trained."""
        return self._slot(slot).epoch

    def add(self, params: dict[str, Any], seed: int) -> int:
        """Put a new model in a free slot, initialised exactly as ``build_mlp(arch)`` after
        ``torch.manual_seed(seed)`` (as ``Trainer`` does); returns the slot. The global RNG is
        left as it was."""
        arch = arch_from_params(params, n_inputs=self.n_inputs, n_classes=self.n_classes)
        hp = Hyperparams(lr=float(params["lr"]), l1=float(params.get("l1", 0.0)),
                         l2=float(params.get("l2", 0.0)))
        self._check_arch(arch, hp)
        free = [s for s in range(self.capacity) if s not in self._slots]
        if not free:
            raise ValueError(f"all {self.capacity} slots are taken; remove() a model or build "
                             f"the PackedTrainer with a larger capacity")
        slot = free[0]
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)   # torch.manual_seed's CPU part
            model = build_mlp(arch)
        self._slots[slot] = _Slot(arch, hp)
        self._clear(slot)
        self._write(slot, model.state_dict())
        self._mark_live(slot)
        return slot

    def remove(self, slot: int) -> None:
        """Free a slot (its model is gone); a later :meth:`add` reuses it."""
        self._slot(slot)
        self._clear(slot)
        del self._slots[slot]

    def state(self, slot: int) -> dict[str, Any]:
        """One model's checkpoint: ``model`` in ``build_mlp``'s ``state_dict`` layout and
        ``optimizer`` in ``torch.optim.Adam``'s (both load into a ``Trainer``'s model and
        optimiser), plus ``epoch``, ``arch`` and ``hp``; tensors on the CPU."""
        s = self._slot(slot)
        model, exp_avg, exp_avg_sq = ({k: v.cpu().clone() for k, v in self._own(slot, t).items()}
                                      for t in (self._param, self._exp_avg, self._exp_avg_sq))
        group = torch.optim.Adam([torch.zeros(1)], lr=s.hp.lr).state_dict()["param_groups"][0]
        if self.device.type == "cuda":
            group["fused"] = True  # as Trainer's optimiser on CUDA
        optimizer = {"state": {j: {"step": torch.tensor(float(s.step)), "exp_avg": exp_avg[k],
                                   "exp_avg_sq": exp_avg_sq[k]} for j, k in enumerate(model)},
                     "param_groups": [{**group, "params": list(range(len(model)))}]}
        return {"model": model, "optimizer": optimizer, "epoch": s.epoch,
                "arch": s.arch.to_dict(), "hp": {"lr": s.hp.lr, "l1": s.hp.l1, "l2": s.hp.l2}}

    def load_state(self, slot: int, state: dict[str, Any]) -> None:
        """Restore a slot (already :meth:`add`-ed with the same architecture) from
        :meth:`state`: weights, Adam moments, step and epoch."""
        s = self._slot(slot)
        expected = {k: tuple(v.shape) for k, v in self._own(slot, self._param).items()}
        got = {k: tuple(v.shape) for k, v in state["model"].items()}
        if got != expected:
            raise ValueError(f"state of slot {slot} does not fit its architecture "
                             f"{s.arch.widths}: expected {expected}, got {got}; add() the "
                             f"model with the checkpoint's params first")
        opt = state["optimizer"]["state"]
        self._clear(slot)
        self._write(slot, state["model"])
        for key, store in (("exp_avg", self._exp_avg), ("exp_avg_sq", self._exp_avg_sq)):
            self._write(slot, {k: opt[j][key] for j, k in enumerate(state["model"])}, store)
        self._mark_live(slot)
        s.step = int(float(opt[0]["step"])) if opt else 0
        s.epoch = int(state.get("epoch", s.epoch))

    # ------------------------------------------------------------------ training

    def train_epoch(self, slots: Sequence[int], perm: torch.Tensor | None = None
                    ) -> dict[int, float]:
        """One pass over the training split for ``slots``, all on one permutation (``perm``, or
        the next one of the trainer's generator); returns each model's mean batch
        cross-entropy (train mode, without penalties) or NaN for a model that diverged.
        One host sync."""
        slots = self._check_slots(slots)
        if not slots:
            return {}
        n, bs, m_count = len(self.x_train), self.settings.batch_size, len(slots)
        if perm is None:
            perm = torch.randperm(n, device=self.device, generator=self.generator)
        elif perm.shape != (n,):
            raise ValueError(f"perm must have shape ({n},) (a permutation of the training "
                             f"jets), got {tuple(perm.shape)}")
        perm = perm.to(self.device)
        cfg = self._config(slots)
        idx = cfg["idx"]
        p, m, v = (self._gather(t, idx) for t in (self._param, self._exp_avg, self._exp_avg_sq))
        dead = ~self._gather(self._live, idx)
        g = torch.zeros_like(p)
        layers = self._layers(p, m_count)
        for (w, b), (gw, gb) in zip(layers, self._layers(g, m_count)):
            w.requires_grad_(True), b.requires_grad_(True)
            w.grad, b.grad = gw, gb
        model_of, is_weight = self._element_maps(m_count)
        hps = [self._slots[s].hp for s in slots]
        l1 = torch.tensor([h.l1 for h in hps], device=self.device)
        l2 = torch.tensor([2 * h.l2 for h in hps], device=self.device)
        penalised = any(h.l1 > 0 or h.l2 > 0 for h in hps)
        l1_e, l2_e = l1[model_of] * is_weight, l2[model_of] * is_weight
        # Adam's bias corrections, per model and step, as torch.optim.Adam computes them
        n_steps = math.ceil(n / bs)
        step = (np.array([self._slots[s].step for s in slots])[None, :]
                + np.arange(1, n_steps + 1)[:, None])
        lr = np.array([h.lr for h in hps])[None, :]
        size = torch.tensor(lr / (1 - BETA1 ** step), dtype=torch.float32, device=self.device)
        bc2 = torch.tensor(np.sqrt(1 - BETA2 ** step), dtype=torch.float32, device=self.device)
        loss_sum = torch.zeros(m_count, device=self.device)
        with torch.enable_grad():
            for k, start in enumerate(range(0, n, bs)):
                rows = perm[start:start + bs]
                ce = _cross_entropy(self._forward(layers, self.x_train[rows], cfg, True),
                                    self.y_train[rows])
                g.zero_()
                ce.sum().backward()
                with torch.no_grad():
                    if penalised:
                        g.addcmul_(l1_e, p.sign()).addcmul_(l2_e, p)
                    g.masked_fill_(dead, 0.0)
                    m.lerp_(g, 1 - BETA1)
                    v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                    denom = v.sqrt().div_(bc2[k][model_of]).add_(EPS)
                    p.addcdiv_(m * size[k][model_of], denom, value=-1.0)
                    loss_sum += ce.detach() * len(rows)
        for t, work in ((self._param, p), (self._exp_avg, m), (self._exp_avg_sq, v)):
            self._scatter(t, idx, work)
        running = (loss_sum / max(n, 1)).cpu().tolist()   # the one host sync of the epoch
        out = {}
        for s, loss in zip(slots, running):
            self._slots[s].step += n_steps
            self._slots[s].epoch += 1
            if not math.isfinite(loss):
                logger.warning("packed slot %d diverged at epoch %d (lr=%.3g)", s,
                               self._slots[s].epoch, self._slots[s].hp.lr)
                loss = float("nan")
            out[s] = loss
        return out

    @torch.no_grad()
    def evaluate(self, slots: Sequence[int]) -> dict[int, dict[str, float]]:
        """Per slot, what ``Trainer.evaluate`` gives: eval-mode ``train_loss`` on the first
        ``train_eval_jets`` training jets, ``val_loss``, ``val_acc``, ``val_auc`` (mean
        one-vs-rest AUC), all NaN for a model whose outputs are not finite."""
        slots = self._check_slots(slots)
        n_max = max(len(self.x_val), len(self.x_train_eval), 1)
        chunk = max(1, EVAL_MODEL_JETS // n_max)
        out: dict[int, dict[str, float]] = {}
        for first in range(0, len(slots), chunk):
            part = slots[first:first + chunk]
            cfg = self._config(part)
            layers = self._layers(self._gather(self._param, cfg["idx"]), len(part))
            p_train = self._predict(layers, self.x_train_eval, cfg)
            p_val = self._predict(layers, self.x_val, cfg)
            ok = torch.isfinite(p_train).all(dim=(1, 2)) & torch.isfinite(p_val).all(dim=(1, 2))
            auc = roc_auc_ovr_batched(p_val, self.y_val, self._val_counts)
            table = torch.stack([
                _nll(p_train, self.y_train_eval).double(), _nll(p_val, self.y_val).double(),
                (p_val.argmax(dim=2) == self.y_val).double().mean(dim=1),
                auc.nanmean(dim=1)], dim=1)
            table = torch.where(ok[:, None], table, float("nan")).cpu().tolist()
            for s, row in zip(part, table):
                out[s] = dict(zip(("train_loss", "val_loss", "val_acc", "val_auc"), row))
        return out

    # ------------------------------------------------------------------ internals

    def _forward(self, layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                 cfg: dict[str, Any], train: bool) -> torch.Tensor:
        """Logits (M, B, classes) of the M models of ``cfg`` for jets ``x`` (B, inputs)."""
        h = x.expand(len(cfg["slots"]), *x.shape)
        for l in range(cfg["depth"]):
            w, b = layers[l]
            a = torch.baddbmm(b.unsqueeze(1), h, w.mT)
            acts = cfg["acts"]
            out = PACKED_ACTIVATIONS[acts[0][0]](a)
            for name, chosen in acts[1:]:
                out = torch.where(chosen, PACKED_ACTIVATIONS[name](a), out)
            gate = cfg["gate"][l]
            if train and cfg["dropout"] is not None:
                p, scale = cfg["dropout"]
                u = torch.rand(out.shape, device=self.device, generator=self.dropout_generator)
                gate = gate * (u >= p) * scale
            out = out * gate
            h = out if l < cfg["min_depth"] else torch.where(cfg["active"][l], out, h)
        w, b = layers[-1]
        return torch.baddbmm(b.unsqueeze(1), h, w.mT)

    def _predict(self, layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                 cfg: dict[str, Any]) -> torch.Tensor:
        rows = max(1, min(self.settings.eval_batch_size,
                          EVAL_ACTIVATIONS // (len(cfg["slots"]) * self.max_width)))
        if len(x) == 0:
            return torch.empty(len(cfg["slots"]), 0, self.n_classes, device=self.device)
        return torch.cat([torch.softmax(self._forward(layers, x[i:i + rows], cfg, False), dim=2)
                          for i in range(0, len(x), rows)], dim=1)

    def _config(self, slots: list[int]) -> dict[str, Any]:
        """What the forward pass needs for these slots, built once per call."""
        dev, infos = self.device, [self._slots[s] for s in slots]
        depths = [len(i.arch.widths) for i in infos]
        idx = torch.tensor(slots, device=dev)
        gate = self._gate.index_select(0, idx)
        depth_t = torch.tensor(depths, device=dev)
        names = sorted({i.arch.activation for i in infos})
        acts = [(name, torch.tensor([i.arch.activation == name for i in infos],
                                    device=dev).view(-1, 1, 1)) for name in names]
        drops = [i.arch.dropout for i in infos]
        dropout = None
        if any(d > 0 for d in drops):
            d = torch.tensor(drops, device=dev).view(-1, 1, 1)
            dropout = (d, 1.0 / (1.0 - d))
        return {"slots": slots, "idx": idx, "depth": max(depths), "min_depth": min(depths),
                "gate": [gate[:, l].unsqueeze(1) for l in range(self.max_depth)],
                "active": [(depth_t > l).view(-1, 1, 1) for l in range(self.max_depth)],
                "acts": acts, "dropout": dropout}

    def _layers(self, flat: torch.Tensor, rows: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight (rows, out, in), bias (rows, out)) views of a layer-major buffer."""
        out, off = [], 0
        for o, i in self._shapes:
            w = flat[off:off + rows * o * i].view(rows, o, i)
            off += rows * o * i
            out.append((w, flat[off:off + rows * o].view(rows, o)))
            off += rows * o
        return out

    def _gather(self, store: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        work = torch.empty(len(idx) * self._row, dtype=store.dtype, device=self.device)
        for src, dst in zip(self._layers(store, self.capacity), self._layers(work, len(idx))):
            for s, d in zip(src, dst):
                torch.index_select(s, 0, idx, out=d)
        return work

    def _scatter(self, store: torch.Tensor, idx: torch.Tensor, work: torch.Tensor) -> None:
        for dst, src in zip(self._layers(store, self.capacity), self._layers(work, len(idx))):
            for d, s in zip(dst, src):
                d.index_copy_(0, idx, s.detach())

    def _element_maps(self, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """For each number of a ``rows``-model buffer: its model, and 1.0 if a weight."""
        models, weights = [], []
        ids = torch.arange(rows, device=self.device).view(rows, 1)
        for o, i in self._shapes:
            for n, is_w in ((o * i, 1.0), (o, 0.0)):
                models.append(ids.expand(rows, n).reshape(-1))
                weights.append(torch.full((rows * n,), is_w, device=self.device))
        return torch.cat(models), torch.cat(weights)

    def _own(self, slot: int, store: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of one model's own (unpadded) numbers in a store, keyed as in
        ``build_mlp(arch).state_dict()``: its hidden layers, then the packed head."""
        arch, layers = self._slots[slot].arch, self._layers(store, self.capacity)
        sizes = [self.n_inputs, *arch.widths, self.n_classes]
        out = {}
        for k, (name, l) in enumerate(zip(_linear_names(arch),
                                          [*range(len(arch.widths)), self.max_depth])):
            out[f"{name}.weight"] = layers[l][0][slot, :sizes[k + 1], :sizes[k]]
            out[f"{name}.bias"] = layers[l][1][slot, :sizes[k + 1]]
        return out

    def _write(self, slot: int, sd: dict[str, torch.Tensor],
               store: torch.Tensor | None = None) -> None:
        for key, view in self._own(slot, self._param if store is None else store).items():
            view.copy_(sd[key])

    def _mark_live(self, slot: int) -> None:
        for l, w in enumerate(self._slots[slot].arch.widths):
            self._gate[slot, l, :w] = 1.0
        for view in self._own(slot, self._live).values():
            view.fill_(True)

    def _clear(self, slot: int) -> None:
        for store in (self._param, self._exp_avg, self._exp_avg_sq, self._live):
            for w, b in self._layers(store, self.capacity):
                w[slot] = 0
                b[slot] = 0
        self._gate[slot] = 0.0

    def _check_arch(self, arch: MLPArch, hp: Hyperparams) -> None:
        depth = len(arch.widths)
        if arch.batch_norm:
            raise ValueError("batch_norm is True, but PackedTrainer does not support batch "
                             "norm; train this configuration with trainables.loop.Trainer")
        if arch.activation not in PACKED_ACTIVATIONS:
            raise ValueError(f"activation is {arch.activation!r}, but PackedTrainer supports "
                             f"{', '.join(PACKED_ACTIVATIONS)}; use trainables.loop.Trainer")
        if not 1 <= depth <= self.max_depth:
            raise ValueError(f"depth is {depth}, but must be 1..{self.max_depth} (max_depth); "
                             f"build the PackedTrainer with max_depth >= {max(depth, 1)}")
        if max(arch.widths) > self.max_width:
            raise ValueError(f"widths {list(arch.widths)} exceed max_width {self.max_width}; "
                             f"build the PackedTrainer with max_width >= {max(arch.widths)}")
        if not (math.isfinite(hp.lr) and hp.lr > 0) or hp.l1 < 0 or hp.l2 < 0:
            raise ValueError(f"lr must be > 0 and l1, l2 >= 0, got {hp}")
        if not 0 <= arch.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {arch.dropout}")

    def _check_slots(self, slots: Sequence[int]) -> list[int]:
        slots = [int(s) for s in slots]
        if len(set(slots)) != len(slots):
            raise ValueError(f"slots must be distinct, got {slots}")
        for s in slots:
            self._slot(s)
        return slots

    def _slot(self, slot: int) -> _Slot:
        if slot not in self._slots:
            raise ValueError(f"slot {slot} holds no model; occupied slots: {self.occupied}")
        return self._slots[slot]


def _linear_names(arch: MLPArch) -> list[str]:
    """The ``state_dict`` prefixes of ``build_mlp(arch)``'s Linear layers, in order."""
    with torch.device("meta"):
        model = build_mlp(arch)
    return [name for name, module in model.named_children() if isinstance(module, nn.Linear)]


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per model (M,) of logits (M, B, C) against labels (B,)."""
    logp = torch.log_softmax(logits, dim=2)
    return -logp.gather(2, y.view(1, -1, 1).expand(len(logits), -1, 1)).squeeze(2).mean(dim=1)


def _nll(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``Trainer.evaluate``'s loss: mean ``-log(max(p_true, 1e-12))`` per model."""
    p = probs.gather(2, y.view(1, -1, 1).expand(len(probs), -1, 1)).squeeze(2)
    return -torch.log(p.clamp_min(1e-12)).mean(dim=1)
