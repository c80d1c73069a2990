"""Referee: a resumed study whose ``search.num_trials`` grew finishes exactly ``num_trials``
trials, no Optuna trial twice, the seeds those of a straight run (task H).

Found and fixed here: a Sobol scan resumed with a larger ``num_trials`` trained its new trials
on configurations from Optuna's fallback random sampler (``l2 0.00012997845551206255``, not a
design point): only the first run's design points were enqueued. ``--resume`` now enqueues the
rest of the (prefix-stable) design (:class:`jetstudy.study.resume.ResumedSearch`).

What does not hold, by nature: a TPE search extended on resume proposes other configurations
than a straight run of the larger size would (TPE's start-up count follows ``num_trials``, and
a restored sampler is reseeded so a crashed driver's proposals are not repeated); the seeds of
trial number k are the same (``search.seed`` and k).
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pytest

from jetstudy.study.design import sobol_design
from jetstudy.study.launch import run_study
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.trialfiles import CONFIG_FILE, SEED_KEY, number_seed

pytestmark = pytest.mark.slow

SCAN_SPACE = {"depth": [1, 2], "width": [4, 16], "l1": [0, 0], "l2": [0, 1e-3],
              "dropout": [0, 0], "lr": [3e-3, 3e-3], "activations": ["relu"],
              "batch_norm": [False]}


def _config(results: Path, kind: str, n: int):
    from tests.conftest import make_small_config

    if kind == "scan":
        extra = {"space": SCAN_SPACE, "scheduler": {"type": "fifo", "max_epochs": 2}}
        search = {"sampler": "sobol"}
    else:
        extra = {"scheduler": {"max_epochs": 2, "grace_period": 1, "reduction_factor": 2}}
        search = {}
    return make_small_config(results, f"grow_{kind}", data={"synthetic_jets": 2000},
                             search={"num_trials": n, "max_concurrent": 1, "seed": 5, **search},
                             **extra)


def _grown(results: Path, kind: str) -> tuple:
    first = run_study(_config(results, kind, 3))
    before = pd.read_parquet(first.folder / "trials.parquet")
    cfg = _config(results, kind, 5)
    after = run_study(cfg, resume=True)
    return cfg, before, pd.read_parquet(after.folder / "trials.parquet"), after.folder


def _story(folder: Path) -> list:
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    return study.trials


@pytest.mark.parametrize("kind", ["scan", "search"])
def test_grown_study_runs_exactly_num_trials(ray_cluster, tmp_path: Path, kind: str) -> None:
    cfg, before, after, folder = _grown(tmp_path, kind)
    assert len(before) == 3 and len(after) == 5
    # the first run's trials are listed as they were: same ids, same statuses
    kept = after.set_index("trial_id").loc[before["trial_id"], "status"]
    assert list(kept) == list(before["status"])
    story = _story(folder)
    assert len(story) == 5  # no Optuna trial twice, none lost
    ids = [t.user_attrs.get("trial_id") for t in story]
    assert sorted(ids) == sorted(after["trial_id"])
    states = {"completed": "COMPLETE", "stopped": "PRUNED"}
    by_id = after.set_index("trial_id")["status"]
    assert all(t.state.name == states[by_id[t.user_attrs["trial_id"]]] for t in story)
    seeds = {p.parent.name: json.loads(p.read_text())[SEED_KEY]
             for p in (folder / "trials").glob(f"*/{CONFIG_FILE}")}
    assert sorted(seeds[i] for i in ids) == sorted(number_seed(5, k) for k in range(5))
    if kind == "scan":  # the grown scan trained exactly the first 5 design points, in order
        design = sobol_design(cfg.space, 5, cfg.search.seed)
        assert [t.params for t in sorted(story, key=lambda t: t.number)] == design


def test_concurrent_rerun_repeats_start_up_and_seeds(ray_cluster, tmp_path: Path) -> None:
    """The same config twice with 2 trials at a time: TPE's start-up configurations, in Optuna
    number order, and every trial number's seed are the same (README "Reproducible reruns")."""
    from jetstudy.study.search_rules import tpe_startup_trials
    from tests.conftest import make_small_config

    runs = []
    for name in ("one", "two"):
        cfg = make_small_config(tmp_path, name, data={"synthetic_jets": 2000},
                                search={"num_trials": 6, "max_concurrent": 2, "seed": 9},
                                scheduler={"max_epochs": 2, "grace_period": 1,
                                           "reduction_factor": 2})
        folder = run_study(cfg).folder
        story = sorted(_story(folder), key=lambda t: t.number)
        seeds = [json.loads((folder / "trials" / t.user_attrs["trial_id"] / CONFIG_FILE)
                            .read_text())[SEED_KEY] for t in story]
        runs.append(([t.params for t in story], seeds))
    startup = tpe_startup_trials(6, 2)
    assert startup >= 2
    assert runs[0][0][:startup] == runs[1][0][:startup]
    assert runs[0][1] == runs[1][1] == [number_seed(9, k) for k in range(6)]
