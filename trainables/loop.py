"""The training loop of one trial, in plain torch (Ray-free, so it is testable on its own).

Design choices, all for throughput on tiny models where overheads dominate:

* the training and validation tensors are moved to the trial's device once; batches are index
  slices of a permutation drawn on that device (no per-sample DataLoader);
* losses are accumulated on the device and read back once per epoch (no host sync per step);
* ``train_loss`` is measured in **eval mode** on the whole training split (or a fixed subset
  of ``train_eval_jets``), so dropout does not make the training loss look worse than the
  validation loss (a fake inverted gap); ``train_loss_se`` and ``val_loss_se`` are the
  standard errors of those means (per-jet spread / sqrt(n)), so a gap can be judged against
  its noise;
* the objective is cross-entropy + ``l1 * sum|W|`` + ``l2 * sum W^2`` over the linear layers'
  weights (biases and batch-norm parameters are not penalised), as in the hls4ml tutorial.

``fit`` drives epochs and hands each epoch's metrics, a resumable state when one is due and
the best epoch's weights when they improve to a ``report`` callback; its
:class:`~jetstudy.trainables.bookkeeping.EpochBook` decides those (as the pack's does), and stops the
trial when ``patience`` runs out. :mod:`jetstudy.trainables.trial` plugs Ray Tune into that callback.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from jetstudy.trainables.bookkeeping import EpochBook, TrialDiverged, divergence, epoch_record
from jetstudy.trainables.metrics_torch import roc_auc_ovr_batched
from jetstudy.trainables.model import MLPArch, build_mlp, count_flops, count_params, weight_matrices
from jetstudy.trainables.objective import Objective

__all__ = ["TrialData", "TrainSettings", "Hyperparams", "hyperparams_from_params", "Trainer",
           "fit", "is_better", "TrialDiverged", "Report",
           "arch_from_params", "predict_proba", "loss_mean_se", "epoch_book"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialData:
    """What every trial trains on: standardised train and validation splits (never the test
    split). Shipped once to Ray's object store and shared by all trials on a node."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclass(frozen=True)
class TrainSettings:
    """Study-wide training settings (the same for every trial).

    No field has a default: :func:`jetstudy.study.settings.train_settings` builds them from the
    validated config, whose fields carry the defaults and their reasons (one source).
    """

    max_epochs: int                   # scheduler.max_epochs
    batch_size: int                   # training.batch_size
    optimizer: str                    # training.optimizer
    train_eval_jets: int | None       # None: the eval-mode train_loss uses every training jet
    checkpoint_every: int             # epochs between resumable states
    metric: str                       # search.metric
    mode: str                         # its direction, "min" or "max"
    patience: int | None              # stop after this many epochs without improvement
    seed: int                         # search.seed
    device: str                       # training.device
    torch_threads: int                # training.torch_threads
    state_dir: str                    # where each trial keeps its resumable state
    matmul_precision: str             # training.matmul_precision (trainables.device)
    #: not a setting: large, since evaluation keeps no gradients
    eval_batch_size: ClassVar[int] = 65_536

    @property
    def objective(self) -> Objective:
        """The search metric and its direction: what "best epoch" means."""
        return Objective(self.metric, self.mode)

    def n_train_eval(self, n_train: int) -> int:
        """Training jets on which the eval-mode ``train_loss`` is measured."""
        cap = self.train_eval_jets
        return n_train if cap is None else min(int(cap), n_train)


@dataclass(frozen=True)
class Hyperparams:
    """The optimiser's knobs for one trial."""

    lr: float = 1e-3
    l1: float = 0.0
    l2: float = 0.0


def arch_from_params(params: dict[str, Any], n_inputs: int = 16, n_classes: int = 5) -> MLPArch:
    """Turn a trial's config (``depth``, ``width_0``.., ``dropout``, ``activation``,
    ``batch_norm``) into an :class:`MLPArch`."""
    depth = int(params["depth"])
    return MLPArch(
        n_inputs=n_inputs,
        widths=tuple(int(params[f"width_{i}"]) for i in range(depth)),
        n_classes=n_classes,
        activation=str(params.get("activation", "relu")),
        dropout=float(params.get("dropout", 0.0)),
        batch_norm=bool(params.get("batch_norm", False)),
    )


def hyperparams_from_params(params: dict[str, Any]) -> Hyperparams:
    """A trial config's optimiser knobs: ``lr``, and ``l1``, ``l2`` (0 when absent)."""
    return Hyperparams(lr=float(params["lr"]), l1=float(params.get("l1", 0.0)),
                       l2=float(params.get("l2", 0.0)))


