"""Refereeing the uncertainties at their edges: no jets, all or none passing, PDG rounding
exactly at its boundaries, a bootstrap with a class absent."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.intervals import (ONE_SIGMA, binomial_se, bootstrap_replicates,
                                         clopper_pearson, format_efficiency, format_error,
                                         format_rejection, rejection_interval, round_error)


@pytest.mark.parametrize("error, rounded, decimals, text", [
    (0.0095, 0.010, 3, "0.500 ± 0.010"),   # was 0.009: 0.0095 is 0.00949999... in binary
    (0.95, 1.0, 1, "0.5 ± 1.0"),           # was 0.9
    (0.0125, 0.013, 3, "0.500 ± 0.013"),   # half up on the decimal digits, was 0.012
    (9.5, 10.0, 0, "0 ± 10"),
    (0.0354, 0.035, 3, "0.500 ± 0.035"),
    (0.0355, 0.04, 2, "0.50 ± 0.04"),
])
def test_pdg_rounding_exactly_at_its_boundaries(error, rounded, decimals, text):
    assert round_error(error) == (pytest.approx(rounded), decimals)
    assert format_error(0.5, error) == text


def test_no_jets_gives_no_number():
    assert all(math.isnan(v) for v in clopper_pearson(0, 0))
    assert math.isnan(binomial_se(0.5, 0)) and math.isnan(binomial_se(0.5, None))
    assert format_efficiency(0, 0) == "-" and format_rejection(0, 0) == "-"
    assert format_error(0.5, None) == "0.5" and format_error(float("nan"), 0.1) == "-"


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_none_or_all_passing_have_one_sided_clopper_pearson_intervals(n):
    lo0, hi0 = clopper_pearson(0, n)
    lo1, hi1 = clopper_pearson(n, n)
    assert lo0 == 0 and hi1 == 1
    assert hi0 == pytest.approx(1 - ((1 - ONE_SIGMA) / 2) ** (1 / n))
    assert lo1 == pytest.approx(1 - hi0)
    value, lo, hi = rejection_interval(0, n)
    assert math.isinf(value) and math.isinf(hi) and lo == pytest.approx(1 / hi0)


@pytest.mark.parametrize("n", [10, 1000])
def test_a_fraction_of_zero_or_one_is_not_exact(n):
    """sqrt(p (1 - p) / n) is 0 at p = 0 or 1, as if 10 of 10 were certain; the error is
    then half the one-sigma Clopper-Pearson interval."""
    width = clopper_pearson(n, n)[1] - clopper_pearson(n, n)[0]
    assert binomial_se(1.0, n) == pytest.approx(width / 2) == binomial_se(0.0, n)
    assert binomial_se(1.0, n) > 0
    inside = binomial_se(np.array([0.0, 0.5, 1.0]), n)
    assert inside[1] == pytest.approx(math.sqrt(0.25 / n)) and inside[0] == inside[2] > 0


def test_bootstrap_with_a_class_absent_or_a_single_jet_class():
    rng = np.random.default_rng(1)
    labels = np.array([0, 1, 2, 3] * 25 + [4])  # one t jet: absent from many resamplings
    probs = rng.dirichlet(np.ones(5), len(labels))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reps = bootstrap_replicates(labels, {"m": probs}, n_boot=50, seed=0)["m"]
    assert np.isfinite(reps["accuracy"]).all()
    assert np.isnan(reps["auc_4"]).any() and np.isfinite(reps["auc_0"]).all()
    # round 5: a resampling without the t jet has no macro AUC (not a 4-class mean)
    assert np.array_equal(np.isnan(reps["auc_macro"]), np.isnan(reps["auc_4"]))


def test_a_class_absent_from_the_test_jets_has_no_working_point():
    """Its signal efficiency was printed as "0 [nan, nan]"; a class with no background jets
    (a one-class test split) as "1.0 [0.2, 1.0]"."""
    from jetstudy.analysis.summary import operating_table
    from jetstudy.trainables.schema import CLASSES

    rng = np.random.default_rng(0)
    labels = np.arange(80) % 4  # no t jet
    p = rng.dirichlet(np.ones(5), len(labels))
    df = pd.DataFrame({"label": labels, **{f"p_{c}": p[:, i] for i, c in enumerate(CLASSES)}})
    table = operating_table(df, synthetic=None).set_index("class")
    assert table.loc["t", "sig eff @ 10% bkg"] == "- (no signal jets)"
    assert table.loc["t", "rejection @ 50% sig"] == "- (no signal jets)"  # no number
    assert table.loc["g", "sig eff @ 10% bkg"][0].isdigit()
    alone = operating_table(df[df["label"] == 2], synthetic=None).set_index("class")
    assert alone.loc["W", "sig eff @ 1% bkg"] == "- (no background jets)"
    assert alone.loc["g", "sig eff @ 1% bkg"] == "- (no signal jets)"
    assert alone.loc["W", "rejection @ 90% sig"] == "- (no background jets)"


def test_a_perfect_auc_is_not_exact():
    from jetstudy.analysis.intervals import hanley_mcneil_se

    assert hanley_mcneil_se(1.0, 10, 500) == pytest.approx(binomial_se(1.0, 10))
    assert binomial_se(1.0, 10) > 0
    assert hanley_mcneil_se(0.0, 500, 10) == hanley_mcneil_se(1.0, 10, 500)
    assert 0 < hanley_mcneil_se(0.999, 10, 500) < 0.01  # inside (0, 1): the formula
