"""``reference.json``: the prior entropy of the training classes and, on synthetic data, the
Bayes-optimal validation loss (with its standard error) and accuracy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from jetstudy.study.config import StudyConfig, from_dict
from jetstudy.study.prepare import prepare_data
from jetstudy.study.reference import loss_mean_se, prior_entropy, reference_numbers
from jetstudy.trainables.synth import bayes_posterior


def _cfg(n_jets: int) -> StudyConfig:
    return from_dict({"data": {"synthetic_jets": n_jets, "synthetic_seed": 4}})


def test_prior_entropy_is_the_log_loss_of_the_class_frequencies() -> None:
    assert prior_entropy(np.array([0, 1, 2, 3, 4] * 7)) == pytest.approx(math.log(5))
    labels = np.array([0] * 30 + [1] * 10)  # classes 2..4 absent: they add nothing
    assert prior_entropy(labels) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def test_loss_and_its_standard_error() -> None:
    probs = np.array([[0.5, 0.5], [0.25, 0.75], [0.0, 1.0]])
    labels = np.array([0, 1, 0])  # the last is certain and wrong: clipped at 1e-12
    per_jet = np.array([math.log(2), -math.log(0.75), -math.log(1e-12)])
    loss, se = loss_mean_se(labels, probs)
    assert loss == pytest.approx(per_jet.mean())
    assert se == pytest.approx(per_jet.std(ddof=1) / math.sqrt(3))


def test_prepare_writes_the_bayes_reference_of_the_validation_jets(tmp_path: Path) -> None:
    prepared = prepare_data(_cfg(4000), tmp_path)
    ref = json.loads((tmp_path / "reference.json").read_text())
    splits = prepared.splits
    assert set(ref) == {"prior_entropy", "n_classes", "bayes_val_loss", "bayes_val_loss_se",
                        "bayes_val_acc", "bayes_train_loss", "bayes_train_loss_se"}
    assert ref["n_classes"] == 5
    assert ref["prior_entropy"] == pytest.approx(prior_entropy(splits.y_train))
    # the raw validation features are the ones the standardised split came from
    np.testing.assert_allclose(splits.scaler.transform(splits.x_val_raw), splits.x_val)
    probs = bayes_posterior(splits.x_val_raw)
    assert ref["bayes_val_acc"] == pytest.approx(float((probs.argmax(1) == splits.y_val).mean()))
    assert ref["bayes_val_loss"] == pytest.approx(loss_mean_se(splits.y_val, probs)[0])
    # the Bayes classifier beats guessing the priors, by far more than its standard error
    assert ref["bayes_val_loss"] + 10 * ref["bayes_val_loss_se"] < ref["prior_entropy"]
    assert 0 < ref["bayes_val_loss_se"] < 0.05 and 0.2 < ref["bayes_val_acc"] <= 1
    # the same on the training jets, from raw features the scaler gives back
    raw_train = splits.x_train.astype(np.float64) * splits.scaler.std + splits.scaler.mean
    expected = loss_mean_se(splits.y_train, bayes_posterior(raw_train))
    assert ref["bayes_train_loss"] == pytest.approx(expected[0], rel=1e-5)
    assert ref["bayes_train_loss_se"] < ref["bayes_val_loss_se"]  # 3x the jets
    assert abs(ref["bayes_train_loss"] - ref["bayes_val_loss"]) < 5 * ref["bayes_val_loss_se"]


def test_real_data_has_no_bayes_reference(tmp_path: Path) -> None:
    prepared = prepare_data(_cfg(3000), tmp_path)
    ref = reference_numbers(prepared.splits, synthetic=False)
    assert ref["bayes_val_loss"] is None and ref["bayes_val_loss_se"] is None
    assert ref["bayes_val_acc"] is None and ref["bayes_train_loss"] is None
    assert ref["prior_entropy"] == pytest.approx(prior_entropy(prepared.splits.y_train))
