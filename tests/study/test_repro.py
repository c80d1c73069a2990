"""A rerun of the same CPU study gives the same tables (issue 11, item 2); and Optuna, Ray Tune
and TensorBoard tell the story jetstudy's tables tell (item 5), read from the same study: the
Optuna journal (what optuna-dashboard shows), Tune's experiment (``ResultGrid``),
``progress.csv`` and the TensorBoard event files.

Each trial's seed comes from ``search.seed`` and its Optuna number (``jetstudy.trainables.trialfiles
.number_seed``), never from Ray's random trial id. With ``search.max_concurrent: 1`` the order
in which ASHA sees results is fixed too, so the same configurations train the same curves and
ASHA stops the same trials. (With several trials at a time ASHA's decisions depend on which
trial reaches a rung first, which the operating system decides.)
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import optuna
import pandas as pd
import pytest

from jetstudy.study.launch import run_study
from jetstudy.study.optuna_story import describe_trial, trial_name, with_best_value
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.trialfiles import CONFIG_FILE, SEED_KEY, number_seed

pytestmark = pytest.mark.slow

#: Columns that differ between reruns by nature: Ray's trial ids and the clock.
TIMING = ("trial_id", "time_s", "wall_time_s")


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


@pytest.fixture(scope="module")
def reruns(ray_cluster, small_config, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, Path]:
    results = tmp_path_factory.mktemp("repro")
    return _run(small_config, results, "run1"), _run(small_config, results, "run2")


def test_rerun_gives_identical_tables(reruns: tuple[Path, Path]) -> None:
    first, second = _by_seed(reruns[0]), _by_seed(reruns[1])
    trials, epochs = first
    assert len(trials) == 3 and trials["trial_seed"].notna().all()
    # the seeds are search.seed's, trial by trial (Optuna numbers 0, 1, 2)
    assert sorted(trials["trial_seed"]) == sorted(number_seed(5, n) for n in range(3))
    assert (trials["status"] == "stopped").any(), "ASHA stopped no trial: a weaker test"
    # every file follows the umask (here the test's), as colleagues on shared storage need
    umask = os.umask(0o022)
    os.umask(umask)
    private = [str(p.relative_to(reruns[0])) for p in reruns[0].rglob("*")
               if p.is_file() and stat.S_IMODE(p.stat().st_mode) & ~umask != 0o666 & ~umask]
    assert private == [], private
    closed = [str(p.relative_to(reruns[0])) for p in [reruns[0], *reruns[0].rglob("*")]
              if p.is_dir() and stat.S_IMODE(p.stat().st_mode) & ~umask != 0o777 & ~umask]
    assert closed == [], closed  # folders too (a mkdtemp staging folder is 0700)
    provenance = json.loads((reruns[0] / "provenance.json").read_text())
    assert provenance["versions"]["ray"] and provenance["ended"] >= provenance["started"]
    pd.testing.assert_frame_equal(trials, second[0])
    pd.testing.assert_frame_equal(epochs, second[1])


@pytest.fixture(scope="module")
def study(reruns) -> tuple[Path, pd.DataFrame, optuna.Study]:
    folder = reruns[0]
    trials = pd.read_parquet(folder / "trials.parquet")
    ot = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    return folder, trials, ot


def test_optuna_tells_the_tables_story(study) -> None:
    folder, trials, ot = study
    assert ot.metric_names == ["val_loss"]  # optuna-dashboard names the objective
    by_id = {t.user_attrs["trial_id"]: t for t in ot.trials}
    assert set(by_id) == set(trials["trial_id"])
    for _, row in trials.iterrows():
        frozen = by_id[row["trial_id"]]
        assert frozen.user_attrs["n_params"] == row["n_params"]
        assert frozen.user_attrs["flops"] == row["flops"]
        # every epoch an intermediate value, the last included
        assert sorted(frozen.intermediate_values) == list(range(1, row["epochs"] + 1))
        if row["status"] == "completed":  # the value the table ranks by: the best epoch's
            assert frozen.state == optuna.trial.TrialState.COMPLETE
            assert math.isclose(frozen.value, row["best_val_loss"], rel_tol=1e-12)
        else:
            assert frozen.state == optuna.trial.TrialState.PRUNED


def test_tune_knows_metric_and_mode(study) -> None:
    from ray import tune

    from jetstudy.trainables.trial import run_trial

    folder, trials, _ = study
    grid = tune.Tuner.restore(str(folder / "ray"), run_trial).get_results()
    best = grid.get_best_result()  # raises without a metric and mode
    assert best.metrics["trial_id"] in set(trials["trial_id"])
    # Tune's per-trial folders are named after the network and lead to trials/<id>/
    names = [Path(r.path).name for r in grid]
    assert all("_d" in n and "_w" in n for n in names), names


def test_progress_csv_and_tensorboard_carry_size(study) -> None:
    folder, trials, _ = study
    for _, row in trials.iterrows():
        (run,) = [p for p in (folder / "ray").iterdir() if p.name.startswith(row["trial_id"])]
        progress = pd.read_csv(run / "progress.csv")
        assert {"n_params", "flops", "train_loss_running"} <= set(progress.columns)
        assert (progress["n_params"] == row["n_params"]).all()
        events = _scalar_tags(run)
        assert {"ray/tune/n_params", "ray/tune/flops",
                "ray/tune/train_loss_running"} <= events, sorted(events)


def _scalar_tags(run: Path) -> set[str]:
    """The scalar tags of a run's TensorBoard event files (read with tensorboardX's own
    protobufs, so no TensorFlow is needed)."""
    import struct

    from tensorboardX.proto import event_pb2

    tags = set()
    for path in run.glob("events.out.tfevents.*"):
        data = path.read_bytes()
        pos = 0
        while pos + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            record = data[pos + 12:pos + 12 + length]
            pos += 12 + length + 4
            event = event_pb2.Event.FromString(record)
            tags.update(v.tag for v in event.summary.value)
    return tags


class _FakeTrial:  # what describe_trial needs of an Optuna trial: user_attrs, set_user_attr
    def __init__(self) -> None:
        self.user_attrs: dict = {}

    def set_user_attr(self, key: str, value: object) -> None:
        self.user_attrs[key] = value


def test_describe_and_best_value() -> None:
    trial = _FakeTrial()
    records = [{"epoch": 1, "val_loss": 0.9, "n_params": 100, "flops": 180},
               {"epoch": 2, "val_loss": 0.7, "n_params": 100, "flops": 180},
               {"epoch": 3, "val_loss": 0.8, "n_params": 100, "flops": 180}]
    describe_trial(trial, "abc_00001", records)
    assert trial.user_attrs == {"trial_id": "abc_00001", "n_params": 100, "flops": 180}
    told = with_best_value({"epoch": 3, "val_loss": 0.8}, records, "val_loss", "min")
    assert told["val_loss"] == 0.7 and told["epoch"] == 3
    assert with_best_value({"epoch": 2, "val_acc": 0.5}, [{"epoch": 1, "val_acc": 0.6},
                                                         {"epoch": 3, "val_acc": 0.9}],
                           "val_acc", "max")["val_acc"] == 0.6  # epochs after it don't count
    assert trial_name(type("T", (), {"trial_id": "t1", "config": {"depth": 2, "width_0": 64,
                                                                  "width_1": 32}})()) \
        == "t1_d2_w64-32"
