"""Evaluating a call's packed models: ``Trainer.evaluate``'s metrics for many models at once.

:func:`evaluate_call` gives, per model of a call, eval-mode ``train_loss`` on the given
training jets, ``val_loss``, ``val_acc``, ``val_auc`` (mean one-vs-rest AUC),
``train_loss_se`` and ``val_loss_se`` (:data:`EVAL_KEYS`), NaN for a model whose outputs are
not finite, with one host sync. Jets go through in chunks of rows that bound the activations
(``models x rows x width`` <= :data:`EVAL_ACTIVATIONS`).
"""

from __future__ import annotations

import torch

from jetstudy.trainables.loop import loss_mean_se
from jetstudy.trainables.metrics_torch import roc_auc_ovr_batched
from jetstudy.trainables.packed_layout import CallLayout, Layers
from jetstudy.trainables.packed_step import forward, per_jet_nll

__all__ = ["EVAL_KEYS", "EVAL_MODEL_JETS", "EVAL_ACTIVATIONS", "evaluate_call", "eval_rows"]

#: Evaluation budgets in elements: models x jets per chunk of models, models x rows x width
#: per forward chunk (bounds memory at ~1 GB whatever the number of models).
EVAL_MODEL_JETS, EVAL_ACTIVATIONS = 2**24, 2**25
#: What :func:`evaluate_call` gives per model, in its table's column order.
EVAL_KEYS = ("train_loss", "val_loss", "val_acc", "val_auc", "train_loss_se", "val_loss_se")


def eval_rows(call: CallLayout, eval_batch_size: int) -> int:
    """Jets per forward chunk for this call."""
    return max(1, min(eval_batch_size, EVAL_ACTIVATIONS // (call.rows * call.width)))


def _predict(layers: Layers, x: torch.Tensor, call: CallLayout, rows: int,
             n_classes: int) -> torch.Tensor:
    """Class probabilities (M, N, C), eval mode."""
    if len(x) == 0:
        return torch.empty(call.rows, 0, n_classes, device=x.device)
    return torch.cat([torch.softmax(forward(layers, x[i:i + rows], call, False, None), dim=2)
                      for i in range(0, len(x), rows)], dim=1)


def _jet_losses(layers: Layers, x: torch.Tensor, y: torch.Tensor, call: CallLayout,
                rows: int) -> torch.Tensor:
    """Per model and jet (M, N) eval-mode loss, float64, without keeping (M, N, C)
    probabilities (the training split can be large)."""
    if len(x) == 0:
        return torch.empty(call.rows, 0, dtype=torch.float64, device=x.device)
    return torch.cat([per_jet_nll(torch.softmax(forward(layers, x[i:i + rows], call, False,
                                                        None), dim=2), y[i:i + rows])
                      for i in range(0, len(x), rows)], dim=1)


@torch.no_grad()
def evaluate_call(layers: Layers, call: CallLayout, x_train: torch.Tensor,
                  y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
                  val_counts: list[int], eval_batch_size: int, n_classes: int
                  ) -> dict[int, dict[str, float]]:
    """Per slot of ``call`` (its models' weights ``layers``), the metrics of
    :data:`EVAL_KEYS`; ``val_counts``: jets per class in the validation split."""
    rows = eval_rows(call, eval_batch_size)
    nll_train = _jet_losses(layers, x_train, y_train, call, rows)
    p_val = _predict(layers, x_val, call, rows, n_classes)
    nll_val = per_jet_nll(p_val, y_val)
    ok = torch.isfinite(nll_train).all(dim=1) & torch.isfinite(p_val).all(dim=(1, 2))
    auc = roc_auc_ovr_batched(p_val, y_val, val_counts)
    (train, train_se), (val, val_se) = loss_mean_se(nll_train), loss_mean_se(nll_val)
    table = torch.stack([
        train, val, (p_val.argmax(dim=2) == y_val).double().mean(dim=1),
        auc.nanmean(dim=1).double(), train_se, val_se], dim=1)
    table = torch.where(ok[:, None], table, float("nan")).cpu().tolist()  # the one sync
    return {s: dict(zip(EVAL_KEYS, row)) for s, row in zip(call.slots, table)}
