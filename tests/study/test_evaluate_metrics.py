"""The test metrics' uncertainties: the bootstrap agrees with the analytic errors it replaces."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jetstudy.analysis.intervals import binomial_se, hanley_mcneil_se
from jetstudy.study.evaluate import score_test_split
from jetstudy.trainables.schema import CLASSES


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def jets() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 5000
    labels = rng.integers(0, len(CLASSES), n)
    noise = rng.normal(size=(n, len(CLASSES)))
    model = _softmax(1.6 * np.eye(len(CLASSES))[labels] + noise)
    bayes = _softmax(1.9 * np.eye(len(CLASSES))[labels] + 0.9 * noise)  # shares the jets' noise
    return labels, model, bayes


def test_accuracy_error_is_close_to_the_binomial_one(jets):
    labels, model, _ = jets
    m = score_test_split(labels, model)["model"]
    assert m["accuracy_se"] == pytest.approx(binomial_se(m["accuracy"], len(labels)), rel=0.15)


def test_auc_errors_are_close_to_hanley_mcneil_and_the_macro_one_is_smaller(jets):
    labels, model, _ = jets
    m = score_test_split(labels, model)["model"]
    for i, c in enumerate(CLASSES):
        n_pos = int((labels == i).sum())
        expected = hanley_mcneil_se(m["auc"][c], n_pos, len(labels) - n_pos)
        assert m["auc_se"][c] == pytest.approx(expected, rel=0.3), c
    assert m["auc_macro_se"] < min(m["auc_se"].values())  # an average of five


def test_model_minus_bayes_gets_a_paired_error_and_everything_is_json(jets):
    labels, model, bayes = jets
    out = score_test_split(labels, model, bayes, n_boot=100, seed=3)
    paired = out["model_minus_bayes"]["accuracy_se"]
    quadrature = np.hypot(out["model"]["accuracy_se"], out["bayes"]["accuracy_se"])
    assert 0 < paired < quadrature  # the same jets: correlated errors partly cancel
    assert out["uncertainty"] == {"method": "bootstrap", "n_boot": 100, "seed": 3,
                                  "what": "standard deviation over resamplings of the test jets"}
    again = score_test_split(labels, model, bayes, n_boot=100, seed=3)
    assert json.dumps(again) == json.dumps(out)  # fixed seed, plain JSON types
    alone = score_test_split(labels, model, n_boot=10)
    assert alone["bayes"] is None and alone["model_minus_bayes"] is None


def test_a_class_absent_from_the_test_split_has_no_error():
    labels = np.array([0, 1, 2, 3] * 50)
    probs = _softmax(np.eye(len(CLASSES))[labels] + np.random.default_rng(0).normal(size=(200, 5)))
    m = score_test_split(labels, probs, n_boot=20)["model"]
    assert m["auc_se"]["t"] is None and np.isnan(m["auc"]["t"])
    assert m["auc_se"]["g"] > 0 and m["auc_macro_se"] > 0
