"""A model whose weights go non-finite at an epoch's end fails that epoch, before its NaN
metrics reach the scheduler (ASHA would take a NaN as a result and print numpy warnings)."""

from __future__ import annotations

import math

import pytest
import torch

from jetstudy.trainables.bookkeeping import divergence
from jetstudy.trainables.loop import Hyperparams, Trainer, TrialData, TrialDiverged, arch_from_params, fit
from tests.conftest import make_train_settings

PARAMS = {"depth": 1, "width_0": 16, "dropout": 0.0, "activation": "relu", "batch_norm": False}


def test_weights_that_blow_up_in_the_last_step_fail_before_the_report(
        small_trial_data: TrialData) -> None:
    # one batch per epoch: the epoch's training loss is the one before the update (finite);
    # SGD at lr 1e30 leaves weights ~1e30, whose outputs overflow: the validation loss is NaN
    n = len(small_trial_data.x_train)
    settings = make_train_settings("unused", scheduler={"max_epochs": 3},
                                   training={"batch_size": n, "optimizer": "sgd"},
                                   search={"metric": "val_loss"})
    trainer = Trainer(arch_from_params(PARAMS), Hyperparams(lr=1e30), settings,
                      small_trial_data, torch.device("cpu"), seed=1)
    reports: list[dict] = []
    with pytest.raises(TrialDiverged, match=r"validation loss became nan at epoch 1 .*lower "
                                            r"the learning rate range"):
        fit(trainer, lambda m, s, b: reports.append(m))
    assert reports == []  # nothing non-finite was reported


def test_divergence_names_the_loss_and_epoch() -> None:
    fine = {"epoch": 2, "train_loss_running": 1.1, "val_loss": 1.2}
    assert divergence(fine, lr=1e-3) is None
    assert divergence({**fine, "train_loss_running": math.inf}, lr=1e-3).startswith(
        "training loss became inf at epoch 2 (lr=0.001")
    assert divergence({**fine, "val_loss": math.nan}, lr=0.5, l2=1e-4).startswith(
        "validation loss became nan at epoch 2 (lr=0.5, l1=0, l2=0.0001)")
