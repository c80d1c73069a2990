"""The one look at the test split: the best trial's best epoch, evaluated once.

The trial loop keeps the weights of each trial's best epoch in its checkpoint, so the best
model is reloaded, not retrained. On synthetic data the Bayes-optimal posterior is evaluated
on the same test jets, giving the best accuracy and AUC any tagger could reach.
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
from trainables.data import JetSplits
from trainables.loop import predict_proba
from trainables.metrics import accuracy, log_loss, roc_auc_ovr
from trainables.model import MLPArch, build_mlp
from trainables.schema import CLASSES
from trainables.synth import bayes_posterior

__all__ = ["classification_metrics", "load_best_model", "evaluate_best"]

logger = logging.getLogger(__name__)


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    """Accuracy, log loss, per-class one-vs-rest AUC and their macro mean."""
    auc = roc_auc_ovr(labels, probs)
    return {"accuracy": accuracy(labels, probs), "log_loss": log_loss(labels, probs),
            "auc_macro": float(np.nanmean(auc)),
            "auc": {c: float(a) for c, a in zip(CLASSES, auc)}}


def load_best_model(state_file: str | os.PathLike) -> tuple[torch.nn.Module, MLPArch, int]:
    """The best epoch's model from a trial's state file: (model, arch, epoch)."""
    state = torch.load(Path(state_file), map_location="cpu", weights_only=False)
    arch = MLPArch.from_dict(state["arch"])
    model = build_mlp(arch)
    best = state["best"]
    model.load_state_dict(best["model"] if best["model"] is not None else
                          state["trainer"]["model"])
    model.eval()
    return model, arch, int(best["epoch"])


def evaluate_best(state_file: str | os.PathLike, trial_id: str, splits: JetSplits,
                  synthetic: bool, out: Path) -> dict[str, Any]:
    """Evaluate on the test split; write ``best/model.pt``, ``test_metrics.json`` and
    ``test_predictions.parquet``; return the metrics."""
    model, arch, epoch = load_best_model(state_file)
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
