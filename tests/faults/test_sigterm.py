"""SIGTERM (a batch system's time limit, ``timeout``, ``kill PID``) stops a study as Ctrl-C
does: exit 130, the cut trials ``interrupted`` in the tables, the ``--resume`` command printed,
no Ray process of the run left behind."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest

from tests.faults.conftest import study_yaml
from tests.faults.flows import (Driver, _kill_leftovers, epoch_lines, printed_resume_command,
                                read_record, recorded_alive, wait_for)

pytestmark = pytest.mark.slow


def test_sigterm_stops_a_study_like_ctrl_c(tmp_path) -> None:
    config = study_yaml(tmp_path / "study.yaml", "results", "term",
                        search={"num_trials": 2, "max_concurrent": 2},
                        scheduler={"type": "fifo", "max_epochs": 60},
                        training={"batch_size": 128}, resources={"num_cpus": 2})
    folder = tmp_path / "results" / "term"
    driver = Driver(["run", config.name, "--no-report"], tmp_path)
    wait_for(lambda: epoch_lines(folder) >= 2 and (folder / "ray_session.json").exists(),
             driver, "trained epochs")
    record = read_record(folder)
    os.kill(driver.proc.pid, signal.SIGTERM)
    try:
        output = driver.finish(timeout=120)
        alive = recorded_alive(record)
    finally:
        _kill_leftovers(record)
    assert driver.proc.returncode == 130, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert printed_resume_command(output)[-1] == "--resume"
    trials = pd.read_parquet(folder / "trials.parquet")
    assert (trials["status"] == "interrupted").any() and "completed" not in set(trials["status"])
    assert not alive
