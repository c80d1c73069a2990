"""Each regime rule on hand-made curves: noise is never a verdict, stopped curves are no verdict."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.regimes import (REGIMES, Reference, RegimeThresholds, assess_regimes,
                              classify_regimes, curve_summary, known_reference)
from jetstudy.trainables.errors import JetstudyError

EPOCHS = 10
LN5 = math.log(5)
BAYES = known_reference({"prior_entropy": LN5, "bayes_val_loss": 0.60, "bayes_val_loss_se": 0.004})


def _trial(tid: str, train: list[float], val: list[float], *, status: str = "completed",
           error: str = "", n_params: int = 5000, max_epochs: int = EPOCHS,
           train_se: float | None = 0.004, val_se: float | None = 0.007,
           auc: float = 0.9) -> tuple[dict, list[dict]]:
    n = len(train)
    best = int(np.nanargmin(val)) if np.isfinite(val).any() else 0
    se = {} if train_se is None else {"train_loss_se": train_se, "val_loss_se": val_se}
    row = {"trial_id": tid, "status": status, "error": error, "n_params": n_params, "epochs": n,
           "max_epochs": max_epochs, "train_loss": train[-1], "val_loss": val[-1],
           "val_auc": auc, "best_val_loss": val[best], "best_epoch": best + 1, **se}
    epochs = [{"trial_id": tid, "epoch": i + 1, "train_loss": t, "val_loss": v, "val_auc": auc,
               **se} for i, (t, v) in enumerate(zip(train, val))]
    return row, epochs


def _frames(*trials: tuple[dict, list[dict]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame([t[0] for t in trials]),
            pd.DataFrame([e for t in trials for e in t[1]]))


def _decay(start: float, end: float, n: int = EPOCHS) -> list[float]:
    return list(end + (start - end) * np.exp(-np.arange(n) / 2.0))


def _judge(*trials: tuple[dict, list[dict]], reference: Reference | None = BAYES,
           thresholds: RegimeThresholds | None = None) -> pd.DataFrame:
    t, e = _frames(*trials)
    return classify_regimes(t, e, thresholds, reference).set_index("trial_id")


def _settled(start: float, end: float, n: int = EPOCHS) -> list[float]:
    """Decays from ``start``, the last three epochs exactly at ``end``."""
    return _decay(start, end, n)[:-3] + [end] * 3


def _flat(tid: str, train: float, val: float, **kw) -> tuple[dict, list[dict]]:
    """A converged curve that ends at ``train`` / ``val``."""
    return _trial(tid, _settled(1.4, train), _settled(1.4, val), **kw)


# --- the gap is judged against its noise -------------------------------------------------------

def test_gap_of_one_sigma_is_noise_and_five_sigma_is_overfit():
    """Small validation split (SE 0.03): a 6% gap is 1 sigma, a 30% one 5 sigma."""
    sigma = math.hypot(0.03, 0.03)
    r = _judge(_flat("one", 0.62, 0.62 + sigma, train_se=0.03, val_se=0.03),
               _flat("five", 0.62, 0.62 + 5 * sigma, train_se=0.03, val_se=0.03))
    assert r.loc["one", "regime"] == "good"
    assert r.loc["one", "gap_sigma"] == pytest.approx(1.0, abs=0.01)
    assert r.loc["five", "regime"] == "overfit"
    assert "+5.0 sigma" in r.loc["five", "reason"]


def test_significant_but_tiny_gap_on_a_huge_split_is_not_overfit():
    """10^6 jets: a 1% gap is 7 sigma, but below the 3% floor."""
    r = _judge(_flat("big", 0.62, 0.6262, train_se=0.0006, val_se=0.0006))
    assert r.loc["big", "gap_sigma"] > 5 and r.loc["big", "regime"] == "good"


def test_memorisation_under_the_old_thresholds_is_overfit():
    """A 10% gap at 20 sigma passed the old 15% relative rule as good."""
    se = 0.06 / 20 / math.sqrt(2)
    r = _judge(_flat("mem", 0.60, 0.66, train_se=se, val_se=se))
    assert r.loc["mem", "regime"] == "overfit"
    assert "+10%" in r.loc["mem", "reason"] and "+20.0 sigma" in r.loc["mem", "reason"]


def test_the_splits_own_difference_is_taken_out_of_the_gap():
    """Synthetic jets: the Bayes classifier itself scores 0.04 worse on the validation jets;
    a model 0.06 (10%, 6 sigma) worse on them is only 0.02 worse than it has to be."""
    ref = known_reference({"bayes_val_loss": 0.60, "bayes_val_loss_se": 0.007,
                           "bayes_train_loss": 0.56, "bayes_train_loss_se": 0.004})
    assert ref.split_offset == pytest.approx(0.04) and "+0.04" in ref.describe()
    r = _judge(_flat("m", 0.60, 0.66), _flat("mem", 0.50, 0.66), reference=ref)
    assert r.loc["m", "regime"] == "good" and r.loc["m", "gap"] == pytest.approx(0.02 / 0.60, abs=5e-4)
    assert "L* 0.560 (bayes, training jets)" in r.loc["m", "reason"]  # ± 0.004: 3 decimals
    assert "splits' own difference +0.040 taken out" in r.loc["m", "reason"]  # ± 0.008
    assert r.loc["mem", "regime"] == "overfit"  # 0.16 - 0.04: still 24%
    assert _judge(_flat("m", 0.60, 0.66), reference=BAYES).loc["m", "regime"] == "overfit"


def test_without_standard_errors_the_relative_thresholds_apply_and_say_so():
    r = _judge(_flat("mem", 0.60, 0.66, train_se=None), _flat("wide", 0.60, 0.72, train_se=None))
    assert r.loc["mem", "regime"] == "good"  # 10% < gap_without_se 15%
    assert r.loc["wide", "regime"] == "overfit"
    for tid in ("mem", "wide"):
        assert "no standard errors in the table: relative thresholds only" in r.loc[tid, "reason"]
    assert r["gap_sigma"].isna().all()


# --- the rise rule -----------------------------------------------------------------------------

def test_val_rising_while_train_falls_is_overfit():
    """A small, easy validation split: val ends only 2.6 sigma above train, but it rose 0.10
    (3.3 sigma, 16%) from its minimum while train fell 6%."""
    train = [1.3, 1.0, 0.8, 0.72, 0.70, 0.695, 0.69, 0.68, 0.67, 0.66]
    val = [1.3, 0.95, 0.75, 0.66, 0.64, 0.64, 0.66, 0.70, 0.74, 0.76]
    r = _judge(_trial("rise", train, val, train_se=0.005, val_se=0.03))
    assert r.loc["rise", "gap_sigma"] < 3
    assert r.loc["rise", "regime"] == "overfit"
    assert "rose" in r.loc["rise", "reason"] and "train loss fell" in r.loc["rise", "reason"]


def test_plateau_with_one_low_fluctuation_is_no_minimum():
    """Val flat at 0.66 but one epoch at 0.60, train still creeping down: a "rise" of 10%
    from that one point is noise, not memorisation."""
    train = [1.3, 0.9, 0.7, 0.67, 0.665, 0.66, 0.655, 0.65, 0.645, 0.64]
    val = [1.3, 0.9, 0.7, 0.66, 0.60, 0.66, 0.66, 0.66, 0.66, 0.66]
    r = _judge(_trial("plateau", train, val))
    assert r.loc["plateau", "regime"] == "good"
    s = curve_summary(*_frames(_trial("plateau", train, val))).iloc[0]
    assert s["min_val"] == pytest.approx(0.66)


def test_rising_val_with_rising_train_is_not_overfit():
    """Both losses rise from epoch 4 (an optimiser problem): not memorisation."""
    train = [1.2, 0.9, 0.66, 0.64, 0.66, 0.68, 0.70, 0.72]
    val = [1.2, 0.9, 0.67, 0.65, 0.67, 0.69, 0.71, 0.73]
    assert _judge(_trial("drift", train, val, max_epochs=8)).loc["drift", "regime"] != "overfit"


def test_one_spike_in_the_last_epoch_is_no_gap():
    train = _decay(1.4, 0.62)
    val = _decay(1.4, 0.63)[:-1] + [0.75]
    assert _judge(_trial("spike", train, val)).loc["spike", "regime"] == "good"


# --- unstable ----------------------------------------------------------------------------------

def test_collapsed_net_at_ln5_is_unstable():
    """ln 5 = 1.6094: a loss of 1.6106 is worse than predicting the priors."""
    r = _judge(_flat("collapsed", 1.6101, 1.6106, auc=0.62), reference=Reference())
    assert r.loc["collapsed", "regime"] == "unstable"
    assert "class priors" in r.loc["collapsed", "reason"] and "1.6094" in r.loc["collapsed", "reason"]


def test_prior_entropy_comes_from_reference_json():
    h = 1.50  # unbalanced classes: predicting the priors gives 1.50, not ln 5
    ref = known_reference({"prior_entropy": h, "bayes_val_loss": 0.6})
    r = _judge(_flat("priors", 1.50, 1.50), _flat("ok", 0.62, 0.63), reference=ref)
    assert r.loc["priors", "regime"] == "unstable" and r.loc["ok", "regime"] == "good"


def test_auc_of_one_half_is_unstable():
    """A 60-128-2-2 net whose bottleneck died: loss below ln 5 by a hair, AUC 0.500."""
    r = _judge(_flat("dead", 1.55, 1.56, auc=0.500), _flat("ok", 0.62, 0.63))
    assert r.loc["dead", "regime"] == "unstable" and "AUC 0.500" in r.loc["dead", "reason"]
    assert r.loc["ok", "regime"] == "good"


def test_memorising_net_with_val_above_ln5_is_overfit_not_unstable():
    r = _judge(_flat("mem", 0.10, 1.9))
    assert r.loc["mem", "regime"] == "overfit"


def test_nan_inf_and_divergence_are_unstable():
    nan_train = _decay(1.5, 0.8)[:4] + [np.nan]
    rows = [{"trial_id": "inf", "status": "completed", "n_params": 10, "train_loss": np.inf,
             "val_loss": np.inf}]
    t, e = _frames(_trial("nan", nan_train, nan_train, status="failed", error="loss diverged"))
    t = pd.concat([t, pd.DataFrame(rows)], ignore_index=True)
    r = classify_regimes(t, e).set_index("trial_id")
    assert r.loc["nan", "regime"] == "unstable" and "epoch 5" in r.loc["nan", "reason"]
    assert r.loc["inf", "regime"] == "unstable"
    r = classify_regimes(t, None).set_index("trial_id")
    assert r.loc["nan", "regime"] == "unstable"  # from the error text


# --- underfit against L* -----------------------------------------------------------------------

def test_best_trial_of_a_weak_study_is_underfit_against_the_bayes_loss():
    """On synthetic jets L* is known: a study whose best sits 23% above it is all underfit."""
    weak = [_flat("best", 0.738, 0.740), _flat("worse", 0.80, 0.81)]
    assert (_judge(*weak)["regime"] == "underfit").all()
    proxy = assess_regimes(*_frames(*weak))  # no reference.json: the study's best as a proxy
    assert proxy.reference.source == "proxy" and proxy.reference.proxy_trial == "best"
    assert proxy.table.set_index("trial_id").loc["best", "regime"] == "good"
    assert "PROXY" in proxy.reference.describe()


def test_underfit_needs_more_than_noise_and_the_tolerance():
    r = _judge(_flat("close", 0.68, 0.685), _flat("noisy", 0.72, 0.725, train_se=0.05, val_se=0.05),
               _flat("tiny", 1.10, 1.11, n_params=49))
    assert r.loc["close", "regime"] == "good"  # 13% above L*: within 15%
    assert r.loc["noisy", "regime"] == "good"  # 20% above, but only 2.4 sigma
    assert r.loc["tiny", "regime"] == "underfit"
    assert "L* 0.600 (bayes)" in r.loc["tiny", "reason"]  # to its error's digits (± 0.004)


def test_users_reference_loss_wins_and_thresholds_move_the_boundary():
    ref = known_reference({"bayes_val_loss": 0.60}, reference_loss=0.70)
    assert ref.source == "user" and ref.loss == 0.70
    assert _judge(_flat("x", 0.74, 0.745), reference=ref).loc["x", "regime"] == "good"
    lenient = RegimeThresholds(underfit_tolerance=1.0)
    assert _judge(_flat("tiny", 1.10, 1.11), thresholds=lenient).loc["tiny", "regime"] == "good"


# --- stopped curves are no verdict -------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3])
def test_asha_stopped_trials_are_undetermined(n):
    weak = _trial("weak", _decay(1.5, 1.0)[:n], _decay(1.5, 1.01)[:n], status="stopped")
    fine = _trial("fine", _decay(1.4, 0.62)[:n], _decay(1.4, 0.63)[:n], status="stopped")
    t, e = _frames(weak, fine)
    t["stop_reason"] = "scheduler"
    r = classify_regimes(t, e, reference=BAYES).set_index("trial_id")
    assert (r["regime"] == "undetermined").all()
    assert f"stopped after {n} of {EPOCHS} epochs by the scheduler (ASHA)" in r.loc["weak", "reason"]
    assert not r["complete"].any()


def test_stopped_trial_with_a_significant_gap_or_collapse_is_still_judged():
    gap = _trial("gap", _decay(1.4, 0.4)[:3], _decay(1.4, 0.9)[:3], status="stopped")
    dead = _trial("dead", [1.62, 1.615, 1.612], [1.62, 1.612, 1.611], status="stopped")
    r = _judge(gap, dead)
    assert r.loc["gap", "regime"] == "overfit" and bool(r.loc["gap", "judged_on_partial"])
    assert "curve not complete: stopped after 3 of 10 epochs" in r.loc["gap", "reason"]
    assert r.loc["dead", "regime"] == "unstable"


def test_one_or_two_epochs_at_the_priors_cut_by_asha_are_a_slow_start_not_a_collapse():
    """The demo's deep narrow nets at a small learning rate sit at ln 5 after their first epoch
    (AUC 0.5-0.6) when ASHA cuts them: no evidence of a collapse, so undetermined; a NaN is
    unstable at once."""
    slow = _trial("slow", [1.665], [1.664], status="stopped", auc=0.58)
    slow2 = _trial("slow2", [1.64, 1.62], [1.64, 1.62], status="stopped", auc=0.52)
    nan = _trial("nan", [1.5, math.nan], [1.5, math.nan], status="stopped")
    r = _judge(slow, slow2, nan)
    assert r.loc["slow", "regime"] == "undetermined"
    assert "stopped after 1 of 10 epochs" in r.loc["slow", "reason"]
    assert r.loc["slow2", "regime"] == "undetermined"
    assert r.loc["nan", "regime"] == "unstable"


def test_converged_by_patience_is_complete_and_running_or_failed_midway_is_not():
    done = _trial("patience", _settled(1.4, 0.62, 6), _settled(1.4, 0.63, 6))
    running = _trial("running", _decay(1.4, 0.62, 6), _decay(1.4, 0.63, 6), status="running")
    oom = _trial("oom", _decay(1.4, 0.62, 6), _decay(1.4, 0.63, 6), status="failed",
                 error="CUDA out of memory")
    r = _judge(done, running, oom)
    assert r.loc["patience", "regime"] == "good" and bool(r.loc["patience", "complete"])
    assert r.loc["running", "regime"] == "undetermined" and "still running" in r.loc["running", "reason"]
    assert r.loc["oom", "regime"] == "undetermined" and "failed after 6" in r.loc["oom", "reason"]


def test_a_completed_two_epoch_run_is_judged_on_its_final_losses_and_says_so():
    r = _judge(_trial("two", [1.0, 0.9], [1.0, 0.91], max_epochs=2))
    assert r.loc["two", "regime"] == "underfit" and "its whole run is 2 epochs" in r.loc["two", "reason"]


def test_no_finite_loss_is_undetermined():
    rows = [{"trial_id": "oom", "status": "failed", "error": "CUDA out of memory", "n_params": 10,
             "train_loss": np.nan, "val_loss": np.nan},
            {"trial_id": "new", "status": "running", "n_params": 10, "train_loss": np.nan,
             "val_loss": np.nan}]
    r = classify_regimes(pd.DataFrame(rows), None).set_index("trial_id")
    assert (r["regime"] == "undetermined").all()
    assert "CUDA out of memory" in r.loc["oom", "reason"]


# --- plumbing ----------------------------------------------------------------------------------

def test_regime_values_and_table_only_classification():
    t, e = _frames(_flat("tiny", 1.10, 1.11), _flat("mem", 0.40, 0.90), _flat("ok", 0.62, 0.63))
    with_curves = classify_regimes(t, e, reference=BAYES).set_index("trial_id")["regime"]
    table_only = classify_regimes(t, None, reference=BAYES).set_index("trial_id")["regime"]
    assert with_curves.to_dict() == table_only.to_dict() == {"tiny": "underfit", "mem": "overfit",
                                                            "ok": "good"}
    assert set(with_curves) <= set(REGIMES)


def test_curve_summary_reads_the_smoothed_minimum():
    train = _decay(1.4, 0.70)[:4] + list(np.linspace(0.68, 0.35, EPOCHS - 4))
    val = _decay(1.4, 0.70)[:4] + list(np.linspace(0.71, 0.95, EPOCHS - 4))
    s = curve_summary(*_frames(_trial("big", train, val))).set_index("trial_id").loc["big"]
    assert s["min_val_epoch"] == 5 and s["min_val"] == pytest.approx(np.median(val[3:6]))
    assert s["val"] == pytest.approx(np.median(val[-3:]))
    assert s["val_se"] == 0.007 and bool(s["has_curve"])


@pytest.mark.parametrize("field, value", [
    ("z", 0), ("gap_floor", -0.1), ("gap_without_se", float("nan")), ("overfit_rise", 0),
    ("train_still_falling", "x"), ("underfit_tolerance", -1), ("prior_margin", 0.6),
    ("auc_floor", 0.4), ("min_epochs", 1), ("min_epochs", 2.5),
])
def test_bad_thresholds_are_refused_by_name(field, value):
    with pytest.raises(AnalysisError, match=f"`{field}` is .*, but must be"):
        RegimeThresholds(**{field: value})
    assert issubclass(AnalysisError, JetstudyError)


def test_config_section_mirrors_the_thresholds():
    """``regimes:`` in the study config has every threshold, with the same defaults."""
    from jetstudy.study.config import RegimesConfig, from_dict

    cfg = from_dict({"regimes": {"z": 5, "reference_loss": 0.61}}).regimes
    assert isinstance(cfg, RegimesConfig)
    defaults = RegimeThresholds().__dict__
    assert {k: v for k, v in from_dict({}).regimes.__dict__.items() if k in defaults} == defaults
    assert set(RegimesConfig.__dataclass_fields__) == set(defaults) | {"reference_loss"}
    assert RegimeThresholds.from_mapping(cfg.__dict__) == RegimeThresholds(z=5)


def test_make_study_fixture_has_every_regime(make_study):
    trials, epochs = make_study(n_trials=60, seed=0, asha=False)
    ref = known_reference({"bayes_val_loss": 0.60})
    counts = classify_regimes(trials, epochs, reference=ref)["regime"].value_counts()
    assert {"underfit", "good", "overfit", "unstable"} <= set(counts.index)
    trials, epochs = make_study(n_trials=60, seed=0)  # ASHA: the stopped ones are undetermined
    r = classify_regimes(trials, epochs, reference=ref).merge(trials[["trial_id", "epochs"]])
    early = r[(r["status"] == "stopped") & (r["epochs"] <= 6)]
    assert len(early) > 10 and not early["regime"].isin(["underfit", "good"]).any()


def test_the_report_judges_with_the_studys_config_and_reference(tmp_path, make_study, write_study):
    """config.yaml's regimes: section and reference.json reach the report's regime table."""
    import copy

    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import CONFIG, words_only

    trials, epochs = make_study(n_trials=30, seed=0, asha=False)
    default = words_only(load_tables(write_study(tmp_path / "a", trials, epochs)))
    assert default.reference.source == "bayes" and default.thresholds == RegimeThresholds()
    assert "underfit" in set(default.regimes["regime"])
    config = copy.deepcopy(CONFIG)
    config["regimes"] = {"underfit_tolerance": 5.0, "reference_loss": 0.55}
    lenient = words_only(load_tables(write_study(tmp_path / "b", trials, epochs, config=config)))
    assert lenient.thresholds.underfit_tolerance == 5.0
    assert lenient.reference.source == "user" and lenient.reference.loss == 0.55
    assert "underfit" not in set(lenient.regimes["regime"])
