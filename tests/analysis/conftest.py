"""Fake jetstudy results, made from simple formulas, for the analysis tests.

``make_study`` returns trials and epochs tables that follow docs/results_layout.md and have known
regimes: tiny models plateau high (underfit), wide unregularised ones memorise (val loss rises
while train loss falls), large learning rates now and then diverge to NaN, and ASHA stops weak
trials at its rungs. Losses carry standard errors as for 36,000 training and 12,000 validation
jets (``TRAIN_SE``, ``VAL_SE``). ``write_study`` lays them out as a results folder with config,
``reference.json`` (Bayes loss ``BAYES_VAL_LOSS`` on synthetic data), test predictions and test
metrics. Both are fixtures returning the function so tests can vary sizes.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from jetstudy.analysis import report
from jetstudy.analysis.sections import ReportState
from jetstudy.analysis.tables import load_tables
from jetstudy.trainables.metrics import accuracy, log_loss, roc_auc_ovr
from jetstudy.trainables.schema import CLASSES

N_FEATURES = 16
MAX_DEPTH = 6
TRAIN_SE, VAL_SE = 0.004, 0.007  # ~0.8 nats per-jet spread / sqrt(36,000 and 12,000 jets)
BAYES_VAL_LOSS = 0.60  # the fake curves' best models plateau at 0.62-0.63
_STOP_REASONS = {"completed": "max_epochs", "stopped": "scheduler", "failed": "failed",
                 "running": ""}

CONFIG: dict[str, Any] = {
    "data": {"path": None, "format": "auto", "synthetic_jets": 60000, "synthetic_seed": 1,
             "max_jets": None, "val_fraction": 0.2, "test_fraction": 0.2, "split_seed": 0},
    "space": {"depth": [1, 6], "width": [8, 256], "dropout": [0.0, 0.5], "l1": [1.0e-07, 0.001],
              "l2": [1.0e-07, 0.001], "lr": [0.0001, 0.01], "activations": ["relu"],
              "batch_norm": [False]},
    "search": {"num_trials": 64, "max_concurrent": 4, "seed": 0, "metric": "val_loss",
               "sampler": "tpe", "time_budget_s": None},
    "scheduler": {"type": "asha", "max_epochs": 20, "grace_period": 2, "reduction_factor": 3},
    "training": {"batch_size": 1024, "optimizer": "adam", "train_eval_jets": 10000},
    "resources": {"cpus_per_trial": 1, "gpus_per_trial": 0},
    "storage": {"results_dir": "results", "name": "demo"},
}


def arch_numbers(widths: list[int]) -> tuple[int, int]:
    """Parameters and forward FLOPs (2 x multiply-adds) of a 16 -> widths -> 5 MLP."""
    sizes = [N_FEATURES, *widths, len(CLASSES)]
    params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    flops = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return params, flops


def curves(n_params: int, reg: float, lr: float, epochs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train (eval mode) and val loss per epoch for a model of this size and regularisation."""
    e = np.arange(1, epochs + 1, dtype=float)
    floor = 0.62 + 0.9 * math.exp(-n_params / 400.0)  # capacity-limited loss
    speed = 0.6 + 2.0 * math.exp(-lr * 1000)
    fit = floor + (1.55 - floor) * np.exp(-e / speed)
    memorise = max(0.0, math.log10(n_params) - 3.6) * (1.0 - reg) * 0.25
    train = fit - memorise * (e / epochs)
    val = fit + memorise * (e / epochs) ** 2 * 1.5
    noise = rng.normal(0, 0.003, size=(2, epochs))
    return train + noise[0], val + noise[1]


