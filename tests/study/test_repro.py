"""A rerun of the same CPU study gives the same tables (issue 11, item 2).

Each trial's seed comes from ``search.seed`` and its Optuna number (``trainables.trialfiles
.number_seed``), never from Ray's random trial id. With ``search.max_concurrent: 1`` the order
in which ASHA sees results is fixed too, so the same configurations train the same curves and
ASHA stops the same trials. (With several trials at a time ASHA's decisions depend on which
trial reaches a rung first, which the operating system decides.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from study.launch import run_study
from trainables.trialfiles import CONFIG_FILE, SEED_KEY, number_seed

pytestmark = pytest.mark.slow

#: Columns that differ between reruns by nature: Ray's trial ids and the clock.
TIMING = ("trial_id", "time_s", "wall_time_s")


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _run(small_config, results: Path, name: str) -> Path:
    cfg = small_config(results, name, data={"synthetic_jets": 4000},
                       search={"num_trials": 3, "max_concurrent": 1, "seed": 5},
                       scheduler={"max_epochs": 3, "grace_period": 1, "reduction_factor": 2})
    return run_study(cfg).folder


def _by_seed(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and epochs tables keyed by each trial's seed instead of its random id."""
    seeds = {p.parent.name: json.loads(p.read_text())[SEED_KEY]
             for p in (folder / "trials").glob(f"*/{CONFIG_FILE}")}
    trials = pd.read_parquet(folder / "trials.parquet")
    epochs = pd.read_parquet(folder / "epochs.parquet")
    for frame in (trials, epochs):
        frame.insert(0, "trial_seed", frame["trial_id"].map(seeds))
    trials = trials.drop(columns=[c for c in TIMING if c in trials])
    epochs = epochs.drop(columns=[c for c in TIMING if c in epochs])
    return (trials.sort_values("trial_seed").reset_index(drop=True),
            epochs.sort_values(["trial_seed", "epoch"]).reset_index(drop=True))


def test_rerun_gives_identical_tables(ray_cluster, small_config, tmp_path: Path) -> None:
    first = _by_seed(_run(small_config, tmp_path, "run1"))
    second = _by_seed(_run(small_config, tmp_path, "run2"))
    trials, epochs = first
    assert len(trials) == 3 and trials["trial_seed"].notna().all()
    # the seeds are search.seed's, trial by trial (Optuna numbers 0, 1, 2)
    assert sorted(trials["trial_seed"]) == sorted(number_seed(5, n) for n in range(3))
    assert (trials["status"] == "stopped").any(), "ASHA stopped no trial: a weaker test"
    provenance = json.loads((tmp_path / "run1" / "provenance.json").read_text())
    assert provenance["versions"]["ray"] and provenance["ended"] >= provenance["started"]
    pd.testing.assert_frame_equal(trials, second[0])
    pd.testing.assert_frame_equal(epochs, second[1])
