"""Referee: a size-aware search's front and limits, and a search with failing trials (task H).

- ``search.objectives: [val_acc, n_params]`` with ``search.max_params``: Optuna's Pareto front
  (``study.best_trials``) is the report's "search's own front" (same trials, same values), no
  trial over the limit was trained, the rejected draws are pruned in Optuna and absent from the
  tables, and exactly ``num_trials`` configurations trained.
- Trials that fail (a diverging learning rate, ``resources.max_failures: 0``) count toward
  ``num_trials``, are *failed* in Optuna, and are never the best trial, nor the progress
  line's (it kept a failed trial's early values as "best" until now; fixed in
  :class:`jetstudy.study.progress.ProgressCounts`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import optuna
import pandas as pd
import pytest

from jetstudy.analysis.pareto import search_front
from jetstudy.study.launch import run_study
from jetstudy.study.progress import ProgressCounts
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage

pytestmark = pytest.mark.slow


def _story(folder: Path) -> optuna.Study:
    return optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))


def test_optuna_front_is_the_reports_front(ray_cluster, tmp_path: Path) -> None:
    from tests.conftest import make_small_config

    cfg = make_small_config(tmp_path, "front", data={"synthetic_jets": 2000},
                            space={"depth": [1, 3], "width": [4, 64]},
                            search={"num_trials": 10, "max_concurrent": 2, "seed": 3,
                                    "metric": "val_acc", "objectives": ["val_acc", "n_params"],
                                    "max_params": 2000},
                            scheduler={"max_epochs": 3, "grace_period": 1,
                                       "reduction_factor": 2})
    folder = run_study(cfg).folder
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == cfg.search.num_trials
    assert (trials["n_params"] <= 2000).all()
    study = _story(folder)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    trained = [t for t in study.trials if "rejected" not in t.user_attrs]
    assert sorted(t.user_attrs["trial_id"] for t in trained) == sorted(trials["trial_id"])
    for t in study.trials:
        if "rejected" in t.user_attrs:
            assert t.state.name == "PRUNED" and t.user_attrs["size_excess"] > 0
    optuna_front = sorted((t.user_attrs["trial_id"], t.values[0], t.values[1])
                          for t in study.best_trials)
    report = search_front(trials, "val_acc", True, "n_params")
    report_front = sorted((r.trial_id, r.score, r.cost) for r in
                          report[report["on_front"]].itertuples())
    assert [f[0] for f in optuna_front] == [f[0] for f in report_front]
    for (_, v1, c1), (_, v2, c2) in zip(optuna_front, report_front):
        assert v1 == pytest.approx(v2) and c1 == c2
    # nothing stopped early is on either front
    stopped = set(trials.loc[trials["status"] != "completed", "trial_id"])
    assert not stopped & {f[0] for f in optuna_front}


def test_failed_trials_count_and_never_win(ray_cluster, tmp_path: Path) -> None:
    from tests.conftest import make_small_config

    # random sampler, seed 8 (as tests/study/test_faults.py): 3 of 6 learning rates diverge
    cfg = make_small_config(tmp_path, "fail", space={
        "depth": [3, 3], "width": [128, 128], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
        "activations": ["relu"], "batch_norm": [False], "lr": [0.01, 10]},
        search={"num_trials": 6, "sampler": "random", "seed": 8, "metric": "val_acc"},
        scheduler={"max_epochs": 2, "grace_period": 1, "reduction_factor": 2},
        training={"optimizer": "sgd"}, resources={"max_failures": 0})
    lines: list[str] = []
    outcome = run_study(cfg, progress=lines.append)
    trials = outcome.trials
    assert len(trials) == 6
    failed = trials[trials["status"] == "failed"]
    assert len(failed) >= 1 and (failed["stop_reason"] == "failed").all()
    study = _story(outcome.folder)
    states = {t.user_attrs["trial_id"]: t.state.name for t in study.trials}
    assert len(states) == 6
    diverged = {t.user_attrs["trial_id"] for t in study.trials if "diverged" in t.user_attrs}
    assert diverged == set(failed["trial_id"])  # each a NaN loss: pruned, TPE learns from it
    for row in trials.itertuples():
        assert states[row.trial_id] == {"failed": "PRUNED", "completed": "COMPLETE",
                                        "stopped": "PRUNED"}[row.status]
    test = json.loads((outcome.folder / "best" / "test_metrics.json").read_text())
    assert test["trial_id"] not in set(failed["trial_id"])
    ok = trials[trials["status"] != "failed"]
    assert test["trial_id"] == ok.sort_values("best_val_acc", ascending=False)["trial_id"].iloc[0]
    # the progress line's last word: the same best value, never a failed trial
    best = re.search(r"best val_acc ([0-9.]+) \((\w+)\)", lines[-1])
    assert best and best.group(2) not in set(failed["trial_id"])
    assert float(best.group(1)) == pytest.approx(ok["best_val_acc"].max(), abs=1e-4)


def test_progress_forgets_a_failed_leader() -> None:
    counts = ProgressCounts(total=3, metric="val_loss", mode="min")
    for value, trial in [(0.5, "a"), (0.3, "b"), (0.4, "c"), (0.2, "b")]:
        counts.offer(value, trial)
    assert (counts.best, counts.best_trial) == (0.2, "b")
    counts.withdraw("b")  # b failed: the tables never call it best
    assert (counts.best, counts.best_trial) == (0.4, "c")
    counts.withdraw("a")
    assert (counts.best, counts.best_trial) == (0.4, "c")
