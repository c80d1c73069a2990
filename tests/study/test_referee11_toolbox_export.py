"""Round 11, toolbox: ``jetstudy export --trial`` of a study whose driver ended (or died)
before its first ``trials.parquet``. Round 10 let any such trial go with ``fully_trained:
"undetermined"``, though each trial's own epoch log (``trials/<id>/epochs.jsonl``) and the
study's ``scheduler.max_epochs`` settle it, by the rule the tables' writer applies to a trial
Tune does not know (all epochs, or converged by its patience; not when it diverged). Now a
trial cut short is refused as one the table calls stopped is (exit 2, naming its status,
epochs and ``--allow-unfinished``, nothing written), a full one goes and ``model.json`` says
it is fully trained and where that was read.

The study folder is built without Ray (tests/study/hand_study.py): prepared synthetic jets,
config.yaml (max_epochs 4), trials with their best weights and epoch logs, no table, no lock.

Also checked (held): the activations the earlier export tests left out (tanh, gelu, silu,
leaky_relu; relu, elu and prelu are in tests/study/test_export.py), each with batch norm and
dropout, exported and run on raw test jets by onnxruntime and TorchScript agree with the
study's own standardise-model-softmax to the stated 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from jetstudy.study.cli import main
from jetstudy.study.export import export_model
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.trialfiles import append_epoch, mark_diverged
from tests.study.hand_study import add_trial, hand_study

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

#: trial id -> (epochs in its log, the last one converged, diverged); max_epochs 4
TRIALS = {"full": (4, False, False), "cut": (2, False, False), "conv": (2, True, False),
          "div": (2, False, True)}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, folder, _, trials = hand_study(tmp_path_factory.mktemp("no_table"), 2000)
    arch = MLPArch(16, (8,))
    for i, (tid, (epochs, converged, diverged)) in enumerate(TRIALS.items()):
        torch.manual_seed(i)
        add_trial(trials, tid, {"depth": 1, "width": 8}, arch, build_mlp(arch).state_dict(),
                  1, 1.0, 0.5, 0.7, last_epoch=epochs - converged)
        if converged:  # its patience ended it: the last line says so
            append_epoch(trials, tid, {"epoch": epochs, "val_loss": 1.1, "val_acc": 0.5,
                                       "val_auc": 0.7}, converged=True)
        if diverged:
            mark_diverged(trials, tid, "train loss nan at epoch 3")
    assert not (folder / "trials.parquet").exists() and not (folder / "best").exists()
    return folder


@pytest.mark.parametrize("tid,words", [
    ("cut", "trial cut is not fully trained (status stopped, 2 of 4 epochs)"),
    ("div", "trial div is not fully trained (status failed, 2 of 4 epochs)"),
])
def test_a_trial_cut_short_before_the_first_table_is_refused_by_its_epoch_log(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tid: str,
        words: str) -> None:
    out = tmp_path / "o"
    assert main(["export", str(study), "--trial", tid, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and "pass --allow-unfinished" in err, err
    assert "a completed trial (conv, full)" in err, err
    # no best/model.pt in this study: the refusal does not send the user to export it
    assert "the study's best (no --trial)" not in err, err
    assert not out.exists()


def test_with_the_flag_it_goes_and_says_not_fully_trained(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o"
    assert main(["export", str(study), "--trial", "cut", "-o", str(out),
                 "--allow-unfinished"]) == 0
    assert "NOT FULLY TRAINED (status stopped, 2 of 4 epochs)" in capsys.readouterr().out
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["fully_trained"] is False and training["epochs"] == 2, training


@pytest.mark.parametrize("tid,epochs", [("full", 4), ("conv", 2)])
def test_a_full_or_converged_trial_goes_and_model_json_says_fully_trained(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tid: str,
        epochs: int) -> None:
    out = tmp_path / "o"
    assert main(["export", str(study), "--trial", tid, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "undetermined" not in printed and "NOT FULLY" not in printed, printed
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["fully_trained"] is True, training
    assert (training["status"], training["epochs"], training["max_epochs"]) == (
        "completed", epochs, 4), training
    assert f"trials/{tid}/epochs.jsonl" in training["note"], training


def test_a_finished_trial_the_last_snapshot_missed_goes_by_its_epoch_log(
        study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trials.parquet written before trial 'full' started (the driver died before the next
    snapshot): its log shows all 4 epochs, so it is fully trained; 'cut' (2 of 4) without a
    row stays unknown, refused as round 10 refuses it."""
    import shutil

    import pandas as pd

    snap = tmp_path / "snap"
    shutil.copytree(study, snap)
    pd.DataFrame([{"trial_id": "conv", "trial_number": 0, "status": "completed", "epochs": 2,
                   "max_epochs": 4, "best_epoch": 1, "best_val_loss": 1.0, "n_params": 181}]
                 ).to_parquet(snap / "trials.parquet")
    assert main(["export", str(snap), "--trial", "full", "-o", str(tmp_path / "o")]) == 0
    training = json.loads((tmp_path / "o" / "model.json").read_text())["training"]
    assert training["fully_trained"] is True and training["epochs"] == 4, training
    assert "no row in trials.parquet; read from trials/full/epochs.jsonl" in training["note"]
    assert main(["export", str(snap), "--trial", "cut", "-o", str(tmp_path / "p")]) == 2
    assert "how far trial cut trained is unknown (trial cut has no row" in \
        capsys.readouterr().err


