"""Drawing functions take finished results and an ``ax``, and draw what they are given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import plots
from jetstudy.analysis.complexity import complexity_curve
from jetstudy.analysis.maps import regime_map
from jetstudy.analysis.pareto import compute_pareto
from jetstudy.analysis.regimes import classify_regimes
from jetstudy.analysis.roc import roc_points
from jetstudy.trainables.schema import CLASSES


@pytest.fixture(scope="module")
def study(make_study):
    trials, epochs = make_study(n_trials=40, seed=1)
    return trials, epochs, classify_regimes(trials, epochs)


def test_regime_map_annotates_every_cell_and_hatches_partial_ones(study):
    trials, _, regimes = study
    m = regime_map(trials, regimes, "max_width", "depth", "val_loss", False)
    fig, axes = plots.new_figure()
    plots.draw_regime_map(m, axes[0, 0])
    texts = [t.get_text() for t in axes[0, 0].texts
             if t.get_text() != plots.NO_TRIAL]  # a cell without a trial: 'not tried'
    assert len(texts) == len(m.cells)
    assert all("n=" in t for t in texts)
    hatched = [p for p in axes[0, 0].patches if p.get_hatch()]
    assert len(hatched) == int(m.cells["partial_only"].sum())
    assert axes[0, 0].get_xlabel() == "widest hidden layer (units)"


def test_roc_is_in_the_hep_convention():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(CLASSES), 600)
    probs = rng.random((600, len(CLASSES))) + 2.0 * np.eye(len(CLASSES))[labels]
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    fig, axes = plots.new_figure()
    ax = axes[0, 0]
    plots.draw_roc(roc_points(pred), "W", ax, reference=True, auc=0.9, auc_se=0.0123)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "signal efficiency (W)"
    assert ax.get_ylabel() == "background efficiency"
    assert ax.lines[0].get_label() == "model (AUC 0.900 ± 0.012)"
    ref = [c for c in ax.collections if c.get_label() == "16-HLF DNN (Moreno et al. 2020)"][0]
    assert ref.get_offsets().tolist() == [[0.84, 0.10], [0.64, 0.01]]
    x, y = ax.lines[0].get_data()
    assert (np.asarray(y) > 0).all()  # zero background efficiency has no place on a log axis


def test_pareto_and_complexity_use_log_counts(study):
    trials, _, regimes = study
    fig, axes = plots.new_figure(1, 3)
    plots.draw_pareto(compute_pareto(trials, "n_params", "val_acc"), axes[0, 0], test_point=(3000.0, 0.8))
    plots.draw_complexity(complexity_curve(trials, regimes), axes[0, 1], axes[0, 2])
    assert axes[0, 0].get_xscale() == "log" and axes[0, 1].get_xscale() == "log"
    labels = [t.get_text() for t in axes[0, 0].get_legend().get_texts()]
    assert any(label.startswith("smallest within 1%") for label in labels)
    assert "best model, test split" in labels
    assert "stopped / running (partial, not on front)" in labels
    assert axes[0, 2].get_ylabel() == "val - train (nats)"


def test_pareto_without_a_completed_trial_draws_partial_points_only(study):
    trials, _, _ = study
    # stopped before the end (one that trained all of max_epochs is a full run, on the front)
    partial = trials.assign(status="stopped", epochs=trials["max_epochs"] - 1)
    fig, axes = plots.new_figure()
    plots.draw_pareto(compute_pareto(partial, "n_params", "val_acc"), axes[0, 0])
    texts = [t.get_text() for t in axes[0, 0].texts]
    assert any("front undetermined" in t for t in texts)
    labels = [t.get_text() for t in axes[0, 0].get_legend().get_texts()]
    assert not any("Pareto front" in label or "smallest" in label for label in labels)
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


def test_dollar_in_a_trial_id_is_shown_literally():
    curves = pd.DataFrame({"group": "best", "trial_id": r"t$\frac$", "epoch": [1, 2],
                           "train_loss": [1.0, 0.8], "val_loss": [1.0, 0.9]})
    fig, axes = plots.new_figure()
    plots.draw_learning_curves(curves, "best", axes[0, 0])
    assert plots.png_bytes(fig).startswith(b"\x89PNG")  # "$\frac$" as mathtext fails to parse


def test_figures_stay_out_of_pyplots_registry(study):
    import matplotlib.pyplot as plt  # seaborn imports it; our figures must not be registered there

    trials, _, regimes = study
    before = plt.get_fignums()
    fig = plots.regime_maps_figure([regime_map(trials, regimes, "max_width", "depth", "val_loss", False)])
    plots.png_bytes(fig)
    assert plt.get_fignums() == before
