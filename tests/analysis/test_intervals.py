"""Binomial intervals, AUC errors, the bootstrap and the digits they are printed with."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from jetstudy.analysis.intervals import (ONE_SIGMA, binomial_se, bootstrap_replicates, clopper_pearson,
                                format_efficiency, format_error, format_interval,
                                format_rejection, hanley_mcneil_se, rejection_interval,
                                round_error, weighted_auc)
from jetstudy.trainables.metrics import accuracy, roc_auc


def _coverage(n: int, p: float, cl: float = ONE_SIGMA) -> float:
    """Exact probability that the interval of k ~ Binomial(n, p) contains p."""
    return sum(binom.pmf(k, n, p) for k in range(n + 1)
               if clopper_pearson(k, n, cl)[0] <= p <= clopper_pearson(k, n, cl)[1])


@pytest.mark.parametrize("n", [5, 20, 200])
@pytest.mark.parametrize("p", [0.01, 0.1, 0.37, 0.5, 0.93])
def test_clopper_pearson_covers_a_known_binomial_at_least_at_its_level(n, p):
    assert _coverage(n, p) >= ONE_SIGMA - 1e-9
    assert _coverage(n, p, 0.95) >= 0.95 - 1e-9


def test_clopper_pearson_edges_and_width():
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0
    lo, hi = clopper_pearson(5000, 10000)
    assert lo < 0.5 < hi
    # for many jets, close to +- one binomial standard error
    assert (hi - lo) / 2 == pytest.approx(binomial_se(0.5, 10000), rel=0.03)
    assert all(math.isnan(x) for x in clopper_pearson(0, 0))
    with pytest.raises(ValueError, match="k is 11"):
        clopper_pearson(11, 10)


def test_rejection_interval_from_background_counts():
    value, lo, hi = rejection_interval(4, 1000)
    elo, ehi = clopper_pearson(4, 1000)
    assert value == 250 and lo == pytest.approx(1 / ehi) and hi == pytest.approx(1 / elo)
    assert lo < value < hi
    v0, lo0, hi0 = rejection_interval(0, 1000)
    assert math.isinf(v0) and math.isinf(hi0) and lo0 == pytest.approx(1 / clopper_pearson(0, 1000)[1])


@pytest.mark.parametrize("error, rounded, decimals", [
    (0.00312, 0.0031, 4), (0.0098, 0.010, 3), (0.0354, 0.035, 3), (0.0355, 0.04, 2),
    (0.000951, 0.0010, 4), (37.0, 40.0, -1), (0.12, 0.12, 2), (1.7, 1.7, 1),
])
def test_pdg_rounding_of_errors(error, rounded, decimals):
    assert round_error(error) == (pytest.approx(rounded), decimals)


def test_values_are_printed_to_the_digits_of_their_error():
    assert format_error(0.75123, 0.00312) == "0.7512 ± 0.0031"
    assert format_error(0.75123, 0.0098) == "0.751 ± 0.010"
    assert format_error(1234.5, 37) == "1230 ± 40"
    assert format_error(0.75123, None) == "0.7512" and format_error(0.75123, float("nan")) == "0.7512"
    assert format_error(float("nan"), 0.1) == "-"
    assert format_interval(41.7, 39.1, 44.6) == "41.7 [39.1, 44.6]"
    assert format_interval(2000.0, 700.0, float("inf"), figures=1) == "2000 [700, inf]"
    assert format_efficiency(634, 1000) == "0.634 [0.618, 0.650]"


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_rejection_from_one_to_five_background_jets_has_one_significant_figure(k):
    text = format_rejection(k, 2400)
    value, interval = text.split(" [", 1)
    assert len(value.strip("0")) == 1, text
    assert f"(only {k} bkg jet" in text
    lo, hi = interval.split("]")[0].split(", ")
    assert float(lo) < float(value) < float(hi) and len(lo.strip("0")) == 1


def test_rejection_from_many_or_no_background_jets():
    assert format_rejection(60, 2400) == "40 [35, 46]"
    assert format_rejection(3, 2400) == "800 [400, 2000] (only 3 bkg jets)"
    assert format_rejection(0, 2400) == "> 1000 (no bkg jet passes)"
    assert format_rejection(0, 0) == "-"


def test_hanley_mcneil_matches_the_spread_of_simulated_aucs():
    rng = np.random.default_rng(1)
    n_pos, n_neg = 300, 900
    aucs = [roc_auc(np.r_[np.ones(n_pos), np.zeros(n_neg)],
                    np.r_[rng.normal(1.2, 1, n_pos), rng.normal(0, 1, n_neg)])
            for _ in range(400)]
    se = hanley_mcneil_se(float(np.mean(aucs)), n_pos, n_neg)
    assert se == pytest.approx(np.std(aucs), rel=0.15)
    assert math.isnan(hanley_mcneil_se(0.9, 0, 10))


def test_weighted_auc_is_the_plain_auc_with_repeated_jets():
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 6, 300) / 5  # many ties
    is_sig = rng.random(300) < 0.3
    scores = scores + 0.2 * is_sig
    assert weighted_auc(is_sig, scores, np.ones(300)) == pytest.approx(roc_auc(is_sig, scores))
    w = rng.integers(0, 4, 300)
    repeated = np.repeat(np.arange(300), w)
    assert weighted_auc(is_sig, scores, w) == pytest.approx(roc_auc(is_sig[repeated], scores[repeated]))
    smooth = rng.normal(size=300) + is_sig  # no ties: the fast path
    assert weighted_auc(is_sig, smooth, w) == pytest.approx(roc_auc(is_sig[repeated], smooth[repeated]))


def test_bootstrap_accuracy_error_matches_the_binomial_one():
    rng = np.random.default_rng(3)
    n = 4000
    labels = rng.integers(0, 5, n)
    z = 1.5 * np.eye(5)[labels] + rng.normal(size=(n, 5))
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    reps = bootstrap_replicates(labels, {"m": probs, "same": probs}, n_boot=300, seed=0)
    acc = accuracy(labels, probs)
    assert np.std(reps["m"]["accuracy"], ddof=1) == pytest.approx(binomial_se(acc, n), rel=0.15)
    assert np.mean(reps["m"]["accuracy"]) == pytest.approx(acc, abs=0.003)
    # the same classifier on the same resampled jets: paired differences vanish
    assert np.all(reps["m"]["auc_macro"] == reps["same"]["auc_macro"])
    again = bootstrap_replicates(labels, {"m": probs}, n_boot=300, seed=0)
    assert np.array_equal(again["m"]["accuracy"], reps["m"]["accuracy"])  # fixed seed
    with pytest.raises(ValueError, match="n_boot is 1"):
        bootstrap_replicates(labels, {"m": probs}, n_boot=1)