def test_without_best_the_message_names_the_trials_the_logs_call_fully_trained(
        study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(study)]) == 2
    err = capsys.readouterr().err
    assert "pass --trial ID to export one trial's best epoch, a fully trained one: conv, full" \
        in err, err


# ---- every activation the space offers, with batch norm and dropout: files vs torch ----------

#: the space's activations (study.config.ACTIVATIONS) the earlier export tests left out
#: (tanh, gelu, silu, leaky_relu), each with batch norm (running statistics far from (0, 1))
#: and dropout, two hidden layers
CORNERS = ("tanh", "gelu", "silu", "leaky_relu")


@pytest.fixture(scope="module")
def corners(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    _, folder, prepared, trials = hand_study(tmp_path_factory.mktemp("corners"), 2000)
    for i, act in enumerate(CORNERS):
        arch = MLPArch(16, (12, 6), activation=act, batch_norm=True, dropout=0.2)
        torch.manual_seed(100 + i)
        model = build_mlp(arch)
        for m in model:
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.3, 3)
                m.weight.data.uniform_(0.5, 2)
                m.bias.data.uniform_(-0.5, 0.5)
        add_trial(trials, act, {"depth": 2, "activation": act}, arch, model.state_dict(),
                  1, 1.0, 0.5, 0.7)  # its epoch log runs all 4 epochs: fully trained
    return folder, prepared


@pytest.mark.parametrize("act", CORNERS)
def test_each_activation_exports_to_the_study_models_probabilities(
        corners: tuple[Path, Any], tmp_path: Path, act: str) -> None:
    """Raw test jets through model.onnx (onnxruntime) and model.pt (TorchScript) against the
    study's own standardise-model-softmax: within the export's stated 1e-5."""
    import numpy as np
    import onnxruntime as ort

    from jetstudy.study.evaluate import load_best_model
    from jetstudy.trainables.data import Standardiser
    from jetstudy.trainables.trialfiles import state_path

    folder, prepared = corners
    outcome = export_model(folder, act, tmp_path / "o")
    scaler = Standardiser.from_dict(json.loads((folder / "scaler.json").read_text()))
    raw = np.asarray(prepared.splits.x_test_raw, dtype=np.float64)
    model, _, _ = load_best_model(state_path(str(folder / "trials"), act))
    with torch.no_grad():
        want = torch.softmax(model(torch.as_tensor(scaler.transform(raw))), 1).numpy()
    session = ort.InferenceSession(str(outcome.out / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    got_onnx = session.run(None, {"features": raw.astype(np.float32)})[0]
    with torch.no_grad():
        got_ts = torch.jit.load(str(outcome.out / "model.pt"))(
            torch.as_tensor(raw, dtype=torch.float32)).numpy()
    assert np.abs(got_onnx - want).max() < 1e-5 and np.abs(got_ts - want).max() < 1e-5
