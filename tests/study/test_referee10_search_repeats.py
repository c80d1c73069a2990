"""Round 10: a search over a space of few configurations trains some of them again. Optuna's
TPE and random samplers draw with replacement: in a space of 30 configurations (depth 1-2,
widths 4-8, every float knob fixed) a 20-trial TPE search trained only 12 distinct ones, and a
12-trial ASHA study of that space (jetstudy run, seed 5) trained the one-layer width-4 net three
times; the config check warns only when the space holds fewer configurations than
``search.num_trials``, and the report's "Kind" sentence said "12 trials" as if each were a new
point. It now says how many trials repeat an earlier trial's configuration. The searcher driven
as Tune would (real Optuna), then hand-made tables; no Ray."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import yaml

from jetstudy.analysis.sections_search import kind_lines
from jetstudy.study.config import from_dict
from jetstudy.study.searcher import make_searcher
from tests.analysis.conftest import CONFIG
from tests.study.search_driver import drive

SMALL = {"depth": [1, 2], "width": [4, 8], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
         "lr": [1e-3, 1e-3]}


def _line(tmp_path: Path, trials: pd.DataFrame, **search) -> str:
    config = copy.deepcopy(CONFIG)
    config["search"].update(search)
    (line,) = kind_lines(SimpleNamespace(config=config, folder=tmp_path, trials=trials))
    return line


def _table(widths: list[str], lr: float | list[float] = 1e-3) -> pd.DataFrame:
    n = len(widths)
    return pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "status": ["completed"] * n,
                         "depth": [w.count("-") + 1 for w in widths], "widths": widths,
                         "dropout": 0.0, "l1": 0.0, "l2": 0.0,
                         "lr": lr if isinstance(lr, list) else [lr] * n})


def test_tpe_draws_a_small_space_with_replacement(tmp_path: Path) -> None:
    """Why the report must say it: the study's own TPE searcher repeats configurations in a
    space larger than num_trials (no config warning for it)."""
    (tmp_path / "trials").mkdir()
    cfg = from_dict({"space": SMALL, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 20, "max_concurrent": 1, "seed": 3}})
    trials = drive(make_searcher(cfg, tmp_path).searcher, 1,
                   lambda c: {"val_loss": abs(c["width_0"] - 6) + c["depth"]})
    drawn = [str(sorted(t.params.items())) for t in trials]
    assert len(drawn) == 20 and len(set(drawn)) < 20


def test_repeated_configurations_are_counted(tmp_path: Path) -> None:
    table = _table(["4", "8-5", "4", "6", "4", "6", "7-8"])
    line = _line(tmp_path, table, sampler="tpe", num_trials=7, max_concurrent=2)
    assert (" 3 of the 7 trials repeat an earlier trial's configuration (4 distinct; only the "
            "seed differs") in line, line
    one = _line(tmp_path, _table(["4", "8-5", "4"]), sampler="random", num_trials=3,
                max_concurrent=1)
    assert " 1 of the 3 trials repeats an earlier trial's configuration (2 distinct;" in one, one


def test_distinct_configurations_say_nothing(tmp_path: Path) -> None:
    # the same widths with another learning rate, and one trial listed twice (a resumed
    # trial's two rows), are no repeats
    table = _table(["4", "4", "8-5"], lr=[1e-3, 2e-3, 1e-3])
    table = pd.concat([table, table.iloc[[2]]], ignore_index=True)
    line = _line(tmp_path, table, sampler="tpe", num_trials=3, max_concurrent=1)
    assert "repeat" not in line, line


def test_a_lowered_num_trials_says_how_many_ran(tmp_path: Path) -> None:
    """A --resume may lower search.num_trials below the trials already started; they are kept
    and listed (study/resume.py warns), but the Kind sentence said '4 trials' beside a table
    of 6, and a Sobol scan 'of 4 configurations' beside 6 trained."""
    table = _table(["4", "5", "6", "7", "8", "8-5"], lr=[1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3])
    (tmp_path / "provenance.json").write_text(json.dumps(
        {"sampler": {"class": "TPESampler", "n_startup_trials": 2, "optuna": "5.0.0"}}))
    line = _line(tmp_path, table, sampler="tpe", num_trials=4, max_concurrent=1)
    assert line.startswith("Kind: search, Optuna TPE, 6 trials (search.num_trials is 4, lowered "
                           "by a --resume after 6 had started), 1 at a time, "), line
    assert " of the 6 trials were proposed from TPE's model" in line, line
    scan = _line(tmp_path, table, sampler="sobol", num_trials=4)
    assert (" a scrambled Sobol design of 6 configurations (search.num_trials is 4, lowered by "
            "a --resume after 6 had started), ") in scan, scan


def _killed_study(folder: Path) -> None:
    """A study folder whose driver is gone: its config and mark, no driver.lock (a driver
    holds that from before its first snapshot until after its final tables)."""
    from jetstudy.study.paths import STUDY_MARK

    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (folder / STUDY_MARK).write_text("")
    (folder / "provenance.json").write_text(json.dumps(
        {"sampler": {"class": "TPESampler", "n_startup_trials": 6, "optuna": "5.0.0"}}))


def test_a_killed_drivers_snapshot_is_not_still_running(tmp_path: Path) -> None:
    """After kill -9 of jetstudy run (a real one: 12-trial TPE search, 2 at a time), the
    report's state line said the driver stopped, while the Kind sentence said '1 of 12 trials
    ran (so far: trials are still running)' and, over 12 trials, '0 of the 12 trials were
    proposed from TPE's model (under a quarter: nearly a random search ...)': a verdict on a
    search cut after its first trial."""
    _killed_study(tmp_path)
    table = _table(["4", "8-5"], lr=[1e-3, 2e-3]).assign(status=["completed", "running"])
    line = _line(tmp_path, table, sampler="tpe", num_trials=12, max_concurrent=2)
    assert ("2 of 12 trials ran (its driver stopped before its final tables, by a crash or a "
            "kill; --resume continues it), ") in line, line
    assert "still running" not in line and "nearly a random search" not in line, line


def test_a_search_cut_short_counts_guidance_over_the_trials_that_ran(tmp_path: Path) -> None:
    """An interrupted search: no verdict on the trials so far; one a time budget ended: the
    count is of the trials that ran, not of search.num_trials."""
    _killed_study(tmp_path)
    table = _table(["4", "8-5", "6"], lr=[1e-3, 2e-3, 3e-3])
    cut = _line(tmp_path, table.assign(status=["completed", "completed", "interrupted"]),
                sampler="tpe", num_trials=12, max_concurrent=2)
    assert "nearly a random search" not in cut and " of the 12 trials" not in cut, cut
    ended = _line(tmp_path, table, sampler="tpe", num_trials=12, max_concurrent=2,
                  time_budget_s=60)
    assert "3 of 12 trials ran (search.time_budget_s, 60 s, ended the search)" in ended, ended
    # 12 trials 2 at a time: 6 start-up trials, the first guided one the 8th: none of 3
    assert " 0 of the 3 trials were proposed from TPE's model (under a quarter" in ended, ended
    assert " of the 12 trials" not in ended, ended


def test_the_kind_line_says_what_asha_and_the_budget_stopped(tmp_path: Path) -> None:
    """The line said 'ASHA stopping the weaker trials early' (the setting) and nothing of
    what it did; the status table counts 'stopped' without cause or rung."""
    table = _table(["4", "5", "6", "7", "8", "8-5"], lr=[1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3])
    table = table.assign(status=["completed", "stopped", "stopped", "stopped", "stopped",
                                 "completed"],
                         stop_reason=["max_epochs", "scheduler", "scheduler", "time_budget",
                                      "scheduler", "max_epochs"],
                         epochs=[8, 2, 1, 5, 2, 8])
    line = _line(tmp_path, table, sampler="random", num_trials=6, max_concurrent=2,
                 time_budget_s=600)
    assert (" ASHA stopped 3 of the 6 trials at its rungs (1 after epoch 1, 2 after epoch 2). "
            "search.time_budget_s cut 1 trial short (stop_reason time_budget).") in line, line
    quiet = _line(tmp_path, table.assign(stop_reason="max_epochs"), sampler="random",
                  num_trials=6, max_concurrent=2)
    assert "ASHA stopped" not in quiet and "cut" not in quiet, quiet


def test_the_config_check_warns_of_likely_repeats(tmp_path: Path) -> None:
    """The check warned only below num_trials configurations; 30 for 20 trials was quiet
    while about 8 repeat. Its expectation is what Optuna's random draws give (10 seeds)."""
    from jetstudy.study.search_rules import expected_repeats

    search = {"num_trials": 20, "max_concurrent": 1, "sampler": "random"}
    cfg = from_dict({"space": SMALL, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": search})
    (text,) = [w for w in cfg.warnings if "repeat" in w]
    assert ("holds few configurations for search.num_trials 20: drawn at random with "
            "replacement (depth first, then log-uniform widths), about 8 of the 20 trials "
            "would repeat an earlier trial's configuration") in text, text
    assert "widen space.depth or space.width, or give space.lr a range" in text, text
    drawn = []
    for seed in range(10):
        folder = tmp_path / str(seed)
        (folder / "trials").mkdir(parents=True)
        seeded = from_dict({"space": SMALL, "scheduler": {"max_epochs": 2, "grace_period": 1},
                            "search": {**search, "seed": seed}})
        trials = drive(make_searcher(seeded, folder).searcher, 1, lambda c: {"val_loss": 1.0})
        drawn.append(20 - len({str(sorted(t.params.items())) for t in trials}))
    assert abs(sum(drawn) / len(drawn) - expected_repeats(cfg)) < 1.5, drawn
    # a wider space is quiet: every width of 4-64 at depth 1-3 is too many to repeat often
    wide = from_dict({"space": {**SMALL, "depth": [1, 3], "width": [4, 64]},
                      "search": search})
    assert not [w for w in wide.warnings if "repeat" in w]
