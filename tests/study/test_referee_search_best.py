"""Referee: the "best trial" of a search is the same trial everywhere (task H).

One small ASHA study per search metric (``val_loss``, minimised; ``val_acc``, maximised), read
back from every place that names a best trial: ``trials.parquet`` ranked by the search metric,
``best/test_metrics.json`` (what ``jetstudy run`` prints), the report's "Best trial" section,
Optuna's journal (``study.best_trial``) and Ray Tune's ``ResultGrid.get_best_result``.

What holds, and what does not by design:

- jetstudy ranks a trial by its **best epoch** (``best_<metric>``), completed, stopped and
  running trials alike; Optuna is told that best-epoch value for a completed trial
  (:mod:`jetstudy.study.optuna_story`), so Optuna's best *completed* trial is the table's best
  completed trial, with the same value;
- Ray Tune's ``get_best_result(scope="all")`` ranks by every reported epoch too, so it names the
  table's best trial; ``scope="last"`` (Tune's default) ranks by each trial's last epoch and may
  name another trial: it is not jetstudy's rule.
"""

from __future__ import annotations

import json
import math

import optuna
import pandas as pd
import pytest

from jetstudy.analysis.sections import ReportState, _best
from jetstudy.analysis.tables import load_tables
from jetstudy.study.collect import _asha_rungs
from jetstudy.study.launch import run_study
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["val_loss", "val_acc"])
def study(request, ray_cluster, tmp_path_factory) -> tuple:
    from tests.conftest import make_small_config

    metric = request.param
    cfg = make_small_config(tmp_path_factory.mktemp(metric), f"best_{metric}",
                            data={"synthetic_jets": 3000},
                            search={"num_trials": 6, "max_concurrent": 2, "seed": 7,
                                    "metric": metric},
                            scheduler={"max_epochs": 4, "grace_period": 1,
                                       "reduction_factor": 2})
    outcome = run_study(cfg)
    return cfg, outcome


def _ranked(trials: pd.DataFrame, metric: str, mode: str) -> pd.DataFrame:
    ok = trials[trials["status"] != "failed"]
    return ok.sort_values(f"best_{metric}", ascending=mode == "min", kind="mergesort")


def test_table_json_report_and_printed_best_agree(study) -> None:
    cfg, outcome = study
    metric, folder = cfg.search.metric, outcome.folder
    trials = pd.read_parquet(folder / "trials.parquet")
    assert cfg.mode == ("min" if metric == "val_loss" else "max")
    top = _ranked(trials, metric, cfg.mode).iloc[0]
    # the table's best value is the best over every epoch of every scored trial
    epochs = pd.read_parquet(folder / "epochs.parquet")
    best_any = epochs[metric].min() if cfg.mode == "min" else epochs[metric].max()
    assert top[f"best_{metric}"] == pytest.approx(best_any)
    # best/test_metrics.json (what `jetstudy run` prints): that trial at its best epoch
    test = json.loads((folder / "best" / "test_metrics.json").read_text())
    assert test["trial_id"] == outcome.test_metrics["trial_id"] == top["trial_id"]
    assert int(test["epoch"]) == int(top["best_epoch"])
    at_epoch = epochs[(epochs["trial_id"] == top["trial_id"])
                      & (epochs["epoch"] == int(top["best_epoch"]))]
    assert at_epoch[metric].iloc[0] == pytest.approx(top[f"best_{metric}"])
    # the report's "Best trial" section
    state = ReportState(load_tables(folder))
    assert (state.metric, state.maximize) == (metric, cfg.mode == "max")
    section = _best(state)
    fields = dict(section.tables[0][1].itertuples(index=False))
    assert fields["trial_id"] == top["trial_id"]
    assert int(fields["best_epoch"]) == int(top["best_epoch"])


def test_optuna_best_is_the_tables_best_completed_trial(study) -> None:
    cfg, outcome = study
    metric, folder = cfg.search.metric, outcome.folder
    trials = pd.read_parquet(folder / "trials.parquet")
    ot = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    assert ot.direction.name == ("MINIMIZE" if cfg.mode == "min" else "MAXIMIZE")
    completed = trials[trials["status"] == "completed"]
    assert len(completed), "the probe needs a completed trial"
    top = _ranked(completed, metric, cfg.mode).iloc[0]
    assert ot.best_trial.user_attrs["trial_id"] == top["trial_id"]
    assert ot.best_value == pytest.approx(top[f"best_{metric}"])
    # every trial: Optuna's state is the table's status, a complete value its best epoch
    by_id = {t.user_attrs.get("trial_id"): t for t in ot.trials}
    assert set(trials["trial_id"]) <= set(by_id)
    for row in trials.itertuples():
        t = by_id[row.trial_id]
        want = {"completed": "COMPLETE", "stopped": "PRUNED",  # a diverged trial: pruned
                "failed": "PRUNED" if "diverged" in t.user_attrs else "FAIL"}[row.status]
        assert t.state.name == want, row.trial_id
        if row.status == "completed":
            assert t.value == pytest.approx(getattr(row, f"best_{metric}"))
        assert max(t.intermediate_values) == row.epochs


def test_tune_best_over_all_epochs_is_the_tables_best(study) -> None:
    from ray.tune import ExperimentAnalysis, ResultGrid

    cfg, outcome = study
    metric, folder = cfg.search.metric, outcome.folder
    trials = pd.read_parquet(folder / "trials.parquet")
    top = _ranked(trials, metric, cfg.mode).iloc[0]
    grid = ResultGrid(ExperimentAnalysis(str(folder / "ray")))
    best = grid.get_best_result(metric=metric, mode=cfg.mode, scope="all")
    value = best.metrics_dataframe[metric]
    assert best.metrics["trial_id"] == top["trial_id"]
    assert (value.min() if cfg.mode == "min" else value.max()) == pytest.approx(
        top[f"best_{metric}"])


def test_asha_stops_only_at_rungs_and_runs_num_trials(study) -> None:
    cfg, outcome = study
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    assert len(trials) == cfg.search.num_trials
    rungs = _asha_rungs(cfg)
    assert rungs == {1, 2}  # grace_period 1, reduction_factor 2, max_epochs 4
    for row in trials.itertuples():
        if row.status == "stopped":
            assert row.epochs in rungs and row.epochs >= cfg.scheduler.grace_period
            assert row.stop_reason == "scheduler"
        else:
            assert row.status == "completed" and row.epochs == cfg.scheduler.max_epochs
            assert row.stop_reason == "max_epochs"
        assert math.isfinite(getattr(row, f"best_{cfg.search.metric}"))
