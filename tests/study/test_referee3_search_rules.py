"""Referee round 3 (task B): ASHA settings that make the order of arrival decide, and the live
progress line's best trial on an exact tie. Pure functions, Ray's own ASHA bookkeeping and
hand-made values; no training.

Found and fixed here:
- ``scheduler.reduction_factor`` above ``search.num_trials`` (e.g. 10 with 4 trials) was
  silent: ASHA keeps the top 1/10 at each rung, less than one trial, so a trial passes a rung
  only if it is about as good as the best before it (the first to arrive always passes); a
  warning now says so, with the fix;
- the progress line named, on an exact tie of the search metric (``val_acc`` on a few hundred
  validation jets ties often), whichever trial reported first, while the tables, report and
  test evaluation break the tie by status, parameters and trial id
  (``jetstudy.analysis.summary.best_trial``): the line now ranks the same way.
"""

from __future__ import annotations

import pandas as pd
import pytest
from ray.tune.schedulers import ASHAScheduler

from jetstudy.analysis.summary import best_trial
from jetstudy.study.config import from_dict
from jetstudy.study.progress import ProgressCounts

ASHA_TRIALS = {"sampler": "random", "max_concurrent": 1}


def _warns(num_trials: int, factor: int) -> list[str]:
    cfg = from_dict({"search": {**ASHA_TRIALS, "num_trials": num_trials},
                     "scheduler": {"max_epochs": 9, "grace_period": 1,
                                   "reduction_factor": factor}})
    return [w for w in cfg.warnings if "reduction_factor" in w]


@pytest.mark.parametrize(("num_trials", "factor", "warns"), [
    (4, 10, True), (9, 10, True), (10, 10, False), (3, 3, False), (64, 3, False),
    (1, 3, False), (2, 5, False)])  # 1-2 trials: at most one earlier value, any factor alike
def test_reduction_factor_above_num_trials_is_said(num_trials: int, factor: int,
                                                   warns: bool) -> None:
    said = _warns(num_trials, factor)
    assert bool(said) == warns
    if said:
        (text,) = said
        assert f"scheduler.reduction_factor is {factor}" in text
        assert f"search.num_trials {num_trials}" in text
        fix = int(text.split("set scheduler.reduction_factor to ")[1].split()[0])
        assert fix <= num_trials and not _warns(num_trials, fix)
        assert not _warns(factor, factor)  # the other fix


def test_what_the_warning_says_is_what_ray_asha_does() -> None:
    """Ray's ASHA with reduction_factor 10: at the first rung the first trial passes, a later
    one passes only when it is as good as the 90th percentile of the earlier ones."""
    asha = ASHAScheduler(time_attr="epoch", max_t=9, grace_period=1, reduction_factor=10,
                         metric="val_acc", mode="max")
    bracket = asha._brackets[0]

    class T:
        def __init__(self, trial_id: str) -> None:
            self.trial_id = trial_id

    decisions = [bracket.on_result(T(name), 1, value) for name, value in
                 [("first", 0.50), ("worse", 0.49), ("better", 0.60), ("second", 0.55)]]
    assert decisions == ["CONTINUE", "STOP", "CONTINUE", "STOP"]


def _table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial_id", "status", "n_params", "best_val_acc"])


@pytest.mark.parametrize("rows", [
    # equal value: completed beats stopped, whatever arrives first
    [("b", "stopped", 50, 0.75), ("a", "completed", 90, 0.75), ("c", "completed", 90, 0.70)],
    # equal value and status: fewer parameters
    [("a", "completed", 90, 0.75), ("z", "completed", 40, 0.75)],
    # equal value, status and size: the first trial id, whatever order they report in
    [("q", "completed", 40, 0.75), ("p", "completed", 40, 0.75)],
])
def test_progress_line_breaks_a_tie_as_the_tables(rows: list[tuple]) -> None:
    want = best_trial(_table(rows), "val_acc", maximize=True)["trial_id"]
    for order in (rows, rows[::-1]):
        counts = ProgressCounts(total=len(rows), metric="val_acc", mode="max")
        for trial_id, status, n_params, value in order:
            counts.offer(value, trial_id, n_params=n_params)  # while running
        for trial_id, status, n_params, value in order:
            counts.offer(value, trial_id, complete=status == "completed", n_params=n_params)
        assert counts.best_trial == want, order
        assert counts.best == 0.75


def test_progress_line_tie_after_a_failed_leader() -> None:
    counts = ProgressCounts(total=3, metric="val_loss", mode="min")
    counts.offer(0.4, "b", complete=True, n_params=10)
    counts.offer(0.4, "c", complete=True, n_params=5)
    counts.offer(0.3, "a", n_params=1)
    assert counts.best_trial == "a"
    counts.withdraw("a")
    assert (counts.best, counts.best_trial) == (0.4, "c")


