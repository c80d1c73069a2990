"""The numpy metrics against scikit-learn, with and without tied scores, and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from jetstudy.trainables.metrics import accuracy, log_loss, roc_auc, roc_auc_ovr, roc_curve

N_CLASSES = 5


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classifier_output(seed: int, n: int = 400, signal: float = 1.2) -> tuple[np.ndarray,
                                                                               np.ndarray]:
    """Labels and softmax probabilities of a noisy, better-than-chance classifier."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, size=n)
    probs = softmax(signal * np.eye(N_CLASSES)[labels] + rng.normal(size=(n, N_CLASSES)))
    return labels, probs


def binary(seed: int, ties: bool, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    is_signal = rng.random(n) < 0.4
    scores = rng.normal(size=n) + 0.8 * is_signal
    if ties:
        scores = np.round(scores, 1)  # ~50 distinct values for 300 jets
        assert len(np.unique(scores)) < n // 2
    return is_signal, scores


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_auc_matches_sklearn(seed: int, ties: bool) -> None:
    is_signal, scores = binary(seed, ties)
    assert roc_auc(is_signal, scores) == pytest.approx(skm.roc_auc_score(is_signal, scores),
                                                       abs=1e-12)
    # integer 0/1 labels are read the same way
    assert roc_auc(is_signal.astype(int), scores) == pytest.approx(
        skm.roc_auc_score(is_signal, scores), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("seed", [0, 1])
def test_roc_curve_matches_sklearn(seed: int, ties: bool) -> None:
    is_signal, scores = binary(seed, ties)
    sig_eff, bkg_eff, thresholds = roc_curve(is_signal, scores)
    fpr, tpr, sk_thresholds = skm.roc_curve(is_signal, scores, drop_intermediate=False)
    np.testing.assert_allclose(sig_eff, tpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(bkg_eff, fpr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(thresholds, sk_thresholds)


def test_roc_curve_ends_and_is_monotone() -> None:
    is_signal, scores = binary(3, ties=True)
    sig_eff, bkg_eff, thresholds = roc_curve(is_signal, scores)
    assert (sig_eff[0], bkg_eff[0], thresholds[0]) == (0.0, 0.0, np.inf)
    assert (sig_eff[-1], bkg_eff[-1]) == (1.0, 1.0)
    assert np.all(np.diff(sig_eff) >= 0) and np.all(np.diff(bkg_eff) >= 0)
    assert np.all(np.diff(thresholds) < 0)
    assert len(thresholds) == len(np.unique(scores)) + 1  # one point per distinct score


def test_roc_curve_by_hand() -> None:
    # scores 0.8(s) 0.4(b) 0.35(s) 0.1(b): each threshold passes the jets scoring >= it
    sig_eff, bkg_eff, thresholds = roc_curve(np.array([0, 0, 1, 1]),
                                             np.array([0.1, 0.4, 0.35, 0.8]))
    np.testing.assert_array_equal(thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])
    np.testing.assert_array_equal(sig_eff, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(bkg_eff, [0, 0, 0.5, 0.5, 1])


def test_roc_auc_by_hand() -> None:
    # signal {0.35, 0.8} vs background {0.1, 0.4}: 3 of the 4 pairs are ordered right
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # one tied pair counts one half: signal {0.5, 0.9} vs background {0.5, 0.1} -> 3.5 / 4
    assert roc_auc(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1])) == 0.875


def test_perfect_and_reversed_separators() -> None:
    is_signal = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.9])
    assert roc_auc(is_signal, scores) == 1.0
    assert roc_auc(is_signal, -scores) == 0.0
    assert roc_auc(is_signal, np.full(5, 0.5)) == 0.5  # all tied: no information


@pytest.mark.parametrize("is_signal", [[1, 1, 1], [0, 0, 0], [True, True]])
def test_auc_is_nan_when_a_class_is_absent(is_signal: list) -> None:
    assert math.isnan(roc_auc(np.array(is_signal), np.linspace(0, 1, len(is_signal))))


@pytest.mark.parametrize("seed", [0, 1])
def test_roc_auc_ovr_matches_sklearn(seed: int) -> None:
    labels, probs = classifier_output(seed)
    ours = roc_auc_ovr(labels, probs)
    theirs = skm.roc_auc_score(labels, probs, multi_class="ovr", average=None)
    assert ours.shape == (N_CLASSES,)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert skm.roc_auc_score(labels, probs, multi_class="ovr", average="macro") == \
        pytest.approx(float(np.mean(ours)), abs=1e-12)


def test_roc_auc_ovr_with_ties_matches_sklearn_per_class() -> None:
    labels, probs = classifier_output(5)
    probs = np.round(probs, 1)  # rows no longer sum to 1, so compare class by class
    ours = roc_auc_ovr(labels, probs)
    theirs = [skm.roc_auc_score(labels == c, probs[:, c]) for c in range(N_CLASSES)]
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_roc_auc_ovr_nan_only_for_the_absent_class() -> None:
    labels, probs = classifier_output(6)
    labels = np.where(labels == 3, 0, labels)  # no jet of class 3 left
    ours = roc_auc_ovr(labels, probs)
    assert math.isnan(ours[3])
    present = [c for c in range(N_CLASSES) if c != 3]
    np.testing.assert_allclose(ours[present],
                               [skm.roc_auc_score(labels == c, probs[:, c]) for c in present],
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_accuracy_matches_sklearn(ties: bool) -> None:
    labels, probs = classifier_output(7, signal=0.8)
    if ties:
        probs = np.round(probs, 1)
    expected = skm.accuracy_score(labels, np.argmax(probs, axis=1))
    assert 0.3 < expected < 0.95  # neither trivial nor perfect
    assert accuracy(labels, probs) == pytest.approx(expected, abs=1e-12)


def test_accuracy_by_hand() -> None:
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert accuracy(np.array([0, 1, 1]), probs) == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", [0, 1])
def test_log_loss_matches_sklearn(seed: int) -> None:
    labels, probs = classifier_output(seed)
    expected = skm.log_loss(labels, probs, labels=np.arange(N_CLASSES))
    assert log_loss(labels, probs) == pytest.approx(expected, rel=1e-12)


def test_log_loss_by_hand_and_clipped() -> None:
    labels = np.array([0, 1])
    probs = np.array([[0.5, 0.5], [0.2, 0.8]])
    assert log_loss(labels, probs) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2)
    # a zero probability for the true class is clipped to eps, not infinite
    assert log_loss(np.array([0]), np.array([[0.0, 1.0]]), eps=1e-6) == pytest.approx(
        -math.log(1e-6))
