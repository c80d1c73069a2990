"""Referee: a study cut by ``search.time_budget_s`` says which trials the budget cut, and Optuna
tells the tables' story of them (task H).

Found and fixed here:

- a trial the budget cut at an ASHA rung epoch was listed ``stop_reason: scheduler`` (a guess
  from the epoch); Tune finishes a trial it stops itself (the ledger's ``ended`` marker), never
  one the budget cuts, so the marker decides (:func:`jetstudy.study.collect.stop_reason`);
- Tune tells the searcher nothing of the trials running when the budget ends, so Optuna kept
  them *running* until :func:`close_orphaned_trials` closed them from what Optuna had heard:
  one epoch fewer than the tables (the last results were still queued), or *failed* with no
  value for a trial the tables list with a trained epoch. They are now closed from their own
  epoch log, as the tables are: every epoch an intermediate value, *complete* (best epoch's
  value) when the log reaches ``max_epochs``, else *pruned*. The same for a trial Tune ended
  without forwarding its last results (``HonestOptunaSearch._last_and_best``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd
import pytest

from jetstudy.study.cli import _describe
from jetstudy.study.collect import _asha_rungs
from jetstudy.study.config import StudyConfig, from_dict
from jetstudy.study.launch import StudyOutcome, run_study
from jetstudy.study.prepare import write_config
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, close_orphaned_trials, optuna_storage
from jetstudy.trainables.trialfiles import ENDED_FILE, EPOCHS_FILE


def _budget_config(results: Path, budget: float | None, num_trials: int) -> StudyConfig:
    from tests.conftest import make_small_config

    return make_small_config(results, "budget", data={"synthetic_jets": 20000},
                             space={"depth": [2, 3], "width": [32, 64]},
                             search={"num_trials": num_trials, "max_concurrent": 2, "seed": 3,
                                     "time_budget_s": budget},
                             scheduler={"max_epochs": 8, "grace_period": 1,
                                        "reduction_factor": 2})


@dataclass(frozen=True)
class BudgetCut:
    cfg: StudyConfig
    outcome: StudyOutcome
    as_cut: Path  # a copy of the study folder as the budget left it


@pytest.fixture(scope="module")
def budget_cut(ray_cluster, tmp_path_factory: pytest.TempPathFactory) -> BudgetCut:
    """One study cut by its budget, for both tests: far more trials than the budget allows, and
    a budget that outlasts Ray's start-up on a loaded 2-core CI machine. The first test reads a
    copy of the folder as the budget left it; the second resumes the study itself."""
    results = tmp_path_factory.mktemp("budget")
    cfg = _budget_config(results, 25, 300)
    outcome = run_study(cfg)
    as_cut = tmp_path_factory.mktemp("as_cut") / "budget"
    shutil.copytree(outcome.folder, as_cut, symlinks=True)
    return BudgetCut(cfg, outcome, as_cut)


@pytest.mark.slow
def test_budget_cut_trials_are_named_and_told(budget_cut: BudgetCut) -> None:
    cfg, outcome, folder = budget_cut.cfg, budget_cut.outcome, budget_cut.as_cut
    trials = pd.read_parquet(folder / "trials.parquet")
    # nothing half-written: the CSV twin lists the same trials, none still running
    assert list(pd.read_csv(folder / "trials.csv")["trial_id"]) == list(trials["trial_id"])
    assert 0 < len(trials) < cfg.search.num_trials
    assert "running" not in set(trials["status"])
    cut = trials[trials["stop_reason"] == "time_budget"]
    if cut.empty:  # timing: under load the budget can end while every trial is starting up
        pytest.skip("the budget ended no trained, running trial this time; nothing to referee")
    assert (f"search.time_budget_s ran out: {len(cut)} trial(s) cut short"
            in _describe(outcome))  # what `jetstudy run` prints
    rungs = _asha_rungs(cfg)
    for row in trials.itertuples():
        ended = (folder / "trials" / row.trial_id / ENDED_FILE).is_file()
        if row.stop_reason == "scheduler":
            assert ended and row.epochs in rungs and row.status == "stopped"
        elif row.stop_reason == "time_budget":
            assert not ended and row.status == "stopped"
        else:
            assert row.stop_reason == "max_epochs" and row.epochs == 8
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    by_id = {t.user_attrs.get("trial_id"): t for t in study.trials}
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    for row in trials.itertuples():  # Optuna heard every epoch the tables list
        t = by_id[row.trial_id]
        assert t.state.name == {"completed": "COMPLETE", "stopped": "PRUNED"}[row.status]
        assert max(t.intermediate_values) == row.epochs, row
    # the Optuna trials the tables do not list never trained an epoch
    for trial_id, t in by_id.items():
        if trial_id not in set(trials["trial_id"]):
            assert t.state.name == "FAIL" and not t.intermediate_values


def _orphan(study: optuna.Study, folder: Path, trial_id: str, told: list[float],
            logged: list[float]) -> int:
    trial = study.ask()
    trial.set_user_attr("trial_id", trial_id)
    for epoch, value in enumerate(told, start=1):
        trial.report(value, epoch)
    (folder / "trials" / trial_id).mkdir(parents=True)
    (folder / "trials" / trial_id / "config.json").write_text(json.dumps({"depth": 1,
                                                                          "width_0": 8}))
    (folder / "trials" / trial_id / EPOCHS_FILE).write_text("".join(
        json.dumps({"epoch": e, "val_loss": v, "n_params": 181, "flops": 350}) + "\n"
        for e, v in enumerate(logged, start=1)))
    return trial.number


def test_orphans_are_closed_from_their_epoch_log(tmp_path: Path) -> None:
    cfg = from_dict({"scheduler": {"max_epochs": 3},
                     "storage": {"results_dir": str(tmp_path), "name": "x"}})
    write_config(cfg, tmp_path)
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    done = _orphan(study, tmp_path, "done", [1.0], [1.0, 0.7, 0.8])
    cut = _orphan(study, tmp_path, "cut", [1.2], [1.2, 0.9])
    blank = _orphan(study, tmp_path, "blank", [], [])
    assert close_orphaned_trials(tmp_path) == 3
    trials = {t.number: t for t in study.get_trials()}
    assert trials[done].state.name == "COMPLETE" and trials[done].value == 0.7  # best epoch
    assert trials[done].intermediate_values == {1: 1.0, 2: 0.7, 3: 0.8}
    assert trials[done].user_attrs["n_params"] == 181
    assert trials[cut].state.name == "PRUNED"
    assert trials[cut].intermediate_values == {1: 1.2, 2: 0.9}
    assert trials[blank].state.name == "FAIL"


@pytest.mark.slow
def test_resume_after_the_budget_runs_the_rest(budget_cut: BudgetCut) -> None:
    """Found and fixed: a study the budget cut, resumed without a budget, ran nothing more
    (Ray restored the spent budget and the finished search; the cut trials held the
    concurrency limit), or cut its new trials before their first epoch. The resume asks for 3
    more trials than the first run trained (the study is :func:`budget_cut`'s)."""
    first = budget_cut.outcome.trials
    assert 0 < len(first) < 300
    want = len(first) + 3
    results = budget_cut.outcome.folder.parent
    after = run_study(_budget_config(results, None, want), resume=True).trials
    assert len(after) == want and (after["epochs"] >= 1).all()
    was = first.set_index("trial_id")[["status", "stop_reason"]]
    now = after.set_index("trial_id").loc[was.index, ["status", "stop_reason"]]
    assert now.equals(was)  # the first run's trials as they were, cut ones still named so
    new = after[~after["trial_id"].isin(was.index)]
    assert set(new["stop_reason"]) <= {"max_epochs", "scheduler"}
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                              storage=optuna_storage(budget_cut.outcome.folder))
    trained = [t for t in study.trials if t.intermediate_values]
    assert sorted(t.user_attrs["trial_id"] for t in trained) == sorted(after["trial_id"])
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
