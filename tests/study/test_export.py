"""``jetstudy export``: the exported ONNX and TorchScript models, fed raw real-format jets, give
the study's own probabilities (to 1e-5), for the study's best model its saved test predictions.

The study folder is built without Ray, by the same code a study runs: ``prepare_data`` and
``write_config`` (synthetic jets, scaler.json with the training ranges), a few trained models
saved as trials' ``best.pt`` by ``jetstudy.trainables.checkpoint.save_best``, and the best one evaluated
on the test split by ``jetstudy.study.evaluate.evaluate_best`` (best/model.pt, test_predictions.parquet).
One model has batch norm with non-trivial running statistics, one PReLU.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch

from jetstudy.study.cli import main
from jetstudy.study.deployable import fold_for_deployment
from jetstudy.study.evaluate import evaluate_best, load_best_model
from jetstudy.study.export import MANIFEST, ExportError, export_model
from tests.conftest import REAL_JETS, make_small_config
from tests.study.hand_study import add_trial, hand_study
from jetstudy.trainables.data import Standardiser, load_jets, split_jets
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.schema import CLASSES, HLF_FEATURES
from jetstudy.trainables.synth import write_synthetic
from jetstudy.trainables.trialfiles import best_path, state_path, trial_folder

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

TOL = 1e-5
#: trial id -> architecture; "bn_prelu" is the study's best (evaluated on the test split)
ARCHS = {
    "relu_dropout": MLPArch(16, (24, 12), activation="relu", dropout=0.3),
    "bn_prelu": MLPArch(16, (20, 10), activation="prelu", batch_norm=True, dropout=0.1),
    "bn_elu": MLPArch(16, (16,), activation="elu", batch_norm=True),
    "logistic": MLPArch(16, ()),
}
BEST, BEST_EPOCH = "bn_prelu", 3


def _train(arch: MLPArch, x: np.ndarray, y: np.ndarray, seed: int) -> torch.nn.Module:
    """A few Adam steps in training mode: batch norm gathers running statistics far from
    (0, 1) and PReLU's slope moves off its 0.25."""
    torch.manual_seed(seed)
    model = build_mlp(arch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    model.train()
    for _ in range(25):
        idx = torch.randint(0, len(xt), (512,))
        loss = torch.nn.functional.cross_entropy(model(xt[idx] * 1.5 + 0.3), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    cfg, folder, prepared, trials = hand_study(tmp_path_factory.mktemp("export"), 3000)
    splits = prepared.splits
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: more threads only contend on a busy machine
    try:
        models = {tid: _train(arch, splits.x_train, splits.y_train, seed=i)
                  for i, (tid, arch) in enumerate(ARCHS.items())}
    finally:
        torch.set_num_threads(threads)
    for tid, model in models.items():
        arch = ARCHS[tid]
        add_trial(trials, tid, {"depth": len(arch.widths), "activation": arch.activation},
                  arch, model.state_dict(), BEST_EPOCH, 0.9, 0.6, 0.8)
    evaluate_best(state_path(trials, BEST), BEST, splits, prepared.synthetic, folder / "best",
                  expected_epoch=BEST_EPOCH, n_boot=20)
    return {"folder": folder, "cfg": cfg, "splits": splits}


def _outputs(out: Path, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of the exported ONNX (onnxruntime) and TorchScript (torch) models."""
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    p_onnx = session.run(None, {"features": x.astype(np.float32)})[0]
    scripted = torch.jit.load(str(out / "model.pt"))
    with torch.no_grad():
        p_ts = scripted(torch.as_tensor(x, dtype=torch.float32)).numpy()
    return p_onnx, p_ts


def _study_probs(folder: Path, trial_id: str, x: np.ndarray) -> np.ndarray:
    """The study's own answer: its scaler, then the trial's best-epoch model, then softmax."""
    scaler = Standardiser.from_dict(json.loads((folder / "scaler.json").read_text()))
    model, _, _ = load_best_model(state_path(str(folder / "trials"), trial_id))
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(scaler.transform(x))), 1).numpy()


def _format_a(tmp: Path) -> np.ndarray:
    write_synthetic(tmp / "a", 2500, seed=9)
    return load_jets(str(tmp / "a")).x


def _format_b(tmp: Path) -> np.ndarray:
    table = pd.read_csv(REAL_JETS, comment="#").drop(columns=["source"])
    table = table.rename(columns={"label_str": "class"})
    table.to_csv(tmp / "jets.csv", index=False)
    return load_jets(str(tmp / "jets.csv")).x


def test_study_best_reproduces_its_test_predictions(study, tmp_path: Path) -> None:
    folder, cfg = study["folder"], study["cfg"]
    outcome = export_model(folder)
    assert outcome.trial_id == BEST and outcome.epoch == BEST_EPOCH
    assert outcome.out == folder / "export" / BEST
    # the test jets again, raw, from the study's own data and split
    d = cfg.data
    splits = split_jets(load_jets(str(folder / "data")), d.val_fraction, d.test_fraction,
                        d.split_seed)
    saved = pd.read_parquet(folder / "best" / "test_predictions.parquet")
    np.testing.assert_array_equal(saved["label"], splits.y_test)
    want = saved[[f"p_{c}" for c in CLASSES]].to_numpy()
    for got in _outputs(outcome.out, splits.x_test_raw):
        assert np.abs(got - want).max() < TOL
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    meta = json.loads((outcome.out / "model.json").read_text())
    assert meta["test_metrics"] == json.loads((folder / "best" / "test_metrics.json").read_text())
    assert meta["input"]["features"] == list(HLF_FEATURES)
    assert meta["output"]["classes"] == list(CLASSES) == ["g", "q", "W", "Z", "t"]
    assert meta["trial_id"] == BEST and meta["best_epoch"] == BEST_EPOCH
    assert meta["training_config"]["study"]["storage"]["name"] == "s"
    assert meta["validation_at_best_epoch"] == {"val_loss": 0.9, "val_acc": 0.6, "val_auc": 0.8}
    raw_train = study["splits"].scaler.inverse_transform(study["splits"].x_train)
    ranges = meta["input_ranges"]
    for j, f in enumerate(HLF_FEATURES):
        assert ranges[f]["min"] == pytest.approx(raw_train[:, j].min(), rel=1e-5, abs=1e-6)
        assert ranges[f]["max"] == pytest.approx(raw_train[:, j].max(), rel=1e-5, abs=1e-6)
    readme = (outcome.out / "README.md").read_text()
    for needle in ("onnxruntime", "torch.jit.load", "config_from_onnx_model",
                   "convert_from_onnx_model", "hls4ml 1.3.0", "j_mass_mmdt"):
        assert needle in readme


@pytest.mark.parametrize("trial_id", list(ARCHS))
@pytest.mark.parametrize("fmt", ["A", "B"])
def test_raw_real_format_jets_give_the_study_models_probabilities(study, tmp_path: Path,
                                                                    trial_id: str,
                                                                    fmt: str) -> None:
    folder = study["folder"]
    x = _format_a(tmp_path) if fmt == "A" else _format_b(tmp_path)
    outcome = export_model(folder, trial_id, tmp_path / "out")
    want = _study_probs(folder, trial_id, x)
    for got in _outputs(outcome.out, x):
        assert got.shape == (len(x), 5)
        assert np.abs(got - want).max() < TOL


def test_batch_norm_and_dropout_are_folded_prelu_kept(study, tmp_path: Path) -> None:
    folder = study["folder"]
    weights = torch.load(best_path(str(folder / "trials"), "bn_prelu"), weights_only=True)
    stats = weights["model"]["1.running_mean"], weights["model"]["1.running_var"]
    assert stats[0].abs().max() > 0.1 and (stats[1] - 1).abs().max() > 0.1  # non-trivial
    assert weights["model"]["2.weight"].item() != pytest.approx(0.25)       # PReLU trained
    meta = json.loads((export_model(folder, "bn_prelu", tmp_path / "o").out
                       / "model.json").read_text())
    import onnx

    nodes = [n.op_type for n in onnx.load(str(tmp_path / "o" / "model.onnx")).graph.node]
    assert nodes == ["MatMul", "Add", "LeakyRelu", "MatMul", "Add", "LeakyRelu", "MatMul",
                     "Add", "Softmax"]  # PReLU's one slope as LeakyRelu; no BN, no dropout
    kinds = [layer["type"] for layer in meta["architecture"]["deployed_layers"]]
    assert kinds == ["Linear", "PReLU", "Linear", "PReLU", "Linear", "Softmax"]
    assert meta["architecture"]["batch_norm_folded"] and meta["architecture"]["dropout_removed"]
    assert meta["architecture"]["multiplications"] == 16 * 20 + 20 * 10 + 10 * 5
    assert meta["test_metrics"] is not None  # the study's best, also when named by --trial


def test_other_trials_have_no_test_metrics(study, tmp_path: Path) -> None:
    out = export_model(study["folder"], "logistic", tmp_path / "o").out
    meta = json.loads((out / "model.json").read_text())
    assert meta["test_metrics"] is None and "best trial" in meta["test_metrics_note"]
    assert meta["weights_from"] == "trials/logistic/best.pt"


def test_a_feature_constant_in_training_folds_like_the_study() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 16)).astype(np.float32) * 3 + 7
    x[:, 5] = 2.5  # constant in training: the standardiser uses std 1.0 for it
    scaler = Standardiser.fit(x)
    assert scaler.std[5] == 1.0
    model = build_mlp(MLPArch(16, (8,))).eval()
    folded = fold_for_deployment(model, scaler.mean, scaler.std)
    probe = x.copy()
    probe[:50, 5] = 4.0  # a deployed jet where it differs
    with torch.no_grad():
        want = torch.softmax(model(torch.as_tensor(scaler.transform(probe))), 1).numpy()
        got = folded(torch.as_tensor(probe)).numpy()
    assert np.abs(got - want).max() < TOL
    zero = fold_for_deployment(model, scaler.mean, np.where(scaler.std == 1.0, 0.0, scaler.std))
    with torch.no_grad():  # a std of 0 (a hand-edited scaler.json) is read as 1.0, like fit's
        assert torch.equal(zero(torch.as_tensor(probe)), folded(torch.as_tensor(probe)))


def test_a_study_without_recorded_ranges_says_unknown(study, tmp_path: Path) -> None:
    old = tmp_path / "old"
    shutil.copytree(study["folder"], old, ignore=shutil.ignore_patterns("data", "export"))
    scaler = json.loads((old / "scaler.json").read_text())
    (old / "scaler.json").write_text(json.dumps({k: scaler[k] for k in ("features", "mean",
                                                                         "std")}))
    out = export_model(old, out=tmp_path / "o").out
    assert json.loads((out / "model.json").read_text())["input_ranges"] == "unknown"
    assert "ranges seen in training are unknown" in (out / "README.md").read_text()


# ---- refusals ------------------------------------------------------------------------------

def test_not_a_study_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "not a jetstudy results folder" in err
    assert "Traceback" not in err


def test_unknown_trial_lists_valid_ids(study, capsys) -> None:
    assert main(["export", str(study["folder"]), "--trial", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "bn_prelu" in err and "logistic" in err


def test_trial_without_weights_is_refused(study, tmp_path: Path) -> None:
    copy = tmp_path / "c"
    shutil.copytree(study["folder"], copy, ignore=shutil.ignore_patterns("data", "export"))
    trial_folder(str(copy / "trials"), "fresh", {"depth": 1})
    with pytest.raises(ExportError, match="'fresh'.*holds no weights"):
        export_model(copy, "fresh", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_user_files_are_never_overwritten_even_with_force(study, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "model.onnx").write_text("my own model")
    for force in (False, True):
        with pytest.raises(ExportError, match="did not write.*model.onnx"):
            export_model(study["folder"], "logistic", out, force=force)
    assert (out / "model.onnx").read_text() == "my own model"
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx"]


def test_an_earlier_export_is_replaced_only_with_force(study, tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    folder = str(study["folder"])
    assert main(["export", folder, "--trial", "logistic", "-o", str(out)]) == 0
    assert "exported trial logistic" in capsys.readouterr().out
    assert main(["export", folder, "--trial", "relu_dropout", "-o", str(out)]) == 2
    assert "earlier export; pass --force" in capsys.readouterr().err
    assert main(["export", folder, "--trial", "relu_dropout", "-o", str(out), "--force"]) == 0
    assert json.loads((out / "model.json").read_text())["trial_id"] == "relu_dropout"
    assert json.loads((out / MANIFEST).read_text())["trial_id"] == "relu_dropout"
    (out / "README.md").write_text("edited by hand")  # now the user's
    with pytest.raises(ExportError, match="changed since.*README.md"):
        export_model(folder, "logistic", out, force=True)
    assert (out / "README.md").read_text() == "edited by hand"


def test_missing_extra_names_the_pip_command(study, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(ExportError, match=r"pip install 'jetstudy\[export\]'"):
        export_model(study["folder"], out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_export_of_a_real_study_from_the_command_line(ray_cluster, tmp_path: Path,
                                                     capsys) -> None:
    """A real (tiny) Ray study with batch norm and PReLU, then `jetstudy export RESULTS`:
    the files are there and reproduce the study's saved test predictions."""
    from jetstudy.study.launch import run_study

    cfg = make_small_config(tmp_path, "real", data={"synthetic_jets": 3000},
                            space={"activations": ["prelu"], "batch_norm": [True]},
                            search={"num_trials": 2, "max_concurrent": 2},
                            scheduler={"type": "fifo", "max_epochs": 2})
    outcome = run_study(cfg)
    assert main(["export", str(outcome.folder)]) == 0
    best = json.loads((outcome.folder / "best" / "test_metrics.json").read_text())
    out = outcome.folder / "export" / best["trial_id"]
    assert f"exported trial {best['trial_id']}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, "README.md", "model.json", "model.onnx", "model.pt"])
    d = cfg.data
    splits = split_jets(load_jets(str(outcome.folder / "data")), d.val_fraction,
                        d.test_fraction, d.split_seed)
    saved = pd.read_parquet(outcome.folder / "best" / "test_predictions.parquet")
    want = saved[[f"p_{c}" for c in CLASSES]].to_numpy()
    for got in _outputs(out, splits.x_test_raw):
        assert np.abs(got - want).max() < TOL
    meta = json.loads((out / "model.json").read_text())
    assert meta["best_epoch"] == best["epoch"] and meta["test_metrics"] == best
    assert isinstance(meta["input_ranges"], dict)