def _optimizer(name: str, params: Any, lr: float, device: torch.device) -> torch.optim.Optimizer:
    # on CUDA the fused kernels update all parameters in one launch (tiny models are launch-bound)
    fused = {"fused": True} if device.type == "cuda" else {}
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, **fused)
    if name == "adamw":
        # weight decay is the explicit L2 term already; AdamW's own decay stays off
        return torch.optim.AdamW(params, lr=lr, weight_decay=0.0, **fused)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


@torch.no_grad()
def predict_proba(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 65_536) -> torch.Tensor:
    """Class probabilities (N, C) in eval mode, computed in large batches."""
    model.eval()
    return torch.cat([torch.softmax(model(x[i:i + batch_size]), dim=1)
                      for i in range(0, len(x), batch_size)]) if len(x) else torch.empty(0)


class Trainer:
    """One model, its optimiser and its data on one device; one call per epoch."""

    def __init__(self, arch: MLPArch, hp: Hyperparams, settings: TrainSettings,
                 data: TrialData, device: torch.device, seed: int) -> None:
        self.arch, self.hp, self.settings, self.device = arch, hp, settings, device
        torch.manual_seed(seed)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        self.model = build_mlp(arch).to(device)
        self.optimizer = _optimizer(settings.optimizer, self.model.parameters(), hp.lr, device)
        # torch.tensor copies: the arrays may be read-only views into Ray's object store
        self.x_train = torch.tensor(data.x_train, dtype=torch.float32, device=device)
        self.y_train = torch.tensor(data.y_train, dtype=torch.long, device=device)
        self.x_val = torch.tensor(data.x_val, dtype=torch.float32, device=device)
        y_val = np.asarray(data.y_val, dtype=np.int64)
        self._val_counts = np.bincount(y_val, minlength=arch.n_classes).tolist()
        self.y_val = torch.tensor(y_val, device=device)
        n_eval = settings.n_train_eval(len(self.x_train))
        # the splits are already shuffled, so the first jets are a fixed random subset
        self.x_train_eval, self.y_train_eval = self.x_train[:n_eval], self.y_train[:n_eval]
        self.epoch = 0
        self.n_params = count_params(arch)
        self.flops = count_flops(arch)

    def _penalty(self) -> torch.Tensor:
        total = torch.zeros((), device=self.device)
        for w in weight_matrices(self.model):
            if self.hp.l1 > 0:
                total = total + self.hp.l1 * w.abs().sum()
            if self.hp.l2 > 0:
                total = total + self.hp.l2 * w.square().sum()
        return total

    def train_epoch(self) -> float:
        """One pass over the training split; returns the mean batch cross-entropy (train mode,
        without penalties). Raises :class:`TrialDiverged` on a non-finite loss."""
        self.model.train()
        n = len(self.x_train)
        perm = torch.randperm(n, device=self.device, generator=self.generator)
        loss_sum = torch.zeros((), device=self.device)
        bs = self.settings.batch_size
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            if len(idx) < 2 and self.arch.batch_norm:
                continue  # batch norm cannot train on a single jet
            ce = F.cross_entropy(self.model(self.x_train[idx]), self.y_train[idx])
            loss = ce + self._penalty()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            loss_sum += ce.detach() * len(idx)
        self.epoch += 1
        running = float(loss_sum.item()) / max(n, 1)  # the one host sync of the epoch
        if not math.isfinite(running):
            raise TrialDiverged(f"training loss became {running} at epoch {self.epoch} "
                                f"(lr={self.hp.lr:.3g}, l1={self.hp.l1:.3g}, "
                                f"l2={self.hp.l2:.3g}); lower the learning rate range")
        return running

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Eval-mode ``train_loss`` (training split, or its first ``train_eval_jets``) and
        validation metrics, each loss with its standard error; computed on the device and
        read back in one transfer."""
        bs = self.settings.eval_batch_size
        p_train = predict_proba(self.model, self.x_train_eval, bs)
        p_val = predict_proba(self.model, self.x_val, bs)
        train_loss, train_se = loss_mean_se(_per_jet_nll(p_train, self.y_train_eval))
        val_loss, val_se = loss_mean_se(_per_jet_nll(p_val, self.y_val))
        val_acc = (p_val.argmax(dim=1) == self.y_val).double().mean()
        auc = roc_auc_ovr_batched(p_val[None], self.y_val, self._val_counts)[0]
        auc_macro = auc[~auc.isnan()].mean()  # NaN only for a class absent from validation
        values = torch.stack([train_loss, val_loss, val_acc, auc_macro, train_se, val_se])
        train, val, acc, macro, train_se_, val_se_ = values.cpu().tolist()
        return {"train_loss": train, "val_loss": val, "val_acc": acc, "val_auc": macro,
                "train_loss_se": train_se_, "val_loss_se": val_se_}

    def state_dict(self) -> dict[str, Any]:
        # the global RNG drives dropout masks; saving it makes a resumed trial bit-identical
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "epoch": self.epoch, "generator": self.generator.get_state(),
                "torch_rng": torch.get_rng_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        if "generator" in state:  # a packed trainer's checkpoint has no RNG of its own
            self.generator.set_state(state["generator"].cpu())
            torch.set_rng_state(state["torch_rng"].cpu())


def _per_jet_nll(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``-log(max(p_true, 1e-12))`` per jet, in float64 (the mean is the log loss)."""
    return -torch.log(probs.gather(1, y.view(-1, 1)).squeeze(1).clamp_min(1e-12)).double()


