"""Referee round 5 (verdicts): the bootstrap's macro AUC when a class has one test jet."""

from __future__ import annotations

import numpy as np
import pytest

from jetstudy.analysis.intervals import bootstrap_replicates
from jetstudy.study.evaluate import score_test_split


def _probs(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(5), n)


def test_a_resampling_that_loses_a_class_has_no_macro_auc():
    """One t jet among 101: the ~37% of resamplings without it averaged the 4 other classes'
    AUCs, mixing 4-class and 5-class means in one spread; now they have no macro AUC."""
    labels = np.array([0, 1, 2, 3] * 25 + [4])
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=60, seed=0)["m"]
    lost = np.isnan(reps["auc_4"])
    assert 0 < lost.sum() < 60
    assert np.array_equal(np.isnan(reps["auc_macro"]), lost)
    five = np.mean([reps[f"auc_{c}"] for c in range(5)], axis=0)
    assert reps["auc_macro"][~lost] == pytest.approx(five[~lost])


def test_a_class_absent_from_the_test_jets_leaves_every_macro_defined():
    labels = np.array([0, 1, 2, 3] * 25)  # no t jet at all: the macro is over 4 classes
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=30, seed=0)["m"]
    assert np.isfinite(reps["auc_macro"]).all()
    four = np.mean([reps[f"auc_{c}"] for c in range(4)], axis=0)
    assert reps["auc_macro"] == pytest.approx(four)


def test_the_test_metrics_say_how_many_resamplings_had_no_macro_auc():
    labels = np.array([0, 1, 2, 3] * 25 + [4])
    out = score_test_split(labels, _probs(len(labels)), _probs(len(labels), 2), n_boot=40)
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=40, seed=0)["m"]
    assert out["uncertainty"]["auc_macro_undefined"] == int(np.isnan(reps["auc_macro"]).sum()) > 0
    m = out["model"]
    assert m["auc_macro_se"] is not None and m["auc_macro_se"] > 0
    # at least the error of a mean of the classes' errors (the one t jet's Hanley-McNeil)
    assert m["auc_macro_se"] >= np.sqrt(sum(v ** 2 for v in m["auc_se"].values())) / 5 - 1e-12
    assert out["model_minus_bayes"]["auc_macro_se"] is not None


def test_too_few_resamplings_with_a_macro_auc_fall_back_on_the_classes_errors():
    """Two jets of the t class among 4: most resamplings lose a class; the spread of the few
    left is not the error, the classes' errors are."""
    labels = np.array([0, 1, 4, 4])
    out = score_test_split(labels, _probs(len(labels)), n_boot=40)
    assert out["uncertainty"]["auc_macro_undefined"] > 20
    m = out["model"]
    ses = [v for v in m["auc_se"].values() if v is not None]
    assert m["auc_macro_se"] == pytest.approx(np.sqrt(np.sum(np.square(ses))) / len(ses))
