"""The one look at the test split, refereed: missing or unreadable weights give a clear error
and write nothing; a finished evaluation replaces ``best/`` as a whole; a test split with
one class gives no AUC rather than a warning."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from jetstudy.study.evaluate import (BestEpochMismatch, classification_metrics, evaluate_best,
                                     load_best_model)
from jetstudy.trainables.checkpoint import save_best
from jetstudy.trainables.data import JetSplits
from jetstudy.trainables.model import MLPArch, build_mlp
from jetstudy.trainables.trialfiles import BEST_FILE, state_path

ARCH = MLPArch(n_inputs=16, widths=(8,))


def _splits(n: int = 60) -> JetSplits:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 16)).astype(np.float32)
    y = np.arange(n) % 5
    return JetSplits(x_train=x, y_train=y, x_val=x, y_val=y, x_test=x, y_test=y,
                     x_test_raw=x, x_val_raw=x, scaler=None, summary={})


def _trial_with_best(tmp_path, epoch: int = 4):
    torch.manual_seed(0)
    state = state_path(str(tmp_path / "trials"), "t")
    state.parent.mkdir(parents=True)
    save_best(state.with_name(BEST_FILE), {"epoch": epoch, "value": 0.6,
                                           "model": build_mlp(ARCH).state_dict()},
              ARCH.to_dict())
    return state


def test_a_trial_without_weights_is_a_clear_error_and_writes_nothing(tmp_path):
    state = state_path(str(tmp_path / "trials"), "t")
    state.parent.mkdir(parents=True)
    with pytest.raises(BestEpochMismatch, match="neither best.pt nor state.pt.*not evaluated"):
        evaluate_best(state, "t", _splits(), False, tmp_path / "best", expected_epoch=3)
    assert not (tmp_path / "best").exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"])
def test_an_unreadable_best_file_is_a_clear_error_not_a_torch_traceback(tmp_path, content):
    state = state_path(str(tmp_path / "trials"), "t")
    state.parent.mkdir(parents=True)
    state.with_name(BEST_FILE).write_bytes(content)
    with pytest.raises(BestEpochMismatch, match="best.pt cannot be read"):
        load_best_model(state, 3)
    with pytest.raises(BestEpochMismatch):
        evaluate_best(state, "t", _splits(), False, tmp_path / "best", expected_epoch=3)
    assert not (tmp_path / "best").exists()


def test_weights_of_another_epoch_leave_the_previous_evaluation_untouched(tmp_path):
    state = _trial_with_best(tmp_path, epoch=4)
    out = tmp_path / "best"
    evaluate_best(state, "t", _splits(), False, out, expected_epoch=4, n_boot=5)
    before = (out / "test_metrics.json").read_bytes()
    with pytest.raises(BestEpochMismatch, match="names epoch 5 .* weights are of epoch 4"):
        evaluate_best(state, "t", _splits(), False, out, expected_epoch=5, n_boot=5)
    assert (out / "test_metrics.json").read_bytes() == before


def test_an_evaluation_replaces_best_as_a_whole(tmp_path):
    state = _trial_with_best(tmp_path, epoch=4)
    out = tmp_path / "best"
    out.mkdir()
    (out / "test_metrics.json").write_text('{"trial_id": "old"}')
    # a temporary a killed earlier evaluation left (a user's file there is never deleted:
    # tests/faults/test_referee3_paths.py)
    (out / ".test_metrics.json.k3j4h5g6.tmp").write_text("from an earlier evaluation")
    metrics = evaluate_best(state, "t", _splits(), False, out, expected_epoch=4, n_boot=5)
    assert sorted(p.name for p in out.iterdir()) == ["model.pt", "test_metrics.json",
                                                     "test_predictions.parquet"]
    assert json.loads((out / "test_metrics.json").read_text())["epoch"] == 4 == metrics["epoch"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "trials"]  # no staging left


def test_a_test_split_of_one_class_has_no_auc_and_no_warning():
    labels = np.zeros(20, dtype=np.int64)
    probs = np.full((20, 5), 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(labels, probs)
    assert np.isnan(m["auc_macro"]) and all(np.isnan(v) for v in m["auc"].values())
    assert m["accuracy"] == 1.0
