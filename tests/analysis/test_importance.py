"""Importance comes from Optuna's evaluators on a study rebuilt from the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.importance import EVALUATORS, hyperparameter_importance, search_distributions

SPACE = {"depth": [1, 6], "width": [8, 256], "dropout": [0.0, 0.5], "l1": [1e-7, 1e-3],
         "l2": [0.0, 0.0], "lr": [1e-4, 1e-2], "activations": ["relu"]}


@pytest.fixture
def lr_matters() -> pd.DataFrame:
    """val loss depends on the learning rate only; widths and dropout are noise."""
    rng = np.random.default_rng(0)
    n = 60
    lr = 10 ** rng.uniform(-4, -2, n)
    return pd.DataFrame({
        "trial_id": [f"t{i}" for i in range(n)], "status": ["completed"] * n,
        "depth": rng.integers(1, 7, n), "width_0": rng.integers(8, 257, n).astype(float),
        "dropout": rng.uniform(0, 0.5, n), "l1": 10 ** rng.uniform(-7, -3, n), "l2": np.zeros(n),
        "lr": lr, "activation": ["relu"] * n,
        "best_val_loss": 0.6 + 0.2 * np.abs(np.log10(lr) + 3) + rng.normal(0, 0.002, n),
    })


def test_values_per_hyperparameter_sum_to_one_and_lr_wins(lr_matters):
    imp = hyperparameter_importance(lr_matters, SPACE, "val_loss", maximize=False)
    assert set(imp.table["param"]) == {"depth", "max_width", "dropout", "l1", "lr"}  # l2 off, relu fixed
    assert imp.table["importance"].sum() == pytest.approx(1.0)
    assert imp.table.iloc[0]["param"] == "lr"
    assert imp.evaluator == EVALUATORS["ped-anova"] and imp.n_trials == 60
    assert imp.target == "best_val_loss"


def test_deterministic(lr_matters):
    a = hyperparameter_importance(lr_matters, SPACE, "val_loss", False).table
    b = hyperparameter_importance(lr_matters, None, "val_loss", False).table
    pd.testing.assert_frame_equal(a, hyperparameter_importance(lr_matters, SPACE, "val_loss", False).table)
    assert b.iloc[0]["param"] == "lr"  # distributions inferred from the table agree


def test_fanova_is_available_by_name(lr_matters):
    pytest.importorskip("sklearn")
    imp = hyperparameter_importance(lr_matters.head(20), SPACE, "val_loss", False, evaluator="fanova")
    assert imp.table["importance"].sum() == pytest.approx(1.0)
    assert "Fanova" in imp.evaluator


def test_distributions_follow_config_and_cover_data(lr_matters):
    df = lr_matters.assign(max_width=lr_matters["width_0"], lr=lr_matters["lr"].clip(upper=0.05))
    df.loc[0, "lr"] = 0.05  # outside the configured range: widened, not refused
    d = search_distributions(df, SPACE)
    assert d["depth"] == IntDistribution(1, 6)
    assert d["max_width"] == IntDistribution(8, 256, log=True)
    assert d["dropout"] == FloatDistribution(0.0, 0.5)
    assert d["lr"] == FloatDistribution(1e-4, 0.05, log=True)
    assert "l2" not in d and "activation" not in d
    two = df.assign(activation=["relu", "tanh"] * 30)
    assert search_distributions(two, SPACE)["activation"] == CategoricalDistribution(["relu", "tanh"])


def test_too_few_trials_or_nothing_varying_is_explained(lr_matters):
    with pytest.raises(AnalysisError, match="at least 5 finished trials"):
        hyperparameter_importance(lr_matters.head(1), SPACE, "val_loss", False)
    with pytest.raises(AnalysisError, match="at least 5 finished trials .* found 4 .an "
                       "importance ranked over fewer is a guess"):
        hyperparameter_importance(lr_matters.head(4), SPACE, "val_loss", False)
    same = lr_matters.head(3).assign(depth=2, width_0=64.0, dropout=0.1, l1=1e-5, lr=1e-3)
    with pytest.raises(AnalysisError, match="no hyperparameter varies"):
        hyperparameter_importance(same, SPACE, "val_loss", False, min_trials=2)
    with pytest.raises(AnalysisError, match="unknown"):
        hyperparameter_importance(lr_matters, SPACE, "val_loss", False, evaluator="shap")
