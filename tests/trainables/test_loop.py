"""The trial loop without Ray: metrics, eval-mode training loss, resume, divergence, penalties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jetstudy.study.evaluate import BestEpochMismatch, load_best_model
from jetstudy.study.tables import epoch_rows, epochs_frame, trial_row
from jetstudy.trainables.checkpoint import load_checkpoint, sync_best, write_epoch
from jetstudy.trainables.loop import (Hyperparams, Trainer, TrainSettings, TrialData, TrialDiverged,
                             arch_from_params, fit)
from jetstudy.trainables.model import MLPArch, weight_matrices
from jetstudy.trainables.trial import pick_device
from jetstudy.trainables.trialfiles import best_path, read_epochs, state_path, trial_seed
from tests.conftest import make_train_settings

CPU = torch.device("cpu")
PARAMS = {"depth": 2, "width_0": 32, "width_1": 16, "dropout": 0.0, "activation": "relu",
          "batch_norm": False}


def _settings(max_epochs: int, folder: object = "unused", patience: int | None = None,
              metric: str = "val_loss", **training: object) -> TrainSettings:
    """The config's training settings (the one constructor) with these fields set."""
    scheduler = {"max_epochs": max_epochs, **({"type": "patience", "patience": patience}
                                              if patience is not None else {})}
    return make_train_settings(folder, scheduler=scheduler, training=training,
                               search={"metric": metric})


def _run(data: TrialData, settings: TrainSettings, arch: MLPArch, hp: Hyperparams,
         seed: int = 3, resume: dict | None = None) -> tuple[list[dict], list[dict | None], Trainer]:
    reports: list[dict] = []
    states: list[dict | None] = []
    trainer = Trainer(arch, hp, settings, data, CPU, seed=seed)
    fit(trainer, lambda m, s, b: (reports.append(m), states.append(s)), resume)
    return reports, states, trainer


def test_fit_reports_every_metric_every_epoch(small_trial_data: TrialData) -> None:
    arch = arch_from_params(PARAMS)
    reports, states, trainer = _run(small_trial_data, _settings(3, batch_size=256),
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
    from jetstudy.trainables.loop import predict_proba
    from jetstudy.trainables.metrics import accuracy, log_loss, roc_auc_ovr

    _, _, trainer = _run(small_trial_data, _settings(1, batch_size=256),
                         arch_from_params(PARAMS), Hyperparams(lr=3e-3))
    got = trainer.evaluate()
    probs = predict_proba(trainer.model, torch.tensor(small_trial_data.x_val)).double().numpy()
    labels = small_trial_data.y_val
    assert got["val_acc"] == pytest.approx(accuracy(labels, probs), abs=1e-12)
    assert got["val_auc"] == pytest.approx(float(np.mean(roc_auc_ovr(labels, probs))), rel=1e-9)
    assert got["val_loss"] == pytest.approx(log_loss(labels, probs), rel=1e-5)


def test_checkpoint_every_and_last_epoch(small_trial_data: TrialData) -> None:
    settings = _settings(5, batch_size=512, checkpoint_every=2)
    _, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS), Hyperparams())
    assert [s is not None for s in states] == [False, True, False, True, True]


def test_train_loss_is_measured_in_eval_mode(small_trial_data: TrialData) -> None:
    params = {**PARAMS, "dropout": 0.5}
    settings = _settings(2, batch_size=256, train_eval_jets=1000)
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


