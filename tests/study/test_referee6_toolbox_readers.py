"""Referee 6 (toolbox): a physicist loads ``best/`` with plain torch, following the README.

The README said where the best model's weights are (``best/model.pt``) and that they load with
``torch.load(..., weights_only=True)``, but not how to get probabilities from them: the model
wants the standardised inputs of ``scaler.json`` in its feature order, eval mode (batch norm's
running statistics, no dropout) and a softmax it leaves to the loss. Each step left out gives
plausible-looking but wrong numbers. Now a README block does it; this test runs that block as
written (only the study folder and the table's place differ) on a hand-made study folder whose
model has batch norm, dropout and PReLU, and a Format B table with its columns in another
order, and compares with the study's own evaluation path (``load_best_model`` +
``Standardiser`` + ``predict_proba``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from jetstudy.study.evaluate import load_best_model
from jetstudy.trainables.data import Standardiser
from jetstudy.trainables.loop import predict_proba
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.schema import HLF_FEATURES

README = Path(__file__).parents[2] / "README.md"
MEAN = np.array([-3.0, 0.45, 0.05, 0.02, 0.06, 0.03, 1.3, 1.5, 1.3, 0.15, 0.07, 0.04, 0.3, 0.2,
                 80.0, 45.0])
STD = np.array([0.6, 0.05, 0.04, 0.015, 0.05, 0.02, 0.6, 1.2, 0.6, 0.08, 0.04, 0.03, 0.1, 0.08,
                50.0, 20.0])


def _block() -> str:
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                if "best/model.pt" in b]
    return block


def _study(folder: Path) -> None:
    (folder / "best").mkdir(parents=True)
    (folder / "scaler.json").write_text(json.dumps(
        {"features": list(HLF_FEATURES), "mean": MEAN.tolist(), "std": STD.tolist()}))
    arch = MLPArch(16, (12, 6), activation="prelu", dropout=0.3, batch_norm=True)
    torch.manual_seed(3)
    model = build_mlp(arch)
    for layer in model.modules():  # trained-looking statistics: eval mode matters
        if isinstance(layer, torch.nn.BatchNorm1d):
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.3, 3)
        if isinstance(layer, torch.nn.PReLU):
            layer.weight.data.fill_(-0.4)
    torch.save({"arch": arch.to_dict(), "state_dict": model.state_dict(), "trial_id": "t1",
                "epoch": 1}, folder / "best" / "model.pt")
    # the trial's own record, which the study's test evaluation reads
    (folder / "trials" / "t1").mkdir(parents=True)
    torch.save({"model": model.state_dict(), "arch": arch.to_dict(), "epoch": 1, "value": 0.6},
               folder / "trials" / "t1" / "best.pt")


def test_the_readme_block_gives_the_studys_own_probabilities(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    block = _block()
    assert 'study = "results/demo"' in block and "hls4ml_lhc_jets_hlf.parquet" in block
    _study(tmp_path / "results" / "demo")
    rng = np.random.default_rng(0)
    raw = MEAN + STD * rng.normal(size=(300, 16))
    names = [f.removeprefix("j_") for f in HLF_FEATURES]
    table = pd.DataFrame(raw, columns=names)
    table["class"] = rng.choice(list("gqtwz"), size=len(table))
    table[["class", *names[::-1]]].to_parquet(tmp_path / "hls4ml_lhc_jets_hlf.parquet")
    monkeypatch.chdir(tmp_path)  # the block's relative paths, as a user runs it
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)  # noqa: S102 (the README's own code)
    probs = scope["probs"].numpy()

    model, _, _ = load_best_model(tmp_path / "results" / "demo" / "trials" / "t1" / "state.pt")
    scaler = Standardiser.from_dict(json.loads(
        (tmp_path / "results" / "demo" / "scaler.json").read_text()))
    want = predict_proba(model, torch.from_numpy(scaler.transform(raw))).numpy()
    assert probs.shape == (300, 5)
    np.testing.assert_allclose(probs, want, atol=1e-6)
    # it matters: in train mode (dropout, batch statistics) the numbers are others
    model.train()
    with torch.no_grad():
        in_train_mode = torch.softmax(model(torch.from_numpy(scaler.transform(raw))), 1)
    assert np.abs(in_train_mode.numpy() - want).max() > 1e-3


def test_the_readme_says_which_path_and_run_trial_tune_restores() -> None:
    """``tune.Tuner.restore(path, run_trial)`` named neither: a relative ``results/demo/ray``
    fails in Ray with ``URI has empty scheme``, and ``run_trial`` was nowhere imported."""
    text = " ".join(README.read_text().split())
    sentence = text[text.index("tune.Tuner.restore(path, run_trial)"):][:400]
    assert "absolute path" in sentence and ".resolve()" in sentence, sentence
    (module,) = re.findall(r"from (jetstudy\.\S+) import run_trial", sentence)
    assert callable(getattr(__import__(module, fromlist=["run_trial"]), "run_trial"))
