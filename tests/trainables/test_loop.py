"""The trial loop without Ray: metrics, eval-mode training loss, resume, divergence, penalties."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trainables.loop import (Hyperparams, Trainer, TrainSettings, TrialData, TrialDiverged,
                             arch_from_params, fit)
from trainables.model import MLPArch, weight_matrices
from trainables.trial import pick_device
from trainables.trialfiles import trial_seed

CPU = torch.device("cpu")
PARAMS = {"depth": 2, "width_0": 32, "width_1": 16, "dropout": 0.0, "activation": "relu",
          "batch_norm": False}


def _run(data: TrialData, settings: TrainSettings, arch: MLPArch, hp: Hyperparams,
         seed: int = 3, resume: dict | None = None) -> tuple[list[dict], list[dict | None], Trainer]:
    reports: list[dict] = []
    states: list[dict | None] = []
    trainer = Trainer(arch, hp, settings, data, CPU, seed=seed)
    fit(trainer, lambda m, s, b: (reports.append(m), states.append(s)), resume)
    return reports, states, trainer


def test_fit_reports_every_metric_every_epoch(small_trial_data: TrialData) -> None:
    arch = arch_from_params(PARAMS)
    reports, states, trainer = _run(small_trial_data, TrainSettings(max_epochs=3, batch_size=256),
                                    arch, Hyperparams(lr=3e-3))
    assert [r["epoch"] for r in reports] == [1, 2, 3]
    for r in reports:
        assert set(r) >= {"train_loss", "train_loss_running", "val_loss", "val_acc", "val_auc",
                          "n_params", "flops", "epoch", "time_s"}
        assert 0.0 <= r["val_acc"] <= 1.0 and 0.5 <= r["val_auc"] <= 1.0
        assert r["n_params"] == sum(p.numel() for p in trainer.model.parameters())
    assert all(s is not None for s in states)  # checkpoint_every=1
    assert reports[-1]["val_loss"] < reports[0]["val_loss"]
    assert reports[-1]["val_acc"] > 0.5  # five balanced classes: chance is 0.2


def test_device_metrics_agree_with_the_numpy_definitions(small_trial_data: TrialData) -> None:
    from trainables.loop import predict_proba
    from trainables.metrics import accuracy, log_loss, roc_auc_ovr

    _, _, trainer = _run(small_trial_data, TrainSettings(max_epochs=1, batch_size=256),
                         arch_from_params(PARAMS), Hyperparams(lr=3e-3))
    got = trainer.evaluate()
    probs = predict_proba(trainer.model, torch.tensor(small_trial_data.x_val)).double().numpy()
    labels = small_trial_data.y_val
    assert got["val_acc"] == pytest.approx(accuracy(labels, probs), abs=1e-12)
    assert got["val_auc"] == pytest.approx(float(np.mean(roc_auc_ovr(labels, probs))), rel=1e-9)
    assert got["val_loss"] == pytest.approx(log_loss(labels, probs), rel=1e-5)


def test_checkpoint_every_and_last_epoch(small_trial_data: TrialData) -> None:
    settings = TrainSettings(max_epochs=5, batch_size=512, checkpoint_every=2)
    _, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS), Hyperparams())
    assert [s is not None for s in states] == [False, True, False, True, True]


def test_train_loss_is_measured_in_eval_mode(small_trial_data: TrialData) -> None:
    params = {**PARAMS, "dropout": 0.5}
    settings = TrainSettings(max_epochs=2, batch_size=256, train_eval_jets=1000)
    reports, _, trainer = _run(small_trial_data, settings, arch_from_params(params),
                               Hyperparams(lr=3e-3))
    trainer.model.eval()
    with torch.no_grad():
        x = torch.tensor(small_trial_data.x_train[:1000])
        y = torch.tensor(small_trial_data.y_train[:1000])
        expected = F.cross_entropy(trainer.model(x), y).item()
    assert reports[-1]["train_loss"] == pytest.approx(expected, rel=1e-4)
    # with dropout 0.5 the train-mode running loss is visibly worse than the eval-mode loss
    assert reports[-1]["train_loss_running"] > reports[-1]["train_loss"] + 0.02


def test_resume_from_a_state_continues_identically(small_trial_data: TrialData) -> None:
    params = {**PARAMS, "dropout": 0.2}
    arch = arch_from_params(params)
    hp = Hyperparams(lr=2e-3, l1=1e-5, l2=1e-5)
    full, _, _ = _run(small_trial_data, TrainSettings(max_epochs=4, batch_size=256), arch, hp)
    first, states, _ = _run(small_trial_data, TrainSettings(max_epochs=2, batch_size=256), arch, hp)
    rest, _, _ = _run(small_trial_data, TrainSettings(max_epochs=4, batch_size=256), arch, hp,
                      seed=99, resume=states[-1])  # the seed is overridden by the state
    assert [r["epoch"] for r in rest] == [3, 4]
    for a, b in zip(full[2:], rest):
        for key in ("train_loss", "train_loss_running", "val_loss", "val_acc", "val_auc"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9), key


def test_best_epoch_weights_are_kept_in_the_state(small_trial_data: TrialData) -> None:
    settings = TrainSettings(max_epochs=4, batch_size=256)
    reports, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS),
                              Hyperparams(lr=3e-2))
    losses = [r["val_loss"] for r in reports]
    best = states[-1]["best"]
    assert best["epoch"] == int(np.argmin(losses)) + 1
    assert best["value"] == pytest.approx(min(losses))
    # maximising a metric picks the epoch of the highest value instead
    settings = dataclasses.replace(settings, metric="val_acc", mode="max")
    reports, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS),
                              Hyperparams(lr=3e-2))
    assert states[-1]["best"]["value"] == pytest.approx(max(r["val_acc"] for r in reports))


def test_divergence_raises_a_clear_error(small_trial_data: TrialData) -> None:
    settings = TrainSettings(max_epochs=3, batch_size=256, optimizer="sgd")
    with pytest.raises(TrialDiverged, match=r"became (nan|inf).*lower the learning rate"):
        _run(small_trial_data, settings, arch_from_params(PARAMS), Hyperparams(lr=1e12))


def test_l1_penalty_shrinks_weights(small_trial_data: TrialData) -> None:
    settings = TrainSettings(max_epochs=3, batch_size=256)
    arch = arch_from_params(PARAMS)
    norms = []
    for l1 in (0.0, 3e-3):
        _, _, trainer = _run(small_trial_data, settings, arch, Hyperparams(lr=3e-3, l1=l1))
        norms.append(sum(w.abs().sum().item() for w in weight_matrices(trainer.model)))
    assert norms[1] < 0.7 * norms[0]


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
@pytest.mark.parametrize("activation,batch_norm", [("relu", False), ("prelu", True),
                                                    ("tanh", False)])
def test_every_optimizer_and_layer_kind_trains(small_trial_data: TrialData, optimizer: str,
                                               activation: str, batch_norm: bool) -> None:
    params = {**PARAMS, "activation": activation, "batch_norm": batch_norm}
    settings = TrainSettings(max_epochs=3, batch_size=256, optimizer=optimizer)
    reports, _, _ = _run(small_trial_data, settings, arch_from_params(params),
                         Hyperparams(lr=5e-2 if optimizer == "sgd" else 3e-3))
    assert reports[-1]["val_acc"] > 0.4


def test_device_and_seed_helpers() -> None:
    assert pick_device("cpu") == CPU
    assert pick_device("auto").type in ("cpu", "cuda")
    assert trial_seed(0, "abc") == trial_seed(0, "abc") != trial_seed(0, "abd")
    assert trial_seed(1, "abc") != trial_seed(0, "abc")


@pytest.mark.gpu
def test_trainer_runs_on_cuda(small_trial_data: TrialData) -> None:
    cuda = torch.device("cuda")
    trainer = Trainer(arch_from_params(PARAMS), Hyperparams(lr=3e-3),
                      TrainSettings(max_epochs=2, batch_size=256), small_trial_data, cuda, seed=1)
    reports: list[dict] = []
    fit(trainer, lambda m, s, b: reports.append(m))
    assert trainer.x_train.device.type == "cuda"
    assert next(trainer.model.parameters()).device.type == "cuda"
    assert reports[-1]["val_acc"] > 0.5