def _make_study(n_trials: int = 40, max_epochs: int = 20, seed: int = 0, running: int = 0,
                diverge_lr: float = 8e-3, asha: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows, epoch_rows = [], []
    rungs = [r for r in (2, 6, 18) if r < max_epochs] if asha else []
    seen_at_rung: dict[int, list[float]] = {r: [] for r in rungs}
    for i in range(n_trials):
        depth = int(rng.integers(1, MAX_DEPTH + 1))
        widths = [int(round(math.exp(rng.uniform(math.log(8), math.log(256))))) for _ in range(depth)]
        dropout, l1, l2 = rng.uniform(0, 0.5), 10 ** rng.uniform(-7, -3), 10 ** rng.uniform(-7, -3)
        lr = 10 ** rng.uniform(-4, -2)
        n_params, flops = arch_numbers(widths)
        reg = min(1.0, dropout * 1.6 + l2 * 300)
        train, val = curves(n_params, reg, lr, max_epochs, rng)
        status, error, n_run = "completed", "", max_epochs
        if lr > diverge_lr and rng.random() < 0.5:
            n_run = int(rng.integers(2, max_epochs))
            train[n_run - 1] = val[n_run - 1] = np.nan
            status, error = "failed", f"loss diverged to nan at epoch {n_run}"
        else:
            for rung in rungs:
                seen = seen_at_rung[rung]
                seen.append(val[rung - 1])
                if len(seen) > 3 and val[rung - 1] > np.quantile(seen, 0.5):
                    status, n_run = "stopped", rung
                    break
        if i >= n_trials - running:
            status, error, n_run = "running", "", max(1, n_run // 2)
        train, val = train[:n_run], val[:n_run]
        acc = np.clip(1.35 - 0.85 * val, 0.2, 0.95)
        auc = np.clip(1.18 - 0.32 * val, 0.5, 0.99)
        tid = f"t{i:04d}"
        for ep in range(n_run):
            epoch_rows.append({"trial_id": tid, "epoch": ep + 1, "train_loss": train[ep],
                               "train_loss_running": train[ep] + 0.02, "val_loss": val[ep],
                               "train_loss_se": TRAIN_SE, "val_loss_se": VAL_SE,
                               "val_acc": acc[ep], "val_auc": auc[ep], "n_params": n_params,
                               "time_s": 1.5 * (ep + 1)})
        best = int(np.nanargmin(val)) if np.isfinite(val).any() else 0
        row = {"trial_id": tid, "status": status, "error": error,
               "stop_reason": _STOP_REASONS[status], "depth": depth,
               "widths": "-".join(map(str, widths)), "dropout": dropout, "l1": l1, "l2": l2,
               "lr": lr, "activation": "relu", "batch_norm": False, "batch_size": 1024,
               "n_params": n_params, "flops": flops, "epochs": n_run, "max_epochs": max_epochs,
               "train_loss": train[-1], "train_loss_running": train[-1] + 0.02,
               "val_loss": val[-1], "val_acc": acc[-1], "val_auc": auc[-1],
               "train_loss_se": TRAIN_SE, "val_loss_se": VAL_SE,
               "best_val_loss": val[best], "best_val_acc": acc[best], "best_val_auc": auc[best],
               "best_epoch": best + 1, "wall_time_s": 1.5 * n_run}
        for k in range(MAX_DEPTH):
            row[f"width_{k}"] = float(widths[k]) if k < depth else np.nan
        rows.append(row)
    return pd.DataFrame(rows), pd.DataFrame(epoch_rows)


def _predictions(n_test: int, seed: int, synthetic: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), size=n_test)
    onehot = np.eye(len(CLASSES))[labels]
    noise = rng.normal(size=onehot.shape)
    out = {"label": labels}

    def softmax(z: np.ndarray) -> np.ndarray:
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    model = softmax(2.2 * onehot + noise)
    for c, name in enumerate(CLASSES):
        out[f"p_{name}"] = model[:, c]
    if synthetic:
        bayes = softmax(2.6 * onehot + 0.9 * noise)
        for c, name in enumerate(CLASSES):
            out[f"bayes_{name}"] = bayes[:, c]
    return pd.DataFrame(out)


def _metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, Any]:
    aucs = roc_auc_ovr(labels, probs)
    return {"accuracy": accuracy(labels, probs), "log_loss": log_loss(labels, probs),
            "auc_macro": float(np.mean(aucs)), "auc": dict(zip(CLASSES, map(float, aucs)))}