def test_losses_carry_their_standard_errors_on_the_whole_training_split(
        small_trial_data: TrialData) -> None:
    def per_jet(trainer: Trainer, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        trainer.model.eval()
        with torch.no_grad():
            return F.cross_entropy(trainer.model(torch.tensor(x)), torch.tensor(y),
                                   reduction="none").double().numpy()

    for cap, n_train in ((None, len(small_trial_data.x_train)), (1000, 1000)):
        settings = _settings(1, batch_size=256, train_eval_jets=cap)
        reports, _, trainer = _run(small_trial_data, settings, arch_from_params(PARAMS),
                                   Hyperparams(lr=3e-3))
        train = per_jet(trainer, small_trial_data.x_train[:n_train],
                        small_trial_data.y_train[:n_train])
        val = per_jet(trainer, small_trial_data.x_val, small_trial_data.y_val)
        r = reports[-1]
        assert r["train_loss"] == pytest.approx(train.mean(), rel=1e-5)
        assert r["train_loss_se"] == pytest.approx(train.std(ddof=1) / np.sqrt(n_train), rel=1e-4)
        assert r["val_loss_se"] == pytest.approx(val.std(ddof=1) / np.sqrt(len(val)), rel=1e-4)
        assert 0 < r["val_loss_se"] < 0.05


class ScriptedTrainer(Trainer):
    """A real trainer whose validation loss follows a script, to place the best epoch."""

    def __init__(self, *args: object, val_losses: list[float], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.val_losses = val_losses

    def evaluate(self) -> dict[str, float]:
        return {**super().evaluate(), "val_loss": self.val_losses[self.epoch - 1]}


def _scripted(data: TrialData, settings: TrainSettings, val_losses: list[float]) -> Trainer:
    return ScriptedTrainer(arch_from_params(PARAMS), Hyperparams(lr=3e-3), settings, data, CPU,
                           seed=5, val_losses=val_losses)


def test_patience_stops_a_trial_that_no_longer_improves(small_trial_data: TrialData) -> None:
    settings = _settings(10, batch_size=512, checkpoint_every=10, patience=3)
    reports: list[dict] = []
    states: list[dict | None] = []
    bests: list[dict | None] = []
    trainer = _scripted(small_trial_data, settings, [0.9, 0.5, 0.7, 0.6, 0.55, 0.4, 0.3])
    fit(trainer, lambda m, s, b: (reports.append(m), states.append(s), bests.append(b)))
    assert [r["epoch"] for r in reports] == [1, 2, 3, 4, 5]  # 3 epochs without a better 0.5
    assert reports[-1]["converged"] is True
    assert not any("converged" in r for r in reports[:-1])
    assert [s is not None for s in states] == [False] * 4 + [True]  # the last one checkpoints
    assert [b is not None for b in bests] == [True, True, False, False, False]
    assert states[-1]["best"]["epoch"] == 2
    # a converged trial resumed from its state trains no more
    again: list[dict] = []
    fit(_scripted(small_trial_data, settings, [0.1] * 10), lambda m, s, b: again.append(m),
        {**states[-1], "last_metrics": reports[-1]})
    assert again == []
    # without patience the same trial runs to max_epochs
    reports.clear()
    fit(_scripted(small_trial_data, _settings(7, batch_size=512, checkpoint_every=10),
                  [0.9, 0.5, 0.7, 0.6, 0.55, 0.4, 0.3]), lambda m, s, b: reports.append(m))
    assert len(reports) == 7 and not any(r.get("converged") for r in reports)


def _files_report(settings: TrainSettings, trainer: Trainer, trial_id: str, stop_at: int,
                  weights: dict[int, dict]) -> object:
    """What the self-training trial does with each epoch (trainables.trial.run_trial), with
    Tune's stop (ASHA, time budget) at epoch ``stop_at``."""
    def report(metrics: dict, state: dict | None, best: dict | None) -> None:
        weights[metrics["epoch"]] = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        write_epoch(settings.state_dir, trial_id, metrics, best=best,
                    arch=trainer.arch.to_dict(),
                    state=None if state is None else {**state, "last_metrics": metrics})
        if metrics["epoch"] == stop_at:
            raise StopIteration  # Tune ends the trial's thread in tune.report

    return report


def test_best_weights_exist_when_a_trial_stops_between_checkpoints(
        small_trial_data: TrialData, tmp_path) -> None:
    settings = _settings(10, tmp_path, batch_size=512, checkpoint_every=5)
    trials = settings.state_dir
    (tmp_path / "trials" / "t").mkdir(parents=True)
    trainer = _scripted(small_trial_data, settings, [0.9, 0.5, 0.7])
    weights: dict[int, dict] = {}
    with pytest.raises(StopIteration):
        fit(trainer, _files_report(settings, trainer, "t", 3, weights))
    assert not state_path(trials, "t").exists()  # stopped before its first checkpoint
    record = load_checkpoint(best_path(trials, "t"))
    assert record["epoch"] == 2 and record["value"] == 0.5
    for key, value in weights[2].items():
        assert torch.equal(record["model"][key], value)
    assert not all(torch.equal(weights[2][k], weights[3][k]) for k in weights[2])
    # the table names epoch 2, and the evaluation reads exactly epoch 2
    row = trial_row("t", PARAMS, epochs_frame(epoch_rows("t", read_epochs(trials, "t"))),
                    status="stopped", error="", max_epochs=10, max_depth=2, metric="val_loss",
                    mode="min", batch_size=512)
    assert row["best_epoch"] == 2 and row["epochs"] == 3
    model, arch, epoch = load_best_model(state_path(trials, "t"), row["best_epoch"])
    assert epoch == 2 and arch == trainer.arch
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[2][key])
    with pytest.raises(BestEpochMismatch, match="names epoch 3 .* weights are of epoch 2"):
        load_best_model(state_path(trials, "t"), expected_epoch=3)


def test_a_resumed_trial_puts_best_weights_back_in_step_with_its_state(
        small_trial_data: TrialData, tmp_path) -> None:
    """Epochs after the last state are trained again on resume: a best.pt written by them
    (here epoch 3) is replaced by the state's own best (epoch 1)."""
    settings = _settings(10, tmp_path, batch_size=512, checkpoint_every=2)
    trials = settings.state_dir
    (tmp_path / "trials" / "t").mkdir(parents=True)
    trainer = _scripted(small_trial_data, settings, [0.5, 0.7, 0.4])
    weights: dict[int, dict] = {}
    with pytest.raises(StopIteration):
        fit(trainer, _files_report(settings, trainer, "t", 3, weights))
    state = load_checkpoint(state_path(trials, "t"))
    best_file = best_path(trials, "t")
    assert state["trainer"]["epoch"] == 2 and load_checkpoint(best_file)["epoch"] == 3
    sync_best(best_file, state)
    record = load_checkpoint(best_file)
    assert record["epoch"] == 1
    assert all(torch.equal(record["model"][k], v) for k, v in weights[1].items())


def test_resume_from_a_state_continues_identically(small_trial_data: TrialData) -> None:
    params = {**PARAMS, "dropout": 0.2}
    arch = arch_from_params(params)
    hp = Hyperparams(lr=2e-3, l1=1e-5, l2=1e-5)
    full, _, _ = _run(small_trial_data, _settings(4, batch_size=256), arch, hp)
    first, states, _ = _run(small_trial_data, _settings(2, batch_size=256), arch, hp)
    rest, _, _ = _run(small_trial_data, _settings(4, batch_size=256), arch, hp,
                      seed=99, resume=states[-1])  # the seed is overridden by the state
    assert [r["epoch"] for r in rest] == [3, 4]
    for a, b in zip(full[2:], rest):
        for key in ("train_loss", "train_loss_running", "val_loss", "val_acc", "val_auc"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9), key


def test_best_epoch_weights_are_kept_in_the_state(small_trial_data: TrialData) -> None:
    settings = _settings(4, batch_size=256)
    reports, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS),
                              Hyperparams(lr=3e-2))
    losses = [r["val_loss"] for r in reports]
    best = states[-1]["best"]
    assert best["epoch"] == int(np.argmin(losses)) + 1
    assert best["value"] == pytest.approx(min(losses))
    # maximising a metric picks the epoch of the highest value instead
    settings = _settings(4, batch_size=256, metric="val_acc")  # its mode is max
    reports, states, _ = _run(small_trial_data, settings, arch_from_params(PARAMS),
                              Hyperparams(lr=3e-2))
    assert states[-1]["best"]["value"] == pytest.approx(max(r["val_acc"] for r in reports))


def test_divergence_raises_a_clear_error(small_trial_data: TrialData) -> None:
    settings = _settings(3, batch_size=256, optimizer="sgd")
    with pytest.raises(TrialDiverged, match=r"became (nan|inf).*lower the learning rate"):
        _run(small_trial_data, settings, arch_from_params(PARAMS), Hyperparams(lr=1e12))


def test_l1_penalty_shrinks_weights(small_trial_data: TrialData) -> None:
    settings = _settings(3, batch_size=256)
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
    settings = _settings(3, batch_size=256, optimizer=optimizer)
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
                      _settings(2, batch_size=256), small_trial_data, cuda, seed=1)
    reports: list[dict] = []
    fit(trainer, lambda m, s, b: reports.append(m))
    assert trainer.x_train.device.type == "cuda"
    assert next(trainer.model.parameters()).device.type == "cuda"
    assert reports[-1]["val_acc"] > 0.5
