"""The study's set-up overlaps its parts (issue 10): the jets are split while Ray starts, and
the Bayes reference (``reference.json``) is computed beside the trials. What must not change:
the numbers written, and the errors (bad data said first, once; a Ray failure said once; no
half-made study, no Ray left running). A cluster that does not answer is said before any data
is read (round 12: probed before the study folder is claimed).

Real Ray, real Optuna, real files; the only Ray started here is the tiny study's and the one
a bad split meets (a refused ``resources.address`` starts none).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jetstudy.study.background import Background
from jetstudy.study.launch import run_study
from jetstudy.study.prepare import load_data, prepare_data, split_data
from jetstudy.study.reference import REFERENCE_FILE, DeferredReference, reference_numbers
from jetstudy.trainables.errors import ConfigError, DataError


def test_background_gives_the_value_and_raises_its_error_once_in_the_caller() -> None:
    assert Background("value", lambda: [1, 2]).result() == [1, 2]
    seen: list[str] = []

    def fail() -> None:
        seen.append(threading.current_thread().name)
        raise DataError("data.path 'x': broken; fix it")

    job = Background("fails", fail)
    with pytest.raises(DataError, match="broken; fix it"):
        job.result()
    assert seen == ["jetstudy-fails"]  # it ran in its own thread
    assert job.result() is None  # said once
    quiet = Background("quiet", fail)
    assert isinstance(quiet.settle(), DataError) and quiet.settle() is None


def _cfg(tmp_path: Path, name: str, **sections):
    from tests.conftest import make_small_config

    return make_small_config(tmp_path, name, **sections)


def test_split_then_deferred_reference_writes_the_numbers_prepare_writes(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "a", data={"synthetic_jets": 3000, "synthetic_seed": 5})
    in_line = prepare_data(cfg, tmp_path / "in_line")
    folder = tmp_path / "deferred"
    prepared = split_data(cfg, folder, load_data(cfg, folder), reference=False)
    assert not (folder / REFERENCE_FILE).exists()  # left to the caller
    same = ("n_jets", "class_counts", "synthetic")  # "sources": each folder's own files
    assert all(prepared.splits.summary[k] == in_line.splits.summary[k] for k in same)
    assert prepared.bayes
    deferred = DeferredReference(prepared.splits, prepared.bayes, folder)
    deferred.finish()
    written = json.loads((folder / REFERENCE_FILE).read_text())
    assert written == json.loads((tmp_path / "in_line" / REFERENCE_FILE).read_text())
    assert written["bayes_val_loss"] > 0  # the Bayes numbers, not the real-data nulls
    deferred.abandon()  # after finish: nothing more, nothing removed
    assert (folder / REFERENCE_FILE).is_file()


def test_a_failing_deferred_reference_raises_its_error_once_and_writes_nothing(
        tmp_path: Path) -> None:
    import dataclasses

    cfg = _cfg(tmp_path, "b", data={"synthetic_jets": 2000})
    prepared = prepare_data(cfg, tmp_path / "ok")
    broken = dataclasses.replace(prepared.splits, y_train=np.array([-1, 0]))  # bincount fails
    with pytest.raises(ValueError) as direct:
        reference_numbers(broken, True)
    deferred = DeferredReference(broken, True, tmp_path / "broken")
    with pytest.raises(ValueError) as late:
        deferred.finish()
    assert str(late.value) == str(direct.value)  # the in-line computation's error
    deferred.finish()  # said once
    assert not (tmp_path / "broken" / REFERENCE_FILE).exists()


def _five_jets(tmp_path: Path, real_jets: pd.DataFrame) -> Path:
    """One real jet of each class (Format B): they load, but split 5 ways they leave a
    validation split of round(5 * 0.05) = 0 jets, an error only the split finds."""
    rows = real_jets.groupby("label_str").head(1).rename(columns={"label_str": "class"})
    assert sorted(rows["class"]) == ["g", "q", "t", "w", "z"]
    path = tmp_path / "five.csv"
    rows.to_csv(path, index=False)
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connection refused


@pytest.mark.slow
def test_a_bad_split_met_while_ray_starts_is_said_once_and_ray_is_stopped(
        tmp_path: Path, real_jets: pd.DataFrame) -> None:
    import ray

    cfg = _cfg(tmp_path, "badsplit", data={"path": str(_five_jets(tmp_path, real_jets)),
                                            "val_fraction": 0.05, "test_fraction": 0.2})
    assert not ray.is_initialized()
    with pytest.raises(DataError, match="empty val split") as caught:
        run_study(cfg)
    assert caught.value.__context__ is None  # one error, not one chained to another
    assert not ray.is_initialized()  # the Ray it started is shut down
    assert not (tmp_path / "badsplit").exists()  # no half-made study


def test_a_cluster_that_does_not_answer_is_said_before_the_data_is_read(
        tmp_path: Path, real_jets: pd.DataFrame) -> None:
    """Round 12: the cluster is probed before the study folder is claimed or any jet read, so
    a dead cluster is said first (before, bad data was: the jets were read, and a named study's
    folder kept them, before Ray was joined), and nothing is left."""
    cfg = _cfg(tmp_path, "both", data={"path": str(_five_jets(tmp_path, real_jets)),
                                        "val_fraction": 0.05, "test_fraction": 0.2},
               resources={"address": f"127.0.0.1:{_closed_port()}"})
    with pytest.raises(ConfigError, match="nothing answers"):
        run_study(cfg)
    assert not (tmp_path / "both").exists()


def test_a_cluster_that_does_not_answer_is_said_once_with_good_data(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "noray", data={"synthetic_jets": 2000},
               resources={"address": f"127.0.0.1:{_closed_port()}"})
    with pytest.raises(ConfigError, match="nothing answers") as caught:
        run_study(cfg)
    assert caught.value.__context__ is None
    # said before the folder was claimed: no study, no synthetic jets, nothing to clear up
    assert not (tmp_path / "noray").exists()


@pytest.mark.slow
def test_a_study_writes_the_reference_prepare_writes_in_line(tmp_path: Path) -> None:
    import ray

    cfg = _cfg(tmp_path, "tiny", data={"synthetic_jets": 2000, "synthetic_seed": 7},
               search={"num_trials": 2, "max_concurrent": 2},
               scheduler={"max_epochs": 1, "grace_period": 1})
    start = time.perf_counter()
    outcome = run_study(cfg)
    wall = time.perf_counter() - start
    assert not ray.is_initialized()
    assert len(outcome.trials) == 2 and outcome.test_metrics is not None
    # where the set-up went (bench.throughput's setup_parts): each step once, in order
    steps = ["load_s", "ray_start_s", "split_wait_s", "tuner_s"]  # unpacked: no packs_s
    assert list(outcome.setup) == [*steps, "reference_s"]
    assert all(outcome.setup[k] >= 0 for k in outcome.setup)
    assert sum(outcome.setup[k] for k in steps) < wall
    in_line = tmp_path / "in_line"
    prepare_data(cfg, in_line)
    for name in (REFERENCE_FILE, "scaler.json"):  # the same numbers, to the last digit
        assert (json.loads((outcome.folder / name).read_text())
                == json.loads((in_line / name).read_text())), name
    summary, again = (json.loads((f / "data_summary.json").read_text())
                      for f in (outcome.folder, in_line))
    assert summary["class_counts"] == again["class_counts"]


def test_the_reference_thread_yields_the_cpu_and_the_driver_keeps_its_own() -> None:
    import os

    from jetstudy.study.reference import REFERENCE_NICENESS, _yield_the_cpu

    main = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def lowered() -> None:
        _yield_the_cpu()
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    Background("nice", lowered).result()
    assert seen["nice"] >= REFERENCE_NICENESS  # Linux: the thread's own niceness
    assert os.getpriority(os.PRIO_PROCESS, 0) == main  # the driver's main thread: unchanged