def _write_study(folder: Path, trials: pd.DataFrame, epochs: pd.DataFrame | None = None, *,
                 synthetic: bool = True, config: dict[str, Any] | None = None,
                 n_test: int = 2000, seed: int = 0, csv: bool = True, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = copy.deepcopy(config or CONFIG)
    if name is not None:
        config["storage"]["name"] = name
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    trials.to_parquet(folder / "trials.parquet")
    if csv:
        trials.to_csv(folder / "trials.csv", index=False)
    if epochs is not None:
        epochs.to_parquet(folder / "epochs.parquet")
    (folder / "data_summary.json").write_text(json.dumps({"synthetic": synthetic}))
    (folder / "reference.json").write_text(json.dumps({
        "prior_entropy": math.log(len(CLASSES)), "n_classes": len(CLASSES),
        "bayes_val_loss": BAYES_VAL_LOSS if synthetic else None,
        "bayes_val_loss_se": 0.006 if synthetic else None,
        "bayes_val_acc": 0.78 if synthetic else None}))
    finished = trials[trials["status"].isin(["completed", "stopped"])]
    if not finished.empty:
        best = finished.loc[finished["best_val_loss"].idxmin(), "trial_id"]
        pred = _predictions(n_test, seed, synthetic)
        (folder / "best").mkdir(exist_ok=True)
        pred.to_parquet(folder / "best" / "test_predictions.parquet")
        labels = pred["label"].to_numpy()
        model = pred[[f"p_{c}" for c in CLASSES]].to_numpy()
        bayes = (_metrics(labels, pred[[f"bayes_{c}" for c in CLASSES]].to_numpy())
                 if synthetic else None)
        (folder / "best" / "test_metrics.json").write_text(json.dumps({
            "trial_id": best, "n_test": n_test, "synthetic": synthetic,
            "model": _metrics(labels, model), "bayes": bayes}))
    return folder


@pytest.fixture(scope="session")
def make_study() -> Callable[..., tuple[pd.DataFrame, pd.DataFrame]]:
    """``make_study(n_trials=40, max_epochs=20, seed=0, running=0, asha=True)`` -> (trials, epochs)."""
    return _make_study


@pytest.fixture(scope="session")
def write_study() -> Callable[..., Path]:
    """``write_study(folder, trials, epochs, synthetic=True, name=None, ...)`` -> the results
    folder; ``name`` overrides ``storage.name`` in the config written."""
    return _write_study


@pytest.fixture(scope="session")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete synthetic results folder of 40 trials (shared; tests must not modify it)."""
    trials, epochs = _make_study(n_trials=40, seed=0)
    return _write_study(tmp_path_factory.mktemp("study") / "demo", trials, epochs)


#: Writes the report of the results folder argv[1] where neither torch nor Ray can be imported
#: (a colleague's machine), pickles its outcome to argv[2] and prints which of matplotlib,
#: seaborn and optuna importing ``jetstudy.analysis`` pulled in, then the figures and skipped parts.
_BLOCKED_REPORT = """\
import pickle, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'ray'):
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
from jetstudy.analysis import write_report
print([m for m in ('matplotlib', 'seaborn', 'optuna') if m in sys.modules])
o = write_report(sys.argv[1])
print(len(o.figures), o.skipped)
with open(sys.argv[2], 'wb') as f:
    pickle.dump(o, f)
"""


@dataclass(frozen=True)
class FullReport:
    """The report of :func:`study_dir` (a copy of it: its ``report/``) as ``jetstudy report``
    writes it without torch and Ray: ``outcome`` and what that run printed (``proc``). Where
    that run failed, ``outcome`` is the report written in this process, so only the test of
    the blocked imports fails, not every test that reads the report."""

    outcome: report.ReportOutcome
    proc: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def full_report(tmp_path_factory: pytest.TempPathFactory, study_dir: Path) -> FullReport:
    """The one full report of :func:`study_dir` for every test that reads it (read-only;
    copy ``outcome.out_dir`` to change it), written in a subprocess that cannot import torch
    or Ray (``test_report.py`` checks that part; a full report costs ~5 CPU-s to draw)."""
    import pickle

    root = tmp_path_factory.mktemp("full-report")
    shutil.copytree(study_dir, root / "study", ignore=shutil.ignore_patterns("report"))
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCKED_REPORT, str(root / "study"), str(root / "outcome.pkl")],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if proc.returncode == 0:
        return FullReport(pickle.loads((root / "outcome.pkl").read_bytes()), proc)
    return FullReport(report.write_report(root / "study"), proc)


def words_only(tables: Any, *args: Any, **kw: Any) -> ReportState:
    """The report's state as ``write_report(figures=False)`` builds it: every part's words,
    tables and data files, its figures built but not rendered to PNG (~0.4 CPU-s each), for
    tests that read no pixels."""
    from jetstudy.analysis.report import _WordsOnly

    return _WordsOnly(tables, *args, **kw)


class FigureCapture(ReportState):
    """The report's state, keeping each figure object beside its PNG (to read what the reader
    will see); ``pixels=False`` keeps the objects only, no PNG (rendering is ~0.4 CPU-s a
    figure, for tests that read the figures' texts, legends and data, not their pixels)."""

    def __init__(self, *args: Any, pixels: bool = True, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.drawn: dict[str, Any] = {}
        self.pixels = pixels

    def figure(self, name: str, fig: Any) -> str:
        self.drawn[name] = fig
        return super().figure(name, fig) if self.pixels else name


def draw_every_part(folder: Path, pixels: bool = True) -> FigureCapture:
    """Every part of the report of the results ``folder``, drawn in the report's order
    (``pixels``: see :class:`FigureCapture`)."""
    tables = load_tables(folder)
    state = FigureCapture(tables, pixels=pixels)
    for name, part in report.part_order(tables.config):
        state.attempt(name, lambda part=part: part(state))
    return state
