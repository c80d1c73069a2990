"""Patience end to end (real Ray, Optuna, HDF5): each trial of a scan stops by itself once its
validation loss has not improved for ``scheduler.patience`` epochs, self-trained or packed.

The learning rate is far too small to move any weight, so the validation loss of epoch 2
equals epoch 1's (no improvement): with patience 1 every trial converges at epoch 2.
"""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest
import torch

from jetstudy.study.launch import run_study
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.trialfiles import best_path, read_epochs, state_path

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("pack_size", [0, 2], ids=["self-training", "packed"])
def test_every_trial_converges_by_its_patience(ray_cluster, small_config, tmp_path,
                                               pack_size: int) -> None:
    cfg = small_config(
        tmp_path, "patience",
        space={"depth": [1, 2], "width": [4, 8], "l1": [0, 0], "l2": [0, 0], "dropout": [0, 0],
               "lr": [1e-30, 1e-30]},
        search={"sampler": "grid", "grid_levels": 2, "num_trials": 4, "max_concurrent": 2},
        scheduler={"type": "patience", "patience": 1, "max_epochs": 6},
        training={"checkpoint_every": 4},
        resources={"num_cpus": 2, "pack_size": pack_size, "max_failures": 0})
    lines: list[str] = []
    outcome = run_study(cfg, progress=lines.append)
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    assert len(trials) == 4
    assert (trials["epochs"] == 2).all() and (trials["best_epoch"] == 1).all()
    assert set(trials["status"]) == {"completed"}
    assert set(trials["stop_reason"]) == {"patience"}
    # trials that ended by their patience are finished, not "stopped early"
    assert "trials 4/4 finished (0 stopped early" in lines[-1]
    state_dir = str(outcome.folder / "trials")
    for trial_id in trials["trial_id"]:
        rows = read_epochs(state_dir, trial_id)
        assert [r.get("converged", False) for r in rows] == [False, True]
        # the converging epoch checkpoints (checkpoint_every 4 would not); best.pt is epoch 1
        state = torch.load(state_path(state_dir, trial_id), weights_only=True)
        assert state["trainer"]["epoch"] == 2 and state["last_metrics"]["converged"]
        assert torch.load(best_path(state_dir, trial_id), weights_only=True)["epoch"] == 1
    ot = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(outcome.folder))
    assert [t.state for t in ot.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    metrics = json.loads((outcome.folder / "best" / "test_metrics.json").read_text())
    assert metrics["epoch"] == 1
