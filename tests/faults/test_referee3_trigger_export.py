"""Referee 3 (trigger): model.json's sizes counted independently, for the edge shapes a
trigger search draws (width 1, depth 1, batch norm + PReLU + dropout, logistic), and the
exported folder used in a clean process that cannot import jetstudy.

model.json gave only the trained ``n_params`` while the README promised the deployed
architecture's parameters too (batch norm folds away: the FPGA holds fewer numbers), no FLOPs
in the unit of ``trials.parquet``, and a relative study path that meant nothing once the
export folder moved.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from jetstudy.study.export import export_model
from jetstudy.trainables.model import MLPArch, build_mlp, count_flops
from jetstudy.study.evaluate import evaluate_best
from jetstudy.trainables.trialfiles import state_path
from tests.study.hand_study import add_trial, hand_study

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")

ARCHS = {
    "w1": MLPArch(16, (1,), dropout=0.2),                              # width 1, depth 1
    "bn_prelu_w1": MLPArch(16, (3, 1, 2), activation="prelu", batch_norm=True, dropout=0.4),
    "logistic": MLPArch(16, ()),
}


def _model(arch: MLPArch, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_mlp(arch)
    for m in model:  # batch norm with statistics far from (0, 1), a trained-looking slope
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.3, 3)
            m.weight.data.uniform_(0.5, 2)
            m.bias.data.uniform_(-0.5, 0.5)
        if isinstance(m, torch.nn.PReLU):
            m.weight.data.fill_(0.07)
    return model.eval()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, folder, prepared, trials = hand_study(tmp_path_factory.mktemp("trigger"), 1000)
    for i, (tid, arch) in enumerate(ARCHS.items()):
        add_trial(trials, tid, {"depth": len(arch.widths), "l1": 1e-4, "l2": 1e-3}, arch,
                  _model(arch, i).state_dict(), 1, 1.0, 0.5, 0.7)
    # w1 is the study's best: best/model.pt and best/test_metrics.json
    evaluate_best(state_path(trials, "w1"), "w1", prepared.splits, prepared.synthetic,
                  folder / "best", expected_epoch=1, n_boot=5)
    return folder


def _independent(arch: MLPArch) -> dict[str, int]:
    """Counted by hand from the layer sizes, not by jetstudy's own functions."""
    sizes = [16, *arch.widths, 5]
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    linear = macs + sum(sizes[1:])                      # weights + biases
    slopes = len(arch.widths) if arch.activation == "prelu" else 0
    bn = 2 * sum(arch.widths) if arch.batch_norm else 0  # gamma, beta (trained, folded away)
    return {"multiplications": macs, "flops": 2 * macs, "deployed_params": linear + slopes,
            "n_params": linear + slopes + bn}


@pytest.mark.parametrize("trial_id", list(ARCHS))
def test_model_json_sizes_are_the_architectures(study: Path, tmp_path: Path,
                                                trial_id: str) -> None:
    arch = ARCHS[trial_id]
    out = export_model(study, trial_id, tmp_path / "o").out
    meta = json.loads((out / "model.json").read_text())
    got = meta["architecture"]
    want = _independent(arch)
    assert {k: got[k] for k in want} == want
    assert want["n_params"] == sum(p.numel() for p in build_mlp(arch).parameters())
    assert got["flops"] == count_flops(arch)  # the unit trials.parquet's flops column uses
    assert got["dropout_removed"] == (arch.dropout > 0)
    assert Path(meta["study"]).is_absolute() and Path(meta["study"]) == study.absolute()
    assert meta["training_config"]["trial"]["l1"] == 1e-4  # the trial's own hyperparameters
    # the folder travels: what made it goes with it (no provenance.json in this hand-made
    # study: the study part says so with null; the exporting versions are always there)
    import onnx
    import onnxruntime

    assert meta["provenance"]["exported_with"]["onnx"] == onnx.__version__
    assert meta["provenance"]["exported_with"]["onnxruntime"] == onnxruntime.__version__
    assert meta["provenance"]["study"] is None
    # model.onnx alone says its input and output order, and who made it
    import onnxruntime as ort

    from jetstudy.trainables.schema import CLASSES, HLF_FEATURES

    info = ort.InferenceSession(str(out / "model.onnx"),
                                providers=["CPUExecutionProvider"]).get_modelmeta()
    props = info.custom_metadata_map
    assert props["features"].split(",") == list(HLF_FEATURES)
    assert props["classes"].split(",") == list(CLASSES)
    assert props["trial_id"] == trial_id and info.producer_name == "jetstudy"
    readme = (out / "README.md").read_text()
    assert (f"{want['n_params']} trained parameters ({want['deployed_params']} in the\n"
            f"deployed network), {want['multiplications']} multiplications per jet") in readme