def loss_mean_se(per_jet: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of per-jet losses over the last dimension and its standard error
    (sample std / sqrt(n); NaN for fewer than two jets), as device tensors."""
    n = per_jet.shape[-1]
    mean = per_jet.mean(dim=-1)
    if n < 2:
        return mean, torch.full_like(mean, math.nan)
    return mean, per_jet.std(dim=-1) / math.sqrt(n)


def is_better(value: float, best: float | None, mode: str) -> bool:
    """``value`` beats ``best`` (``min`` or ``max``): :meth:`Objective.better`."""
    return Objective("metric", mode).better(value, best)


def epoch_book(settings: TrainSettings) -> EpochBook:
    """A fresh trial's :class:`EpochBook` under the study's settings."""
    return EpochBook(settings.objective, max_epochs=settings.max_epochs,
                     checkpoint_every=settings.checkpoint_every, patience=settings.patience)


#: ``report(metrics, state, best)`` after each epoch: ``state`` the resumable state when one is
#: due, else None; ``best`` the best epoch's record (``epoch``, ``value``, ``model`` on the
#: CPU) when this epoch improved it, else None.
Report = Callable[[dict[str, Any], "dict[str, Any] | None", "dict[str, Any] | None"], None]


def fit(trainer: Trainer, report: Report, resume_state: dict[str, Any] | None = None) -> None:
    """Train until ``max_epochs`` (or convergence), calling ``report(metrics, state, best)``
    after each epoch (see :data:`Report`).

    ``state`` (every ``checkpoint_every`` epochs, at the last epoch and when the trial
    converges) holds everything to resume (model, optimiser, RNG, epoch) plus the best epoch;
    ``best`` comes whenever the best epoch improves, whatever ``checkpoint_every`` says, so
    the weights the study evaluates on the test split always exist. With ``patience``, the
    trial stops once the search metric has not improved for that many epochs and its last
    metrics carry ``"converged": True``. ``resume_state`` continues from a state.
    """
    s = trainer.settings
    book = epoch_book(s)
    elapsed = 0.0
    if resume_state is not None:
        trainer.load_state_dict(resume_state["trainer"])
        book.restore(resume_state["best"])
        elapsed = float(resume_state.get("elapsed_s", 0.0))
        logger.info("resuming at epoch %d", trainer.epoch)
        if resume_state.get("last_metrics", {}).get("converged"):
            return  # it had stopped by its patience
    start = time.perf_counter() - elapsed
    while trainer.epoch < s.max_epochs:
        running = trainer.train_epoch()
        evaluated = trainer.evaluate()
        metrics = epoch_record(trainer.epoch, running, evaluated, trainer.n_params,
                               trainer.flops, time.perf_counter() - start)
        diverged = divergence(metrics, trainer.hp.lr, trainer.hp.l1, trainer.hp.l2)
        if diverged:  # before the report: a NaN never reaches the scheduler
            raise TrialDiverged(diverged)
        verdict = book.close(metrics)
        new_best = None
        if verdict.improved:
            new_best = book.keep_best({k: v.detach().cpu().clone()
                                       for k, v in trainer.model.state_dict().items()})
        state = None
        if verdict.checkpoint:
            state = {"trainer": trainer.state_dict(), "best": book.best,
                     "arch": trainer.arch.to_dict(), "elapsed_s": metrics["time_s"]}
        report(metrics, state, new_best)
        if verdict.converged:
            logger.info("converged at epoch %d: no better %s for %d epochs (best epoch %d)",
                        trainer.epoch, s.metric, s.patience, book.best_epoch)
            break
