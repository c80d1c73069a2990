"""Refereeing the test metrics' errors, round 2: where every bootstrap resampling agrees (an
accuracy of 1, a perfect AUC, one jet of a class) the error is not 0."""

from __future__ import annotations

import numpy as np
import pytest

from jetstudy.analysis.intervals import binomial_se, format_error, hanley_mcneil_se
from jetstudy.analysis.summary import compare_test_metrics
from jetstudy.study.evaluate import score_test_split
from jetstudy.trainables.schema import CLASSES


def _confident(labels: np.ndarray, right: float = 0.96) -> np.ndarray:
    """Probabilities that put ``right`` on each jet's true class: all correct, AUCs of 1."""
    p = np.full((len(labels), len(CLASSES)), (1 - right) / (len(CLASSES) - 1))
    p[np.arange(len(labels)), labels] = right
    return p


def test_a_perfect_score_on_few_jets_is_not_exact():
    """81 test jets all right, one of them the only t jet: the bootstrap said accuracy
    1 ± 0, every AUC 1 ± 0 and the log loss ± 7e-18 (printed with 18 decimals)."""
    labels = np.array([0, 1, 2, 3] * 20 + [4])
    m = score_test_split(labels, _confident(labels), n_boot=50)["model"]
    assert m["accuracy_se"] == pytest.approx(binomial_se(1.0, len(labels)))
    assert m["auc_se"]["t"] == pytest.approx(hanley_mcneil_se(1.0, 1, 80))  # one t jet: 0.42
    assert m["auc_se"]["g"] == pytest.approx(hanley_mcneil_se(1.0, 20, 61))
    assert m["auc_macro_se"] >= np.sqrt(sum(v ** 2 for v in m["auc_se"].values())) / 5
    assert m["log_loss_se"] == 0.0  # rounding noise of identical per-jet losses
    table = compare_test_metrics({"model": m}, synthetic=None).set_index("metric")["model"]
    assert table["accuracy"] == format_error(1.0, m["accuracy_se"]) == "1.000 ± 0.011"
    assert table["auc t"] == "1.0 ± 0.4"


def test_two_test_jets():
    labels = np.array([0, 1])
    m = score_test_split(labels, _confident(labels), n_boot=20)["model"]
    assert m["accuracy_se"] == pytest.approx(binomial_se(1.0, 2))  # 0.30
    assert m["auc_se"]["g"] == pytest.approx(binomial_se(1.0, 1))  # 0.42
    assert m["auc_se"]["W"] is None


def test_a_single_jet_of_a_class_inside_the_edges_gets_at_least_hanley_mcneil():
    """One t jet ranked among 200 others: resampling moves only the background side."""
    rng = np.random.default_rng(3)
    labels = np.array([0, 1, 2, 3] * 50 + [4])
    probs = rng.dirichlet(np.ones(5), len(labels))
    m = score_test_split(labels, probs, n_boot=50)["model"]
    assert 0 < m["auc"]["t"] < 1
    assert m["auc_se"]["t"] >= hanley_mcneil_se(m["auc"]["t"], 1, 200)


def test_many_jets_keep_the_bootstrap_errors():
    """Inside the edges and with many jets of each class nothing is floored."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 5, 2000)
    probs = rng.dirichlet(np.ones(5), len(labels)) + 0.3 * np.eye(5)[labels]
    probs /= probs.sum(axis=1, keepdims=True)
    m = score_test_split(labels, probs, n_boot=40)["model"]
    assert m["accuracy_se"] == pytest.approx(binomial_se(m["accuracy"], 2000), rel=0.3)
    assert m["accuracy_se"] != pytest.approx(binomial_se(m["accuracy"], 2000), rel=1e-9)


@pytest.mark.parametrize("k, n, text", [
    (0, 476, "> 200 (no bkg jet passes)"),   # the limit is 259: "> 300" claimed more
    (3, 476, "200 [80, 400] (only 3 bkg jets)"),  # [80.7, 348]: "300" cut the interval
    (3, 1000, "300 [100, 800] (only 3 bkg jets)"),  # [169, 731]: was [200, 700]
    (1, 600, "600 [100, 4000] (only 1 bkg jet)"),  # [182, 3474]: was [200, 3000]
])
def test_few_jet_rejections_round_their_limits_outward(k, n, text):
    """One significant figure moves an end by up to 50%: rounded to the nearest, a limit
    or an interval end claimed more than the jets show."""
    from jetstudy.analysis.intervals import format_rejection, rejection_interval

    assert format_rejection(k, n) == text
    _, lo, hi = rejection_interval(k, n)
    shown = text.split(" (")[0]
    if k:
        ends = shown.split("[")[1].rstrip("]").split(", ")
        assert float(ends[0]) <= lo and float(ends[1]) >= hi
    else:
        assert float(shown.removeprefix("> ")) <= lo


def test_a_value_that_rounds_to_zero_has_no_sign():
    """model - Bayes of -0.0001 ± 0.004 was printed '-0.000 ± 0.004'."""
    from jetstudy.analysis.intervals import format_interval

    assert format_error(-0.0001, 0.004) == "0.000 ± 0.004"
    assert format_error(-0.3, 30) == "0 ± 30"
    assert format_interval(-0.0001, -0.01, 0.01) == "0.000 [-0.010, 0.010]"
    assert format_error(-0.0123, 0.004) == "-0.012 ± 0.004"  # a real sign stays