def test_a_resume_says_each_config_warning_once(tmp_path, caplog) -> None:
    """Found and fixed: --resume logged the saved config's warnings again (its config.yaml was
    read with load_config), so every warning of the given config came twice."""
    import logging

    from jetstudy.study.config import load_config
    from jetstudy.study.resume import config_for_resume

    text = ("search: {num_trials: 4, max_concurrent: 1, sampler: random}\n"
            "scheduler: {max_epochs: 9, grace_period: 1, reduction_factor: 10}\n")
    (tmp_path / "config.yaml").write_text(text)
    with caplog.at_level(logging.WARNING):
        given = load_config(tmp_path / "config.yaml")
        resumed = config_for_resume(given, tmp_path)
    assert resumed == given and len(given.warnings) == 1
    assert caplog.text.count("scheduler.reduction_factor is 10") == 1


def test_progress_total_is_never_below_the_trials_it_counts() -> None:
    """Found and fixed: a resume that lowered search.num_trials to 1 with 2 trials started
    showed 'trials 2/1 finished'."""
    counts = ProgressCounts(total=1, metric="val_loss", mode="min", finished=2)
    assert counts.format().startswith("trials 2/2 finished")
    counts = ProgressCounts(total=1, metric="val_loss", mode="min", finished=1, running=1)
    assert counts.format().startswith("trials 1/2 finished")
    assert ProgressCounts(total=5, metric="val_loss", mode="min",
                          finished=1).format().startswith("trials 1/5 finished")


def test_closing_budget_cut_trials_says_no_config_warning_again(tmp_path, caplog) -> None:
    """Found and fixed: closing the trials a time budget left running read config.yaml with
    load_config, logging the config's warnings again at the end of the study."""
    import logging

    import optuna

    from jetstudy.study.prepare import write_config
    from jetstudy.study.searcher import OPTUNA_STUDY_NAME, close_orphaned_trials, optuna_storage

    cfg = from_dict({"search": {"num_trials": 4, "max_concurrent": 1, "sampler": "random"},
                     "scheduler": {"max_epochs": 9, "grace_period": 1, "reduction_factor": 10},
                     "storage": {"results_dir": str(tmp_path), "name": "x"}})
    assert cfg.warnings
    write_config(cfg, tmp_path)
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    study.ask().set_user_attr("trial_id", "never")
    with caplog.at_level(logging.WARNING):
        assert close_orphaned_trials(tmp_path) == 1
    assert "reduction_factor" not in caplog.text
    assert study.get_trials()[0].state.name == "FAIL"


@pytest.mark.parametrize("kind", ["fifo", "patience"])
def test_grace_period_binds_only_asha(kind: str) -> None:
    """Found and fixed: a fifo or patience study with max_epochs 1 (or 2) was refused for
    the default scheduler.grace_period 2, a field only ASHA reads."""
    cfg = from_dict({"scheduler": {"type": kind, "max_epochs": 1, "patience": 1}}
                    if kind == "fifo" else
                    {"scheduler": {"type": kind, "max_epochs": 2, "grace_period": 3,
                                   "patience": 1}})
    assert cfg.scheduler.grace_period > cfg.scheduler.max_epochs
    assert not [w for w in cfg.warnings if "grace_period" in w]
    with pytest.raises(Exception, match=r"grace_period must be <= scheduler.max_epochs \(1\), "
                                        r"got 2: ASHA's first rung"):
        from_dict({"scheduler": {"type": "asha", "max_epochs": 1}})


def test_progress_best_is_each_trials_best_epoch_on_resume() -> None:
    """Found and fixed: after --resume the progress line knew an earlier run's trials only by
    their last result, so its 'best' could be a last epoch's value, not the tables' best."""
    from types import SimpleNamespace

    from jetstudy.study.progress import StudyProgress

    def trial(trial_id: str, last: float, best: float) -> SimpleNamespace:
        meta = SimpleNamespace(metric_analysis={"val_loss": {"min": best, "max": last}})
        return SimpleNamespace(trial_id=trial_id, status="TERMINATED", run_metadata=meta,
                               last_result={"epoch": 4, "val_loss": last, "n_params": 10})

    progress = StudyProgress(total=2, metric="val_loss", mode="min", max_epochs=4, sink=None)
    progress._recount([trial("a", 0.60, 0.55), trial("b", 0.58, 0.58)])
    assert (progress.counts.best, progress.counts.best_trial) == (0.55, "a")


def test_run_kind_line_counts_as_the_report_does() -> None:
    """Found and fixed: `jetstudy run` said 'search (tpe, 3 trials, 64 at a time' and 'a grid
    of 1 configurations' while the report says 3 at a time and 1 configuration."""
    from jetstudy.study.cli import describe_kind

    line = describe_kind(from_dict({"search": {"num_trials": 3, "max_concurrent": 64}}))
    assert "(tpe, 3 trials, 3 at a time," in line
    line = describe_kind(from_dict({"search": {"num_trials": 1, "max_concurrent": 1}}))
    assert "(tpe, 1 trial, 1 at a time," in line
    grid = from_dict({"search": {"sampler": "grid"}, "scheduler": {"type": "fifo"},
                      "space": {"depth": [2, 2], "width": [8, 8], "dropout": [0, 0],
                                "l1": [0, 0], "l2": [0, 0], "lr": [1e-3, 1e-3]}})
    assert "a grid of 1 configuration," in describe_kind(grid)
