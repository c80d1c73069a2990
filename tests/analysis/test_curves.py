"""Choosing the learning curves to show."""

from __future__ import annotations

from jetstudy.analysis.curves import select_learning_curves
from jetstudy.analysis.regimes import classify_regimes


def test_best_first_then_each_regime_without_repeats(make_study):
    trials, epochs = make_study(n_trials=60, seed=0)
    regimes = classify_regimes(trials, epochs)
    c = select_learning_curves(trials, regimes, epochs, "val_loss", False, n_best=2, n_per_regime=2)
    groups = list(dict.fromkeys(c["group"]))
    assert groups[0] == "best" and set(groups[1:]) <= {"underfit", "good", "overfit", "unstable"}
    best_ids = list(dict.fromkeys(c.loc[c["group"] == "best", "trial_id"]))
    ranked = trials[trials["status"] != "failed"].sort_values("best_val_loss")["trial_id"].tolist()
    assert best_ids == ranked[:2]  # a diverged trial with a good early epoch is not "best"
    per_trial_groups = c.groupby("trial_id")["group"].nunique()
    assert (per_trial_groups == 1).all()
    assert c.groupby("group")["trial_id"].nunique().max() <= 2
    first = c[c["trial_id"] == best_ids[0]]["epoch"]
    assert first.is_monotonic_increasing and first.iloc[0] == 1


def test_failed_trial_is_never_best(make_study):
    trials, epochs = make_study(n_trials=30, seed=0)
    failed = trials.index[trials["status"] == "failed"][0]
    trials.loc[failed, "best_val_loss"] = 0.01
    regimes = classify_regimes(trials, epochs)
    c = select_learning_curves(trials, regimes, epochs, "val_loss", False, n_best=3)
    assert trials.loc[failed, "trial_id"] not in set(c.loc[c["group"] == "best", "trial_id"])


def test_longest_curves_are_preferred_within_a_regime(make_study):
    trials, epochs = make_study(n_trials=60, seed=0)
    regimes = classify_regimes(trials, epochs)
    c = select_learning_curves(trials, regimes, epochs, "val_loss", False, n_best=0, n_per_regime=1)
    overfit = regimes[regimes["regime"] == "overfit"]
    assert overfit["epochs_judged"].nunique() > 1  # ASHA-stopped ones with a gap among them
    shown = c[c["group"] == "overfit"]["trial_id"].iloc[0]
    longest = overfit["epochs_judged"].max()
    assert regimes.set_index("trial_id").loc[shown, "epochs_judged"] == longest


def test_learning_curves_show_the_reference_loss(make_study):
    from jetstudy.analysis import plots

    trials, epochs = make_study(n_trials=20, seed=0)
    regimes = classify_regimes(trials, epochs)
    c = select_learning_curves(trials, regimes, epochs, "val_loss", False, n_best=1)
    fig = plots.learning_curves_figure(c, reference=0.6)
    ax = fig.axes[0]
    assert any(line.get_label() == "L*" and line.get_ydata()[0] == 0.6 for line in ax.lines)
    assert ax.get_ylim()[0] < 0.6
