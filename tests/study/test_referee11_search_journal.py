"""Round 11: after ``kill -9`` of the driver, ``optuna.journal`` keeps the trials it was running
as *running* (optuna-dashboard shows them running, however long ago the driver died), and the
report said only that the driver stopped. The report's Kind sentence now says how many the
journal still calls running and that ``--resume`` continues or closes them; reading the report
leaves the journal as it was (a resume continues only trials still running there). Real
Optuna journal, hand-made tables; no Ray."""

from __future__ import annotations

import hashlib
from pathlib import Path

import optuna

from jetstudy.study.optuna_files import OPTUNA_JOURNAL, OPTUNA_STUDY_NAME, optuna_storage
from tests.study.test_referee10_search_repeats import _killed_study, _line, _table


def _journal(folder: Path, running: int, done: int = 1) -> None:
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    for k in range(done):
        trial = study.ask()
        trial.suggest_int("depth", 1, 3)
        study.tell(trial, 0.5 + k)
    for _ in range(running):
        study.ask().suggest_int("depth", 1, 3)


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / OPTUNA_JOURNAL).read_bytes()).hexdigest()


def test_a_killed_drivers_running_trials_are_said(tmp_path: Path) -> None:
    _killed_study(tmp_path)
    _journal(tmp_path, running=2)
    before = _digest(tmp_path)
    table = _table(["4", "8-5", "6"], lr=[1e-3, 2e-3, 3e-3]).assign(
        status=["completed", "running", "running"])
    line = _line(tmp_path, table, sampler="tpe", num_trials=12, max_concurrent=2)
    assert line.endswith(" optuna.journal still calls 2 trials running (so does "
                         "optuna-dashboard): the driver died before it closed them; --resume "
                         "continues them or closes them from the trial logs, and until then "
                         "the journal stays as the driver left it."), line
    assert _digest(tmp_path) == before  # read, never written
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    assert [t.state.name for t in study.trials] == ["COMPLETE", "RUNNING", "RUNNING"]
    scan = _line(tmp_path, table, sampler="sobol", num_trials=12)
    assert "optuna.journal still calls 2 trials running" in scan, scan


def test_nothing_is_said_of_a_live_or_closed_study(tmp_path: Path) -> None:
    # no driver known gone (no study mark, no lock): a live study's trials are running
    _journal(tmp_path, running=1)
    table = _table(["4", "6"]).assign(status=["completed", "running"])
    line = _line(tmp_path, table, sampler="tpe", num_trials=12, max_concurrent=2)
    assert "optuna.journal" not in line.split("proposed from TPE's model")[0], line
    assert "still calls" not in line, line
    closed = tmp_path / "closed"
    closed.mkdir()
    _killed_study(closed)
    _journal(closed, running=0, done=2)
    line = _line(closed, table, sampler="tpe", num_trials=12, max_concurrent=2)
    assert "still calls" not in line, line
