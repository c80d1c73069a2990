"""The baseline: the plain Ray Tune recipe, as a physicist writes it from Ray's tutorials.

Same MLP, same search space shape (depth, one width per layer, dropout, L1, L2, lr), same
Optuna TPE + ASHA, same data as a jetstudy study; written the way the tutorials show it:

* the training arrays wrapped in a ``TensorDataset`` and read through a
  ``DataLoader(batch_size=1024, shuffle=True)`` (per-jet indexing and the default collate);
* each batch moved to the device, ``loss.item()`` every step;
* validation loss and accuracy through a second ``DataLoader`` every epoch;
* ``tune.report(metrics, checkpoint=...)`` with a ``tune.Checkpoint`` of the model every epoch;
* one whole GPU per trial when there is one (``{"cpu": 1, "gpu": 1}``), else one CPU.

None of that is wrong; it is what :mod:`bench.throughput` measures jetstudy against. The
trainable lives at module level because Ray pickles it by reference.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from jetstudy.trainables.loop import TrialData, arch_from_params
from jetstudy.trainables.model import build_mlp

__all__ = ["train_mlp", "plain_tuner", "trial_epochs"]


def _weight_penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor:
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    return (l1 * sum(w.abs().sum() for w in weights)
            + l2 * sum(w.pow(2).sum() for w in weights))


def train_mlp(config: dict[str, Any], data: TrialData, max_epochs: int,
              batch_size: int = 1024) -> None:
    """The function trainable: train one configuration, report and checkpoint every epoch."""
    from ray import tune

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader = DataLoader(
        TensorDataset(torch.tensor(data.x_train, dtype=torch.float32),
                      torch.tensor(data.y_train, dtype=torch.long)),
        batch_size=batch_size, shuffle=True)
    val_loader = DataLoader(
        TensorDataset(torch.tensor(data.x_val, dtype=torch.float32),
                      torch.tensor(data.y_val, dtype=torch.long)),
        batch_size=batch_size)
    model = build_mlp(arch_from_params(config)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"])

    for epoch in range(1, max_epochs + 1):
        model.train()
        running_loss, steps = 0.0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb) + _weight_penalty(model, config["l1"],
                                                                     config["l2"])
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            steps += 1

        model.eval()
        val_loss, correct, seen = 0.0, 0, 0
        with torch.no_grad():
            for xb, yb in val_loader:
                xb, yb = xb.to(device), yb.to(device)
                logits = model(xb)
                val_loss += F.cross_entropy(logits, yb, reduction="sum").item()
                correct += (logits.argmax(dim=1) == yb).sum().item()
                seen += len(yb)

        metrics = {"epoch": epoch, "train_loss": running_loss / max(steps, 1),
                   "val_loss": val_loss / max(seen, 1), "val_acc": correct / max(seen, 1)}
        with tempfile.TemporaryDirectory() as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "epoch": epoch}, os.path.join(tmp, "model.pt"))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def plain_tuner(data: TrialData, *, space: Any, num_trials: int, max_epochs: int,
                max_concurrent: int, grace_period: int, reduction_factor: int, seed: int,
                storage_path: str, use_gpu: bool, time_budget_s: float | None = None,
                callbacks: list | None = None) -> Any:
    """The tutorial's ``Tuner``: ``OptunaSearch`` (define-by-run ``space``, e.g.
    ``jetstudy.study.space.SpaceFunction(SpaceConfig())``) limited to ``max_concurrent`` trials, and
    ``ASHAScheduler`` on the training iteration. Call ``.fit()`` on a running Ray."""
    import optuna
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    searcher = ConcurrencyLimiter(
        OptunaSearch(space=space, metric="val_loss", mode="min",
                     sampler=optuna.samplers.TPESampler(seed=seed)),
        max_concurrent=max_concurrent)
    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=max_epochs,
                              grace_period=grace_period, reduction_factor=reduction_factor)
    resources = {"cpu": 1, "gpu": 1} if use_gpu else {"cpu": 1}
    trainable = tune.with_resources(
        tune.with_parameters(train_mlp, data=data, max_epochs=max_epochs), resources)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(metric="val_loss", mode="min", search_alg=searcher,
                                    scheduler=scheduler, num_samples=num_trials,
                                    time_budget_s=time_budget_s),
        run_config=tune.RunConfig(name="plain", storage_path=storage_path, verbose=0,
                                  callbacks=callbacks or []))


def trial_epochs(grid: Any) -> tuple[int, int]:
    """(trial-epochs, trials that trained) of a finished ``ResultGrid``: each trial's last
    reported training iteration, summed (a trial stopped by ASHA or the time budget counts
    what it trained; one the budget stopped before its first epoch counts nothing)."""
    total, trained = 0, 0
    for result in grid:
        epochs = int((result.metrics or {}).get("training_iteration", 0) or 0)
        total += epochs
        trained += epochs > 0
    return total, trained
