"""Round 9: the report's "Kind" sentence said the configured ``search.num_trials`` ('40
trials') when ``search.time_budget_s`` (or an interruption) ended the search after fewer: it
now says how many ran, of how many configured, and what ended it. Hand-made config and trials
table; no Ray."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pandas as pd

from jetstudy.analysis.sections_search import kind_lines
from tests.analysis.conftest import CONFIG


def _line(tmp_path, statuses, **search) -> str:
    config = copy.deepcopy(CONFIG)
    config["search"].update(search)
    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(len(statuses))],
                           "status": statuses})
    (line,) = kind_lines(SimpleNamespace(config=config, folder=tmp_path, trials=trials))
    return line


def test_a_time_budget_ending_the_search_says_how_many_ran(tmp_path) -> None:
    line = _line(tmp_path, ["completed", "stopped", "completed"], sampler="random",
                 num_trials=8, max_concurrent=2, time_budget_s=60)
    assert line.startswith("Kind: search, Optuna random sampling, 3 of 8 trials ran "
                           "(search.time_budget_s, 60 s, ended the search), 2 at a time, "), line
    assert "8 trials," not in line


def test_an_interrupted_search_says_so(tmp_path) -> None:
    line = _line(tmp_path, ["completed", "interrupted"], sampler="random", num_trials=8,
                 max_concurrent=2)
    assert "2 of 8 trials ran (the run was interrupted; --resume continues it), " in line, line


def test_a_short_scan_says_how_many_configurations_ran(tmp_path) -> None:
    line = _line(tmp_path, ["completed"] * 5, sampler="sobol", num_trials=16, time_budget_s=30)
    assert " of 16 configurations, 5 ran (search.time_budget_s, 30 s, ended the scan), " in line, line


def test_a_whole_search_keeps_its_count(tmp_path) -> None:
    line = _line(tmp_path, ["completed"] * 4, sampler="random", num_trials=4, max_concurrent=2,
                 time_budget_s=60)
    assert line.startswith("Kind: search, Optuna random sampling, 4 trials, 2 at a time, "), line
    assert " ran " not in line
