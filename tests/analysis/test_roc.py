"""ROC points and the rejection table on tiny hand-made predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import clopper_pearson
from jetstudy.analysis.roc import operating_points, rejection_table, roc_points
from jetstudy.trainables.schema import CLASSES


def _perfect(n_per_class: int = 4) -> pd.DataFrame:
    labels = np.repeat(np.arange(len(CLASSES)), n_per_class)
    probs = np.full((len(labels), len(CLASSES)), 0.05)
    probs[np.arange(len(labels)), labels] = 0.8
    return pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})


def test_perfect_separation_gives_auc_one_and_infinite_rejection():
    table = rejection_table(_perfect())
    assert table.index.tolist() == list(CLASSES)
    assert (table["auc"] == 1.0).all()
    assert (table["bkg_eff@0.5"] == 0).all() and np.isinf(table["rejection@0.5"]).all()
    assert (table["sig_eff@0.01"] == 1.0).all()
    # no background jet passes: a finite lower limit, an infinite upper end
    assert (table["bkg_pass@0.5"] == 0).all()
    assert np.isfinite(table["rejection_lo@0.5"]).all() and np.isinf(table["rejection_hi@0.5"]).all()
    assert (table["rejection_lo@0.5"] > 1).all()


def test_known_operating_points():
    # signal scores 0.9 0.8 0.4 0.3, background 0.7 0.6 0.5 0.2 0.1 (class g vs the rest)
    scores = [0.9, 0.8, 0.4, 0.3, 0.7, 0.6, 0.5, 0.2, 0.1]
    labels = [0, 0, 0, 0, 1, 1, 1, 1, 1]
    probs = np.zeros((9, len(CLASSES)))
    probs[:, 0] = scores
    probs[:, 1] = 1 - np.array(scores)
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    g = rejection_table(pred, signal_effs=(0.5, 0.75), background_effs=(0.2, 0.4)).loc["g"]
    assert g["bkg_eff@0.5"] == 0.0  # cut at 0.8 keeps 2/4 signal, no background
    assert g["bkg_eff@0.75"] == pytest.approx(0.6)  # cut at 0.4: 3/4 signal, 3/5 background
    assert g["rejection@0.75"] == pytest.approx(1 / 0.6)
    assert g["bkg_pass@0.75"] == 3 and g["n_background"] == 5 and g["n_signal"] == 4
    lo, hi = clopper_pearson(3, 5)
    assert (g["rejection_lo@0.75"], g["rejection_hi@0.75"]) == pytest.approx((1 / hi, 1 / lo))
    assert g["sig_pass@0.4"] == 2
    assert (g["sig_eff_lo@0.4"], g["sig_eff_hi@0.4"]) == pytest.approx(clopper_pearson(2, 4))
    assert 0 < g["auc_se"] < 0.5
    assert g["sig_eff@0.2"] == 0.5 and g["sig_eff@0.4"] == 0.5
    # Mann-Whitney: pairs (s > b) = 4+4+2+2... computed directly
    wins = sum(s > b for s in scores[:4] for b in scores[4:])
    assert g["auc"] == pytest.approx(wins / 20)


def test_operating_points_unreachable():
    sig, bkg = np.array([0.0, 0.5]), np.array([0.0, 0.5])
    bkg_at, sig_at = operating_points(sig, bkg, 0.9, 0.1)
    assert np.isnan(bkg_at) and sig_at == 0.0


def test_roc_points_are_thinned_but_keep_the_ends():
    rng = np.random.default_rng(0)
    n = 5000
    labels = rng.integers(0, 5, n)
    probs = rng.random((n, 5))
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    pts = roc_points(pred, max_points=100)
    for _, part in pts.groupby("cls"):
        assert len(part) <= 100
        assert part["signal_eff"].iloc[0] == 0 and part["signal_eff"].iloc[-1] == 1
        assert part["background_eff"].is_monotonic_increasing


def test_missing_score_columns_are_named():
    with pytest.raises(AnalysisError, match="bayes_g"):
        rejection_table(_perfect(), prefix="bayes_")
