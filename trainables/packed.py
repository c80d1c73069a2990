"""Many small MLPs trained as one batched computation on one device (Ray-free).

On a GPU a jet tagger (16 -> widths -> 5) is bound by per-step overheads, and processes sharing
the card time-slice rather than add up. :class:`PackedTrainer` keeps up to ``capacity`` models
in stacked tensors padded to ``max_depth`` hidden layers of ``max_width`` units and steps them
together: one ``baddbmm`` per layer, one Adam update for all.

* Padded units have zero weights, a zero gate after the activation and masked gradients, so
  they stay exactly zero (adding nothing to ``|W|`` or ``W^2``); hidden layers at index >= a
  model's depth pass the state through, so a depth-2 model padded to depth 4 computes its own
  function; the head reads the last state.
* Learning rate, L1, L2, dropout and Adam step counts are per-model vectors. The loss is the sum
  of the models' mean cross-entropies (gradients stay per model); the penalties' gradients
  ``l1 * sign(W) + 2 * l2 * W`` (those of ``Trainer``'s terms) go to the weights only.
* One permutation per epoch for all models, from a generator seeded with ``seed`` (default
  ``settings.seed``) as ``Trainer(seed=seed)`` draws its own: with dropout 0 a model added to a
  fresh ``PackedTrainer(seed=s)`` by ``add(params, seed=s)`` trains like ``Trainer(..., seed=s)``.
  ``train_epoch`` also takes an explicit ``perm``.
* A diverging model gets NaN in its slot only: models share no parameter and no reduction.

Parameters live layer-major in flat buffers (each layer's ``(models, out, in)`` block is
contiguous), so Adam and the penalties are a dozen element-wise kernels per step at any depth.
With ``trim`` a call pads only to its own slots' deepest model and, layer by layer, their widest
state (rounded up to 8; :func:`~jetstudy.trainables.pack_groups.padded_widths`): callers that
group similar models per call (:meth:`PackedTrainer.groups`, ``"auto"``: the split with the
least padded FLOPs plus per-call cost, :mod:`jetstudy.trainables.pack_groups`) waste less
arithmetic. Batch norm and PReLU are not supported (``add`` raises ``ValueError``; train those
with :class:`~jetstudy.trainables.loop.Trainer`).

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

from jetstudy.trainables.loop import (Hyperparams, TrainSettings, TrialData, arch_from_params,
                             hyperparams_from_params, loss_mean_se)
from jetstudy.trainables.metrics_torch import roc_auc_ovr_batched
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.pack_groups import call_cost, choose_groups, padded_widths
from jetstudy.trainables.packed_graph import replay_steps

__all__ = ["PackedTrainer", "PACKED_ACTIVATIONS"]

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
Layers = list[tuple[torch.Tensor, torch.Tensor]]  # (weight (M, out, in), bias (M, out))
#: What :meth:`PackedTrainer.evaluate` gives per slot, in its table's column order.
_EVAL_KEYS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_loss_se", "val_loss_se")


@dataclass
class _Slot:
    arch: MLPArch
    hp: Hyperparams
    step: int = 0      # Adam steps taken (bias correction is per model)
    epoch: int = 0


class PackedTrainer:
    """Up to ``capacity`` MLPs and their Adam states on one device; one call per epoch."""

    def __init__(self, data: TrialData, settings: TrainSettings, device: torch.device,
                 max_depth: int, max_width: int, capacity: int, seed: int | None = None,
                 trim: bool = True, graphs: bool = False) -> None:
        for name, value in (("max_depth", max_depth), ("max_width", max_width),
                            ("capacity", capacity)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}; e.g. 6, 256, 64")
        if settings.optimizer != "adam":
            raise ValueError(f"PackedTrainer implements Adam only, but settings.optimizer is "
                             f"{settings.optimizer!r}; use trainables.loop.Trainer for it")
        self.settings, self.device, dev = settings, torch.device(device), torch.device(device)
        self.max_depth, self.max_width, self.capacity, self.trim = (max_depth, max_width,
                                                                    capacity, trim)
        self.graphs = graphs  # CUDA: replay each call's step as a CUDA graph (packed_graph)
        seed = settings.seed if seed is None else seed
        self.generator = torch.Generator(device=dev)   # the epochs' permutations
        self.generator.manual_seed(seed)
        self.dropout_generator = torch.Generator(device=dev)
        self.dropout_generator.manual_seed(seed + 1_000_003)
        # torch.tensor copies: the arrays may be read-only views into Ray's object store
        self.x_train = torch.tensor(data.x_train, dtype=torch.float32, device=dev)
        self.y_train = torch.tensor(data.y_train, dtype=torch.long, device=dev)
        self.x_val = torch.tensor(data.x_val, dtype=torch.float32, device=dev)
        y_val = np.asarray(data.y_val, dtype=np.int64)
        self.y_val = torch.tensor(y_val, device=dev)
        self.n_inputs, self.n_classes = self.x_train.shape[1], 5
        n_eval = settings.n_train_eval(len(self.x_train))
        self.x_train_eval, self.y_train_eval = self.x_train[:n_eval], self.y_train[:n_eval]
        self._val_counts = np.bincount(y_val, minlength=self.n_classes).tolist()
        self._full = self._shapes([max_width] * max_depth)
        size = capacity * sum(o * i + o for o, i in self._full)
        self._param, self._exp_avg, self._exp_avg_sq = (torch.zeros(size, device=dev)
                                                        for _ in range(3))
        self._live = torch.zeros(size, dtype=torch.bool, device=dev)  # a model's own numbers
        self._gate = torch.zeros(capacity, max_depth, max_width, device=dev)
        self._slots: dict[int, _Slot] = {}
        self._auto_groups: tuple[Any, list[list[int]]] = (None, [])  # groups(..., "auto")
        #: multiply-add FLOPs computed so far, padding included (2 per multiply-add, the
        #: backward pass twice the forward): against the models' own FLOPs, the padding waste
        self.padded_flops = 0
        # torch.optim.Adam's param group layout for state(); built once here, since the first
        # optimiser a process builds imports torch._dynamo (seconds), which would stall a round
        self._adam_group = torch.optim.Adam([torch.zeros(1)]).state_dict()["param_groups"][0]

    # ------------------------------------------------------------------ slots

    @property
    def occupied(self) -> list[int]:
        """The slots holding a model, in order."""
        return sorted(self._slots)

    def epoch(self, slot: int) -> int:
        """Epochs this slot's model has trained."""
        return self._slot(slot).epoch

    def add(self, params: dict[str, Any], seed: int) -> int:
        """Put a new model in the lowest free slot, initialised exactly as ``build_mlp(arch)``
        after ``torch.manual_seed(seed)`` (as ``Trainer`` does; the global RNG is left as it
        was); ``params`` as :func:`~jetstudy.trainables.loop.arch_from_params` takes, plus ``lr``,
        ``l1``, ``l2``. Returns the slot."""
        arch = arch_from_params(params, n_inputs=self.n_inputs, n_classes=self.n_classes)
        hp = hyperparams_from_params(params)
        self._check_arch(arch, hp)
        free = [s for s in range(self.capacity) if s not in self._slots]
        if not free:
            raise ValueError(f"all {self.capacity} slots are taken; remove() a model or build "
                             f"the PackedTrainer with a larger capacity")
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)   # torch.manual_seed's CPU part
            model = build_mlp(arch)
        self._slots[free[0]] = _Slot(arch, hp)
        self._reset(free[0], model.state_dict())
        return free[0]

    def groups(self, slots: Sequence[int], count: int | str) -> list[list[int]]:
        """``slots`` split into runs of similar models: with ``trim``, one :meth:`train_epoch`
        call per run (sharing the epoch's ``perm``) pads each model less, at the price of more
        kernel launches. ``count`` ``"auto"``: the split with the least padded FLOPs plus
        per-call cost on this device (:func:`~jetstudy.trainables.pack_groups.choose_groups`);
        an integer: at most that many runs of equal size, sorted by widest layer, then depth."""
        if count == "auto":
            if not self.trim:  # every call pads to the full shape: splitting only adds calls
                return [list(slots)] if len(slots) else []
            widths = tuple(tuple(self._slot(s).arch.widths) for s in slots)
            key = (tuple(slots), widths, self.call_cost)
            if self._auto_groups[0] != key:  # a round asks three times (train, eval, stats)
                self._auto_groups = (key, [[int(slots[i]) for i in part] for part in
                                           choose_groups(widths, self.call_cost,
                                                         self.settings.batch_size,
                                                         self.n_inputs, self.n_classes,
                                                         max_width=self.max_width)])
            return [list(part) for part in self._auto_groups[1]]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"groups must be 'auto' or an integer >= 1, got {count!r}")

        def size(slot: int) -> tuple[int, int]:
            widths = self._slot(slot).arch.widths
            return max(widths), len(widths)

        order = sorted(slots, key=size)
        return [[int(s) for s in part] for part in np.array_split(np.array(order, dtype=int),
                                                                  count) if len(part)]

    @property
    def call_cost(self) -> float:
        """One call's fixed cost per step on this device, in FLOP-equivalents
        (:func:`~jetstudy.trainables.pack_groups.call_cost`): lower with CUDA graphs."""
        return call_cost(self.device.type, bool(self.graphs))

    def remove(self, slot: int) -> None:
        """Free a slot (its model is gone); a later :meth:`add` reuses it."""
        self._slot(slot)
        self._reset(slot, None)
        del self._slots[slot]

    def state(self, slot: int) -> dict[str, Any]:
        """One model's checkpoint: ``model`` in ``build_mlp``'s ``state_dict`` layout and
        ``optimizer`` in ``torch.optim.Adam``'s (both load into a ``Trainer``'s model and
        optimiser), plus ``epoch``, ``arch`` and ``hp``; tensors on the CPU."""
        s = self._slot(slot)
        model, exp_avg, exp_avg_sq = ({k: v.cpu().clone() for k, v in self._own(slot, t).items()}
                                      for t in (self._param, self._exp_avg, self._exp_avg_sq))
        group = {**self._adam_group, "lr": s.hp.lr}
        if self.device.type == "cuda":
            group["fused"] = True  # as Trainer's optimiser on CUDA
        optimizer = {"state": {j: {"step": torch.tensor(float(s.step)), "exp_avg": exp_avg[k],
                                   "exp_avg_sq": exp_avg_sq[k]} for j, k in enumerate(model)},
                     "param_groups": [{**group, "params": list(range(len(model)))}]}
        return {"model": model, "optimizer": optimizer, "epoch": s.epoch,
                "arch": s.arch.to_dict(), "hp": {"lr": s.hp.lr, "l1": s.hp.l1, "l2": s.hp.l2}}

    def load_state(self, slot: int, state: dict[str, Any]) -> None:
        """Restore a slot, already :meth:`add`-ed with the same architecture, from
        :meth:`state`: weights, Adam moments, step and epoch."""
        s = self._slot(slot)
        expected = {k: tuple(v.shape) for k, v in self._own(slot, self._param).items()}
        got = {k: tuple(v.shape) for k, v in state["model"].items()}
        if got != expected:
            raise ValueError(f"state of slot {slot} does not fit its architecture "
                             f"{s.arch.widths}: expected {expected}, got {got}; add() the "
                             f"model with the checkpoint's params first")
        opt = state["optimizer"]["state"]
        self._reset(slot, state["model"])
        for key, store in (("exp_avg", self._exp_avg), ("exp_avg_sq", self._exp_avg_sq)):
            for j, view in enumerate(self._own(slot, store).values() if opt else ()):
                view.copy_(opt[j][key])  # an optimiser that never stepped has no moments
        s.step = int(float(opt[0]["step"])) if opt else 0
        s.epoch = int(state.get("epoch", s.epoch))

    # ------------------------------------------------------------------ training

    def train_epoch(self, slots: Sequence[int], perm: torch.Tensor | None = None,
                    groups: int | str | None = None) -> dict[int, float]:
        """One pass over the training split for ``slots``, all on one permutation (``perm``,
        else the next of :attr:`generator`); returns each model's mean batch cross-entropy
        (train mode, without penalties), NaN for a model that diverged. One host sync per
        call: one call for all ``slots``, or with ``groups``, one per :meth:`groups` run."""
        slots = self._check_slots(slots)
        if not slots:
            return {}
        n = len(self.x_train)
        if perm is None:
            perm = torch.randperm(n, device=self.device, generator=self.generator)
        elif perm.shape != (n,):
            raise ValueError(f"perm must be a permutation of the {n} training jets, got shape "
                             f"{tuple(perm.shape)}")
        out: dict[int, float] = {}
        for part in [slots] if groups is None else self.groups(slots, groups):
            out.update(self._train_call(part, perm.to(self.device)))
        return out

    def _train_call(self, slots: list[int], perm: torch.Tensor) -> dict[int, float]:
        """:meth:`train_epoch` for ``slots`` as one batched computation."""
        n, bs, m_count = len(self.x_train), self.settings.batch_size, len(slots)
        cfg = self._config(slots)
        p, m, v = (self._gather(t, cfg) for t in (self._param, self._exp_avg, self._exp_avg_sq))
        dead, g = ~self._gather(self._live, cfg), torch.zeros_like(p)
        layers = self._layers(p, m_count, cfg["shapes"])
        for (w, b), (gw, gb) in zip(layers, self._layers(g, m_count, cfg["shapes"])):
            w.requires_grad_(True), b.requires_grad_(True)
            w.grad, b.grad = gw, gb  # backward accumulates into g in place
        model_of, is_weight = self._element_maps(m_count, cfg["shapes"])
        hps = [self._slots[s].hp for s in slots]
        penalised = any(h.l1 > 0 or h.l2 > 0 for h in hps)
        l1 = torch.tensor([h.l1 for h in hps], device=self.device)[model_of] * is_weight
        l2 = torch.tensor([2 * h.l2 for h in hps], device=self.device)[model_of] * is_weight
        # Adam's step sizes and bias corrections per step and model, in float64 as torch's
        n_steps = math.ceil(n / bs)
        steps = (np.array([self._slots[s].step for s in slots])[None, :]
                 + np.arange(1, n_steps + 1)[:, None])
        size = torch.tensor(np.array([h.lr for h in hps]) / (1 - BETA1 ** steps),
                            dtype=torch.float32, device=self.device)
        bc2 = torch.tensor(np.sqrt(1 - BETA2 ** steps), dtype=torch.float32, device=self.device)
        loss_sum = torch.zeros(m_count, device=self.device)
        self.padded_flops += 6 * m_count * n * sum(o * i for o, i in cfg["shapes"])
        n_full = n // bs
        batches = perm[:n_full * bs].reshape(n_full, bs)

        def step(k: int | torch.Tensor) -> None:
            """Training step k: an int (eager), or a (1,) device tensor (graph replay)."""
            if isinstance(k, int):
                rows, size_k, bc2_k = perm[k * bs:(k + 1) * bs], size[k], bc2[k]
            else:  # read through the device counter: no host value in the graph
                rows = batches.index_select(0, k).view(-1)
                size_k, bc2_k = size.index_select(0, k)[0], bc2.index_select(0, k)[0]
            ce = _cross_entropy(self._forward(layers, self.x_train.index_select(0, rows), cfg,
                                              True), self.y_train.index_select(0, rows))
            g.zero_()
            ce.sum().backward()
            with torch.no_grad():
                if penalised:
                    g.addcmul_(l1, p.sign()).addcmul_(l2, p)
                g.masked_fill_(dead, 0.0)
                m.lerp_(g, 1 - BETA1)
                v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
                denom = v.sqrt().div_(bc2_k[model_of]).add_(EPS)
                p.addcdiv_(m * size_k[model_of], denom, value=-1.0)
                loss_sum.add_(ce.detach() * len(rows))

        with torch.enable_grad():
            if self.graphs and self.device.type == "cuda" and n_full > 1:
                self.graphs = replay_steps(step, n_full, self.device, [self.dropout_generator])
                if n_steps > n_full:
                    step(n_full)  # the last, shorter batch
            else:
                for k in range(n_steps):
                    step(k)
        for store, work in ((self._param, p), (self._exp_avg, m), (self._exp_avg_sq, v)):
            for stored, w in self._pairs(store, cfg, work):
                stored.index_copy_(0, cfg["idx"], w.detach())
        out = dict(zip(slots, (loss_sum / max(n, 1)).cpu().tolist()))  # the epoch's one sync
        for s in slots:
            info = self._slots[s]
            info.step, info.epoch = info.step + n_steps, info.epoch + 1
            if not math.isfinite(out[s]):
                logger.warning("packed slot %d diverged by epoch %d (lr=%.3g)", s, info.epoch,
                               info.hp.lr)
                out[s] = float("nan")
        return out

    @torch.no_grad()
    def evaluate(self, slots: Sequence[int], groups: int | str | None = None
                 ) -> dict[int, dict[str, float]]:
        """Per slot, what ``Trainer.evaluate`` gives: eval-mode ``train_loss`` on the training
        split (or its first ``train_eval_jets``), ``val_loss``, ``val_acc``, ``val_auc`` (mean
        one-vs-rest AUC), ``train_loss_se`` and ``val_loss_se``; all NaN for a model whose
        outputs are not finite. With ``groups``, the models are evaluated in :meth:`groups`
        runs (less padding). One host sync per chunk of models."""
        slots = self._check_slots(slots)
        chunk = max(1, EVAL_MODEL_JETS // max(len(self.x_val), len(self.x_train_eval), 1))
        runs = [slots] if groups is None else self.groups(slots, groups)
        out: dict[int, dict[str, float]] = {}
        for part in (run[first:first + chunk] for run in runs
                     for first in range(0, len(run), chunk)):
            cfg = self._config(part)
            self.padded_flops += (2 * len(part) * (len(self.x_train_eval) + len(self.x_val))
                                  * sum(o * i for o, i in cfg["shapes"]))
            layers = self._layers(self._gather(self._param, cfg), len(part), cfg["shapes"])
            nll_train = self._jet_losses(layers, self.x_train_eval, self.y_train_eval, cfg)
            p_val = self._predict(layers, self.x_val, cfg)
            nll_val = _per_jet_nll(p_val, self.y_val)
            ok = torch.isfinite(nll_train).all(dim=1) & torch.isfinite(p_val).all(dim=(1, 2))
            auc = roc_auc_ovr_batched(p_val, self.y_val, self._val_counts)
            (train, train_se), (val, val_se) = loss_mean_se(nll_train), loss_mean_se(nll_val)
            table = torch.stack([
                train, val, (p_val.argmax(dim=2) == self.y_val).double().mean(dim=1),
                auc.nanmean(dim=1).double(), train_se, val_se], dim=1)
            table = torch.where(ok[:, None], table, float("nan")).cpu().tolist()
            for s, row in zip(part, table):
                out[s] = dict(zip(_EVAL_KEYS, row))
        return out

    # ------------------------------------------------------------------ internals

    def _forward(self, layers: Layers, x: torch.Tensor, cfg: dict[str, Any],
                 train: bool) -> torch.Tensor:
        """Logits (M, B, classes) of the call's M models for jets ``x`` (B, inputs)."""
        h = x.expand(len(cfg["slots"]), *x.shape)
        for l in range(cfg["depth"]):
            w, b = layers[l]
            z = torch.baddbmm(b.unsqueeze(1), h, w.mT)
            (first, _), *others = cfg["acts"]
            out = PACKED_ACTIVATIONS[first](z)
            for name, chosen in others:
                out = torch.where(chosen, PACKED_ACTIVATIONS[name](z), out)
            gate = cfg["gate"][l]
            if train and cfg["dropout"] is not None:  # inverted dropout, a rate per model
                rate, scale = cfg["dropout"]
                u = torch.rand(out.shape, device=self.device, generator=self.dropout_generator)
                gate = gate * (u >= rate) * scale
            out = out * gate
            if l >= cfg["min_depth"]:  # some models have ended: they keep their state
                extra = out.shape[2] - h.shape[2]  # what is cut or added is zero for them
                if extra:
                    h = h[:, :, :out.shape[2]] if extra < 0 else F.pad(h, (0, extra))
                out = torch.where(cfg["active"][l], out, h)
            h = out
        w, b = layers[-1]
        return torch.baddbmm(b.unsqueeze(1), h, w.mT)

    def _eval_rows(self, cfg: dict[str, Any]) -> int:
        return max(1, min(self.settings.eval_batch_size,
                          EVAL_ACTIVATIONS // (len(cfg["slots"]) * cfg["width"])))

    def _predict(self, layers: Layers, x: torch.Tensor, cfg: dict[str, Any]) -> torch.Tensor:
        rows = self._eval_rows(cfg)
        if len(x) == 0:
            return torch.empty(len(cfg["slots"]), 0, self.n_classes, device=self.device)
        return torch.cat([torch.softmax(self._forward(layers, x[i:i + rows], cfg, False), dim=2)
                          for i in range(0, len(x), rows)], dim=1)

    def _jet_losses(self, layers: Layers, x: torch.Tensor, y: torch.Tensor,
                     cfg: dict[str, Any]) -> torch.Tensor:
        """Per model and jet (M, N) eval-mode loss, float64, without keeping (M, N, C)
        probabilities (the training split can be large)."""
        rows = self._eval_rows(cfg)
        if len(x) == 0:
            return torch.empty(len(cfg["slots"]), 0, dtype=torch.float64, device=self.device)
        return torch.cat([_per_jet_nll(torch.softmax(self._forward(layers, x[i:i + rows], cfg,
                                                                   False), dim=2), y[i:i + rows])
                          for i in range(0, len(x), rows)], dim=1)

    def _config(self, slots: list[int]) -> dict[str, Any]:
        """What a call needs for these slots: with ``trim``, the working copy is padded only
        to their deepest model and per layer to their widest state (rounded up to 8)."""
        dev, infos = self.device, [self._slots[s] for s in slots]
        depths = [len(i.arch.widths) for i in infos]
        depth, widths = self.max_depth, [self.max_width] * self.max_depth
        if self.trim:  # layer l's width: the widest state any model has there (a finished
            depth = max(depths)  # model carries its last width through the identity layers)
            widths = padded_widths([i.arch.widths for i in infos], max_width=self.max_width)
        idx = torch.tensor(slots, device=dev)
        gate = self._gate.index_select(0, idx)
        depth_t = torch.tensor(depths, device=dev)
        acts = [(name, torch.tensor([i.arch.activation == name for i in infos],
                                    device=dev).view(-1, 1, 1))
                for name in sorted({i.arch.activation for i in infos})]
        dropout = None
        if any(i.arch.dropout > 0 for i in infos):
            rate = torch.tensor([i.arch.dropout for i in infos], device=dev).view(-1, 1, 1)
            dropout = (rate, 1.0 / (1.0 - rate))
        return {"slots": slots, "idx": idx, "depth": depth, "min_depth": min(depths),
                "width": max(widths), "shapes": self._shapes(widths[:depth]),
                "layer_map": [*range(depth), self.max_depth],  # working layer -> stored layer
                "gate": [gate[:, l, :widths[l]].unsqueeze(1) for l in range(depth)],
                "active": [(depth_t > l).view(-1, 1, 1) for l in range(depth)],
                "acts": acts, "dropout": dropout}

    def _shapes(self, widths: list[int]) -> list[tuple[int, int]]:
        """(out, in) of each Linear of a pack with these hidden widths, the head last."""
        sizes = [self.n_inputs, *widths, self.n_classes]
        return list(zip(sizes[1:], sizes[:-1]))

    def _layers(self, flat: torch.Tensor, rows: int,
                shapes: list[tuple[int, int]] | None = None) -> Layers:
        """(weight (rows, out, in), bias (rows, out)) views of a layer-major buffer."""
        out, off = [], 0
        for o, i in self._full if shapes is None else shapes:
            w = flat[off:off + rows * o * i].view(rows, o, i)
            off += rows * o * i
            out.append((w, flat[off:off + rows * o].view(rows, o)))
            off += rows * o
        return out

    def _pairs(self, store: torch.Tensor, cfg: dict[str, Any], work: torch.Tensor
               ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(view of the store's numbers for the working layout, working tensor) pairs."""
        full, shapes = self._layers(store, self.capacity), cfg["shapes"]
        pairs = []
        for stored, (w, b), (o, i) in zip(cfg["layer_map"],
                                          self._layers(work, len(cfg["slots"]), shapes), shapes):
            pairs += [(full[stored][0][:, :o, :i], w), (full[stored][1][:, :o], b)]
        return pairs

    def _gather(self, store: torch.Tensor, cfg: dict[str, Any]) -> torch.Tensor:
        """A working copy of the call's slots' rows of a store, in the call's layout."""
        size = len(cfg["slots"]) * sum(o * i + o for o, i in cfg["shapes"])
        work = torch.empty(size, dtype=store.dtype, device=self.device)
        for stored, w in self._pairs(store, cfg, work):
            torch.index_select(stored, 0, cfg["idx"], out=w)
        return work

    def _element_maps(self, rows: int, shapes: list[tuple[int, int]]
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """For each number of a ``rows``-model buffer: its model, and 1.0 if a weight."""
        models, weights = [], []
        ids = torch.arange(rows, device=self.device).view(rows, 1)
        for o, i in shapes:
            for n, is_w in ((o * i, 1.0), (o, 0.0)):
                models.append(ids.expand(rows, n).reshape(-1))
                weights.append(torch.full((rows * n,), is_w, device=self.device))
        return torch.cat(models), torch.cat(weights)

    def _own(self, slot: int, store: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of one model's own numbers in a store, keyed as ``build_mlp``'s
        ``state_dict``: its hidden layers, then the packed head."""
        arch, layers = self._slots[slot].arch, self._layers(store, self.capacity)
        sizes, out = [self.n_inputs, *arch.widths, self.n_classes], {}
        for k, (name, l) in enumerate(zip(_linear_names(arch),
                                          [*range(len(arch.widths)), self.max_depth])):
            out[f"{name}.weight"] = layers[l][0][slot, :sizes[k + 1], :sizes[k]]
            out[f"{name}.bias"] = layers[l][1][slot, :sizes[k + 1]]
        return out

    def _reset(self, slot: int, weights: dict[str, torch.Tensor] | None) -> None:
        """Zero a slot everywhere; with ``weights``, write them and mark its own numbers."""
        for store in (self._param, self._exp_avg, self._exp_avg_sq, self._live):
            for w, b in self._layers(store, self.capacity):
                w[slot], b[slot] = 0, 0
        self._gate[slot] = 0.0
        if weights is not None:
            for key, view in self._own(slot, self._param).items():
                view.copy_(weights[key])
            for view in self._own(slot, self._live).values():
                view.fill_(True)
            for l, w in enumerate(self._slots[slot].arch.widths):
                self._gate[slot, l, :w] = 1.0

    def _check_arch(self, arch: MLPArch, hp: Hyperparams) -> None:
        depth, widest = len(arch.widths), max(arch.widths, default=0)
        use_trainer = "; train this configuration with trainables.loop.Trainer"
        problems = [
            (arch.batch_norm, "batch_norm is True, but PackedTrainer does not support batch "
                              "norm" + use_trainer),
            (arch.activation not in PACKED_ACTIVATIONS,
             f"activation is {arch.activation!r}, but PackedTrainer supports "
             f"{', '.join(PACKED_ACTIVATIONS)}" + use_trainer),
            (not 1 <= depth <= self.max_depth, f"depth is {depth}, but must be "
             f"1..{self.max_depth} (max_depth); build the PackedTrainer with a larger max_depth"),
            (widest > self.max_width, f"widths {list(arch.widths)} exceed max_width "
             f"{self.max_width}; build the PackedTrainer with max_width >= {widest}"),
            (not (math.isfinite(hp.lr) and hp.lr > 0) or hp.l1 < 0 or hp.l2 < 0,
             f"lr must be > 0 and l1, l2 >= 0, got {hp}; fix the trial's config"),
            (not 0 <= arch.dropout < 1,
             f"dropout must be in [0, 1), got {arch.dropout}; fix the trial's config"),
        ]
        for bad, message in problems:
            if bad:
                raise ValueError(message)

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


def _per_jet_nll(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``Trainer.evaluate``'s per-jet loss ``-log(max(p_true, 1e-12))`` (M, B), float64, of
    probabilities (M, B, C)."""
    p = probs.gather(2, y.view(1, -1, 1).expand(len(probs), -1, 1)).squeeze(2)
    return -torch.log(p.clamp_min(1e-12)).double()