def test_the_export_and_its_readme_snippets_run_where_jetstudy_cannot_be_imported(
        study: Path, tmp_path: Path) -> None:
    """In a fresh process where importing jetstudy fails, each Python block of the export's
    README (onnxruntime, torch) runs on its own, as written, with the user's `jets` a plain
    list of float64 rows, and gives the study's probabilities. The torch block used the
    onnxruntime block's float32 `x` (alone: a NameError; on float64 jets: a dtype error)."""
    import re

    out = export_model(study, "bn_prelu_w1", tmp_path / "o").out
    blocks = re.findall(r"```python\n(.*?)```", (out / "README.md").read_text(), re.S)[:2]
    assert "onnxruntime" in blocks[0] and "torch.jit.load" in blocks[1]  # hls4ml's needs it
    scaler = json.loads((study / "scaler.json").read_text())
    rng = np.random.default_rng(5)
    jets = (np.asarray(scaler["mean"]) * (1 + 0.1 * rng.standard_normal((20, 16)))).tolist()
    z = (np.asarray(jets) - scaler["mean"]) / np.asarray(scaler["std"])
    with torch.no_grad():
        want = torch.softmax(_model(ARCHS["bn_prelu_w1"], 1)(
            torch.as_tensor(z, dtype=torch.float32)), 1).numpy()
    script = f"""
import sys, importlib.abc
class NoJetstudy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'jetstudy':
            raise ImportError('jetstudy is not installed here')
sys.meta_path.insert(0, NoJetstudy())
import numpy as np
got = []
for block in {blocks!r}:
    names = {{"jets": {jets!r}}}
    exec(block, names)  # each block on its own
    got.append(np.asarray(names["probabilities"]))
np.save('got.npy', np.stack(got))
assert not any(m.startswith('jetstudy') for m in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=out,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for got in np.load(out / "got.npy"):
        assert np.abs(got - want).max() < 1e-5


@pytest.mark.parametrize("bad", [None, "x", float("inf"), float("nan"), True, "swap"])
def test_damaged_training_ranges_are_one_error(study: Path, tmp_path: Path, bad: object,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """scaler.json's min/max damaged by hand: a TypeError, OverflowError or numpy traceback
    (exit 1), a NaN 'please report this', or a bool taken for a number."""
    import shutil

    from jetstudy.study.cli import main

    copy = tmp_path / "s"
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns("data"))
    scaler = json.loads((copy / "scaler.json").read_text())
    if bad == "swap":
        scaler["min"][2], scaler["max"][2] = scaler["max"][2], scaler["min"][2]
    else:
        scaler["max"][3] = bad
    (copy / "scaler.json").write_text(json.dumps(scaler))
    assert main(["export", str(copy), "--trial", "w1", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "scaler.json is damaged" in err and ("`max`" in err or "`min`" in err)
    assert "Traceback" not in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", ["damaged", "other_epoch", "string_accuracy"])
def test_test_metrics_of_other_weights_or_damaged_are_not_claimed(
        study: Path, tmp_path: Path, case: str) -> None:
    """best/test_metrics.json was copied into model.json for any epoch of the best trial, and
    a damaged one (no model accuracy) stopped the export with a KeyError in the README."""
    import shutil

    copy = tmp_path / "s"
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns("data"))
    path = copy / "best" / "test_metrics.json"
    good = json.loads(path.read_text())
    assert good["trial_id"] == "w1" and good["epoch"] == 1
    bad = {"damaged": {"trial_id": "w1", "epoch": 1, "model": {}},
           "other_epoch": {**good, "epoch": 7},
           "string_accuracy": {**good, "model": {**good["model"], "accuracy": "0.8"}}}[case]
    path.write_text(json.dumps(bad))
    out = export_model(copy, None, tmp_path / "o").out
    meta = json.loads((out / "model.json").read_text())
    assert meta["trial_id"] == "w1" and meta["test_metrics"] is None
    assert ("epoch 7" if case == "other_epoch" else "damaged") in meta["test_metrics_note"]
    assert "Test metrics: none (" in (out / "README.md").read_text()
    path.write_text(json.dumps(good))  # and the intact file is given as it is
    meta = json.loads((export_model(copy, None, tmp_path / "o2").out / "model.json").read_text())
    assert meta["test_metrics"] == good and meta["test_metrics_note"] is None


def test_model_json_carries_the_studys_provenance(study: Path, tmp_path: Path) -> None:
    import shutil

    from jetstudy.study.provenance import write_provenance

    copy = tmp_path / "s"
    shutil.copytree(study, copy, ignore=shutil.ignore_patterns("data"))
    write_provenance(copy, "cpu")
    record = json.loads((copy / "provenance.json").read_text())
    meta = json.loads((export_model(copy, "w1", tmp_path / "o").out / "model.json").read_text())
    for key in ("versions", "git", "code_sha256", "data"):
        assert meta["provenance"]["study"][key] == record[key], key
