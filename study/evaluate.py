"""The one look at the test split: the best trial's best epoch, evaluated once.

Every trial keeps the weights of its best epoch in ``trials/<id>/best.pt``, rewritten whenever
that epoch improves (whatever ``training.checkpoint_every`` says), so the best model is
reloaded, not retrained, and it is exactly the epoch the trials table names as ``best_epoch``:
if the file holds another epoch, :class:`BestEpochMismatch` says so instead of evaluating it.
On synthetic data the Bayes-optimal posterior is evaluated on the same test jets, giving the
best accuracy and AUC any tagger could reach.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from study.tables import write_atomic, write_json, write_parquet
from trainables.checkpoint import load_checkpoint
from trainables.data import JetSplits
from trainables.loop import predict_proba
from trainables.metrics import accuracy, log_loss, roc_auc_ovr
from trainables.model import MLPArch, build_mlp
from trainables.schema import CLASSES
from trainables.synth import bayes_posterior
from trainables.trialfiles import BEST_FILE

__all__ = ["classification_metrics", "load_best_model", "evaluate_best", "BestEpochMismatch"]

logger = logging.getLogger(__name__)


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, log loss, per-class one-vs-rest AUC and their macro mean."""
    auc = roc_auc_ovr(labels, probs)
    return {"accuracy": accuracy(labels, probs), "log_loss": log_loss(labels, probs),
            "auc_macro": float(np.nanmean(auc)),
            "auc": {c: float(a) for c, a in zip(CLASSES, auc)}}


class BestEpochMismatch(RuntimeError):
    """The trial's saved best weights are not of the epoch the trials table names."""


def _best_record(state_file: Path) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(weights, arch, epoch) of the trial's best epoch: ``best.pt`` beside the state file,
    else (a study from before ``best.pt``) the state's own ``best``."""
    best_file = state_file.with_name(BEST_FILE)
    if best_file.is_file():
        record = load_checkpoint(best_file)
        return record["model"], record["arch"], int(record["epoch"])
    if not state_file.is_file():
        raise BestEpochMismatch(f"trial folder {state_file.parent} has neither {BEST_FILE} "
                                f"nor {state_file.name}: the trial saved no weights")
    state = load_checkpoint(state_file)
    best = state["best"]
    if best.get("model") is None:
        raise BestEpochMismatch(f"{state_file} holds no best epoch's weights")
    return best["model"], state["arch"], int(best["epoch"])


def load_best_model(state_file: str | os.PathLike, expected_epoch: int | None = None
                    ) -> tuple[torch.nn.Module, MLPArch, int]:
    """The best epoch's model of the trial whose state file is ``state_file`` (its folder's
    ``best.pt``): (model, arch, epoch).

    ``expected_epoch``: the ``best_epoch`` the trials table names; weights of any other epoch
    raise :class:`BestEpochMismatch` (never silently evaluate another epoch)."""
    weights, arch_dict, epoch = _best_record(Path(state_file))
    if expected_epoch is not None and epoch != int(expected_epoch):
        raise BestEpochMismatch(
            f"the trials table names epoch {int(expected_epoch)} as the best of trial "
            f"{Path(state_file).parent.name}, but its saved best weights are of epoch {epoch}; "
            f"the test split was not evaluated (rerun the study, or evaluate epoch {epoch} "
            f"knowingly with study.evaluate.load_best_model)")
    arch = MLPArch.from_dict(arch_dict)
    model = build_mlp(arch)
    model.load_state_dict(weights)
    model.eval()
    return model, arch, epoch


def evaluate_best(state_file: str | os.PathLike, trial_id: str, splits: JetSplits,
                  synthetic: bool, out: Path, expected_epoch: int | None = None
                  ) -> dict[str, Any]:
    """Evaluate the trial's best epoch (``expected_epoch``: the table's ``best_epoch``, see
    :func:`load_best_model`) on the test split; write ``best/model.pt``,
    ``test_metrics.json`` and ``test_predictions.parquet``; return the metrics."""
    model, arch, epoch = load_best_model(state_file, expected_epoch)
    x_test = torch.tensor(splits.x_test, dtype=torch.float32)
    probs = predict_proba(model, x_test).numpy().astype(np.float64)
    labels = np.asarray(splits.y_test, dtype=np.int64)
    metrics: dict[str, Any] = {"trial_id": trial_id, "epoch": epoch, "n_test": int(len(labels)),
                               "synthetic": synthetic,
                               "model": classification_metrics(labels, probs), "bayes": None}
    columns = {"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}}
    if synthetic:
        bayes = bayes_posterior(splits.x_test_raw)
        metrics["bayes"] = classification_metrics(labels, bayes)
        columns.update({f"bayes_{c}": bayes[:, i] for i, c in enumerate(CLASSES)})
    weights = {"state_dict": model.state_dict(), "arch": arch.to_dict(), "trial_id": trial_id,
               "epoch": epoch}
    write_atomic(out / "model.pt", lambda tmp: torch.save(weights, tmp))
    write_parquet(pd.DataFrame(columns), out / "test_predictions.parquet")
    write_json(metrics, out / "test_metrics.json")
    return metrics
