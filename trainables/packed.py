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
contiguous; :mod:`~jetstudy.trainables.packed_layout`), so Adam
(:mod:`~jetstudy.trainables.packed_adam`) and the penalties are a dozen element-wise kernels
per step at any depth; the step itself (:mod:`~jetstudy.trainables.packed_step`) is what
``graphs=True`` replays as a CUDA graph (:mod:`~jetstudy.trainables.packed_graph`).
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
from typing import Any, Sequence

import numpy as np
import torch

from jetstudy.trainables.loop import (Hyperparams, TrainSettings, TrialData, arch_from_params,
                                      hyperparams_from_params)
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.pack_groups import call_cost, choose_groups, split_even
from jetstudy.trainables.packed_adam import adam_param_group, adam_state_dict
from jetstudy.trainables.packed_eval import EVAL_MODEL_JETS, evaluate_call
from jetstudy.trainables.packed_graph import replay_steps
from jetstudy.trainables.packed_layout import CallLayout, FlatLayout, layer_views
from jetstudy.trainables.packed_step import PACKED_ACTIVATIONS, TrainStep, check_packable

__all__ = ["PackedTrainer", "PACKED_ACTIVATIONS"]

logger = logging.getLogger(__name__)


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
        self._flat = FlatLayout(self.n_inputs, self.n_classes, max_depth, max_width, capacity)
        self._param, self._exp_avg, self._exp_avg_sq = (torch.zeros(self._flat.size, device=dev)
                                                        for _ in range(3))
        self._live = torch.zeros(self._flat.size, dtype=torch.bool, device=dev)  # own numbers
        self._gate = torch.zeros(capacity, max_depth, max_width, device=dev)
        self._slots: dict[int, _Slot] = {}
        self._auto_groups: tuple[Any, list[list[int]]] = (None, [])  # groups(..., "auto")
        #: multiply-add FLOPs computed so far, padding included (2 per multiply-add, the
        #: backward pass twice the forward): against the models' own FLOPs, the padding waste
        self.padded_flops = 0
        # built once here: the first optimiser a process builds imports torch._dynamo (slow)
        self._adam_group = adam_param_group()

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
        check_packable(arch, hp, self.max_depth, self.max_width)
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
        widths = [self._slot(s).arch.widths for s in slots]
        return [[int(slots[i]) for i in part] for part in split_even(widths, count)]

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
        optimizer = adam_state_dict([exp_avg[k] for k in model], [exp_avg_sq[k] for k in model],
                                    s.step, group)
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
        n, call = len(self.x_train), self._call(slots)
        infos = [self._slots[s] for s in slots]
        step = TrainStep(self._flat, call, (self._param, self._exp_avg, self._exp_avg_sq,
                                            self._live),
                         [i.hp for i in infos], [i.step for i in infos], self.x_train,
                         self.y_train, perm, self.settings.batch_size, self.dropout_generator)
        self.padded_flops += 6 * call.rows * n * call.macs_per_jet
        with torch.enable_grad():
            if self.graphs and self.device.type == "cuda" and step.n_full > 1:
                self.graphs = replay_steps(step, step.n_full, self.device,
                                           [self.dropout_generator])
                if step.n_steps > step.n_full:
                    step(step.n_full)  # the last, shorter batch
            else:
                for k in range(step.n_steps):
                    step(k)
        step.scatter(self._flat, self._param, self._exp_avg, self._exp_avg_sq)
        out = dict(zip(slots, (step.loss_sum / max(n, 1)).cpu().tolist()))  # the one sync
        for s, info in zip(slots, infos):
            info.step, info.epoch = info.step + step.n_steps, info.epoch + 1
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
        runs (less padding). One host sync per chunk of models
        (:func:`~jetstudy.trainables.packed_eval.evaluate_call`)."""
        slots = self._check_slots(slots)
        chunk = max(1, EVAL_MODEL_JETS // max(len(self.x_val), len(self.x_train_eval), 1))
        runs = [slots] if groups is None else self.groups(slots, groups)
        out: dict[int, dict[str, float]] = {}
        for part in (run[first:first + chunk] for run in runs
                     for first in range(0, len(run), chunk)):
            call = self._call(part)
            self.padded_flops += (2 * call.rows * (len(self.x_train_eval) + len(self.x_val))
                                  * call.macs_per_jet)
            layers = layer_views(self._flat.gather(self._param, call), call.rows, call.shapes)
            out.update(evaluate_call(layers, call, self.x_train_eval, self.y_train_eval,
                                     self.x_val, self.y_val, self._val_counts,
                                     self.settings.eval_batch_size, self.n_classes))
        return out

    # ------------------------------------------------------------------ internals

    def _call(self, slots: list[int]) -> CallLayout:
        """The layout of a call for these slots (:func:`~jetstudy.trainables.packed_layout.
        call_layout`; with ``trim``, padded to their own depth and widths only)."""
        return self._flat.call(slots, [self._slots[s].arch for s in slots], self._gate,
                               self.trim)

    def _own(self, slot: int, store: torch.Tensor) -> dict[str, torch.Tensor]:
        """Views of one model's own numbers in a store, keyed as its ``state_dict``."""
        return self._flat.own(store, slot, self._slots[slot].arch)

    def _reset(self, slot: int, weights: dict[str, torch.Tensor] | None) -> None:
        """Zero a slot everywhere; with ``weights``, write them and mark its own numbers."""
        for store in (self._param, self._exp_avg, self._exp_avg_sq, self._live):
            self._flat.clear(store, slot)
        self._gate[slot] = 0.0
        if weights is not None:
            for key, view in self._own(slot, self._param).items():
                view.copy_(weights[key])
            for view in self._own(slot, self._live).values():
                view.fill_(True)
            for l, w in enumerate(self._slots[slot].arch.widths):
                self._gate[slot, l, :w] = 1.0

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
