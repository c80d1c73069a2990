"""Referee round 2 (task B): the parallel search's sampler does what the config check and
provenance say, initial points are the first trials and counted, and ``stop_reason`` speaks the
status column's language. Real Optuna through jetstudy's searcher; no training.

Found and fixed here:
- the "nearly random search" warning's fixes did not always fix: a 1-trial search was told to
  set ``search.max_concurrent`` to 1 when it was 1 already; the fix now names only what
  silences the warning (the largest concurrency that is enough, none when none is);
- ``search.initial_points`` beyond the start-up were not counted as unguided (10 initial points
  in a 12-trial search left 2 guided trials, without a warning);
- more ``initial_points`` than ``num_trials`` were accepted (the extra points never trained),
  and a repeated point trained the same configuration twice: both are config errors now;
- the sampler's settings were nowhere in the results folder: ``provenance.json`` has them,
  read from the sampler object Optuna uses (``sampler``, and per run in ``runs``);
- a trial cut short by Ctrl-C (status ``interrupted``) had ``stop_reason: time_budget`` (or
  ``scheduler``), also in a study without a time budget.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pytest

from jetstudy.study.collect import stop_reason
from jetstudy.study.config import from_dict, load_config
from jetstudy.study.search_rules import tpe_guided_trials, tpe_startup_trials
from jetstudy.study.searcher import make_sampler, make_searcher, sampler_record
from jetstudy.trainables.errors import ConfigError
from tests.study.search_driver import drive, guided

REPO = Path(__file__).resolve().parents[2]
SPACE = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
         "l2": [1e-6, 1e-3], "lr": [1e-3, 1e-2]}


def _search(**search) -> dict:
    return {"space": SPACE, "scheduler": {"max_epochs": 2, "grace_period": 1}, "search": search}


def _guided_in_optuna(tmp_path: Path, n: int, c: int, initial: list[dict]) -> int:
    """Run the study's own searcher with ``c`` trials at a time (the oldest finishes first) and
    count the trials TPE proposed from its model: Optuna records a relative (model) proposal in
    the trial's system attributes; an enqueued initial point is the user's, not TPE's."""
    cfg = from_dict(_search(num_trials=n, max_concurrent=c, seed=0, initial_points=initial))
    (tmp_path / "trials").mkdir(parents=True)
    searcher = make_searcher(cfg, tmp_path).searcher
    trials = drive(searcher, c, lambda config: {"val_loss": config["depth"] / config["width_0"]})
    assert len(trials) == n  # the initial points are counted in num_trials
    return sum(guided(t) and "fixed_params" not in t.system_attrs for t in trials)


@pytest.mark.parametrize(("n", "c", "k"), [
    (12, 1, 0), (12, 3, 0), (12, 6, 0), (12, 12, 0), (2, 1, 0), (12, 1, 8), (12, 2, 3)])
def test_guided_count_is_optunas(tmp_path: Path, n: int, c: int, k: int) -> None:
    initial = [{"depth": 1, "width_0": 8 + i} for i in range(k)]
    assert _guided_in_optuna(tmp_path, n, c, initial) == tpe_guided_trials(n, c, k)


@pytest.mark.parametrize(("n", "c", "k"), [
    (1, 1, 0), (1, 4, 0), (4, 4, 0), (8, 8, 0), (64, 64, 0), (20, 10, 0), (12, 1, 10),
    (40, 10, 0), (16, 2, 0), (20, 5, 0), (3, 1, 0)])
def test_random_search_warning_and_its_fixes(n: int, c: int, k: int) -> None:
    # whole configurations (every ranged knob fixed): TPE draws nothing of them (round 12: a
    # point fixing only some parameters has the rest drawn from TPE's model past the start-up)
    initial = [{"depth": 1, "width_0": 8 + i, "dropout": 0.1, "l2": 1e-4, "lr": 2e-3}
               for i in range(k)]
    warnings = from_dict(_search(num_trials=n, max_concurrent=c, initial_points=initial)).warnings
    guided = tpe_guided_trials(n, c, k)
    assert bool(warnings) == (guided < n / 4)
    if not warnings:
        return
    (text,) = warnings
    assert "random" in text and "search.num_trials to at least" in text
    more = int(text.split("search.num_trials to at least ")[1].split()[0].rstrip(";,"))
    assert more > n
    assert not from_dict(_search(num_trials=more, max_concurrent=c,
                                 initial_points=initial)).warnings
    assert from_dict(_search(num_trials=more - 1, max_concurrent=c,
                             initial_points=initial)).warnings
    if "search.max_concurrent to " in text:  # a real change that silences it
        fewer = int(text.split("search.max_concurrent to ")[1].split()[0])
        assert fewer < c
        assert not from_dict(_search(num_trials=n, max_concurrent=fewer,
                                     initial_points=initial)).warnings
        assert from_dict(_search(num_trials=n, max_concurrent=fewer + 1,
                                 initial_points=initial)).warnings
    else:  # no concurrency is enough (a single trial, or the initial points fill the study)
        assert all(tpe_guided_trials(n, m, k) < n / 4 for m in range(1, c + 1))


def test_shipped_configs_and_random_sampler_do_not_warn() -> None:
    for name in ("dryrun.yaml", "full.yaml", "lecture.yaml"):
        assert not load_config(REPO / "configs" / name).warnings, name
    assert not from_dict(_search(num_trials=64, max_concurrent=64, sampler="random")).warnings


def test_initial_points_counted_once_each() -> None:
    point = {"depth": 2, "width_0": 16, "width_1": 16}
    with pytest.raises(ConfigError, match=r"initial_points\[1\].*same configuration as "
                                          r"search.initial_points\[0\]"):
        from_dict(_search(num_trials=4, initial_points=[point, dict(point)]))
    with pytest.raises(ConfigError, match=r"initial_points\[1\]"):  # 16 and 16.0 are one
        from_dict(_search(num_trials=4, initial_points=[
            {**point, "lr": 0.002}, {**point, "lr": 2e-3}]))
    with pytest.raises(ConfigError, match="has 3 points, but search.num_trials is 2.*at least 3"):
        from_dict(_search(num_trials=2, initial_points=[
            point, {"depth": 1, "width_0": 8}, {"depth": 1, "width_0": 9}]))
    cfg = from_dict(_search(num_trials=3, initial_points=[point, {"depth": 1, "width_0": 8},
                                                          {"depth": 1, "width_0": 9}]))
    assert len(cfg.search.initial_points) == cfg.search.num_trials


def test_initial_points_are_the_first_trials(tmp_path: Path) -> None:
    points = [{"depth": 3, "width_0": 64, "width_1": 32, "width_2": 32, "l2": 1e-4},
              {"depth": 1, "width_0": 5}]
    cfg = from_dict(_search(num_trials=4, max_concurrent=1, initial_points=points))
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    drawn = []
    for k in range(5):
        config = searcher.suggest(f"t{k}")
        if not isinstance(config, dict):
            assert config == "FINISHED" and k == 4
            break
        drawn.append(config)
        searcher.on_trial_complete(f"t{k}", {"epoch": 2, "val_loss": 1.0, "config": config})
    for point, config in zip(points, drawn):
        assert {key: config[key] for key in point} == point
    assert len(drawn) == 4


@pytest.mark.parametrize(("n", "c"), [(16, 2), (512, 64), (4, 4), (1, 1)])
def test_sampler_record_is_the_samplers(n: int, c: int) -> None:
    cfg = from_dict(_search(num_trials=n, max_concurrent=c))
    record = sampler_record(cfg)
    sampler = make_sampler(cfg)
    assert record == {"search.sampler": "tpe", "kind": "search", "class": "TPESampler",
                      "optuna": optuna.__version__, "multivariate": True, "group": True,
                      "constant_liar": True, "n_startup_trials": tpe_startup_trials(n, c),
                      "startup_counts": "trained trials"}
    assert (sampler._multivariate, sampler._group, sampler._constant_liar,
            sampler._n_startup_trials) == (True, True, True, tpe_startup_trials(n, c))
    scan = from_dict({"space": {**SPACE, "lr": [1e-3, 1e-3], "dropout": [0, 0]},
                      "search": {"sampler": "sobol", "num_trials": 8},
                      "scheduler": {"type": "fifo", "max_epochs": 2}})
    assert sampler_record(scan) == {"search.sampler": "sobol", "kind": "scan",
                                    "class": "RandomSampler", "optuna": optuna.__version__}


@pytest.mark.parametrize("scheduler", ["asha", "fifo", "patience"])
@pytest.mark.parametrize("budget", [None, 600.0])
@pytest.mark.parametrize("ended", [False, True, None])
def test_interrupted_is_its_own_stop_reason(scheduler: str, budget: float | None,
                                            ended: bool | None) -> None:
    base = from_dict({"scheduler": {"type": scheduler, "max_epochs": 8, "grace_period": 1,
                                    "reduction_factor": 2, "patience": 3}})
    cfg = dataclasses.replace(base, search=dataclasses.replace(base.search,
                                                                time_budget_s=budget))
    for epochs in (1, 2, 4, 5):  # at an ASHA rung or not
        assert stop_reason("interrupted", "", epochs, False, cfg, ended=ended) == "interrupted"
    # the other statuses keep their own reasons
    assert stop_reason("completed", "", 8, False, cfg, ended=True) == "max_epochs"
    assert stop_reason("completed", "", 5, True, cfg, ended=True) == "patience"
    assert stop_reason("failed", "x", 2, False, cfg, ended=True) == "failed"
    assert stop_reason("running", "", 2, False, cfg, ended=False) == ""
    assert stop_reason("stopped", "interrupted: the driver died", 2, False, cfg,
                       ended=False) == "interrupted"
    if budget:
        assert stop_reason("stopped", "", 3, False, cfg, ended=False) == "time_budget"


@pytest.mark.parametrize(("grace", "top", "warns"), [(4, 4, True), (1, 1, True), (3, 4, False),
                                                     (1, 30, False)])
def test_asha_that_stops_nothing_is_said(grace: int, top: int, warns: bool) -> None:
    """ASHA's rungs lie below max_epochs: with grace_period == max_epochs it stops no trial,
    and the search is FIFO under another name (fixed: it was silent)."""
    from jetstudy.study.collect import _asha_rungs

    cfg = from_dict({"scheduler": {"grace_period": grace, "max_epochs": top},
                     "search": {"num_trials": 64, "max_concurrent": 2}})
    said = [w for w in cfg.warnings if "never stops a trial" in w]
    assert bool(said) == warns == (not _asha_rungs(cfg))
    if said and top > 1:  # the grace period it suggests has a rung
        fixed = from_dict({"scheduler": {"grace_period": int(said[0].split(
            "scheduler.grace_period to e.g. ")[1].split()[0]), "max_epochs": top}})
        assert _asha_rungs(fixed) and not fixed.warnings
    fifo = from_dict({"scheduler": {"type": "fifo", "grace_period": grace, "max_epochs": top}})
    assert not [w for w in fifo.warnings if "never stops" in w]


def test_report_names_the_kind_that_ran(tmp_path: Path) -> None:
    """The report's overview says search or scan, the sampler and the scheduler (it said
    neither), and TPE's settings as provenance.json recorded them from the sampler."""
    import json
    from types import SimpleNamespace

    from jetstudy.analysis.sections_search import kind_lines

    scan = from_dict({"space": {**SPACE, "lr": [1e-3, 1e-3], "dropout": [0, 0]},
                      "search": {"sampler": "grid", "grid_levels": 2},
                      "scheduler": {"type": "patience", "max_epochs": 6, "patience": 2}})
    tables = SimpleNamespace(config=scan.to_dict(), folder=tmp_path)
    assert kind_lines(tables) == [
        f"Kind: scan, a grid of {scan.search.num_trials} configurations, each trial to "
        "max_epochs or its validation-loss patience: the regime picture."]
    search = from_dict(_search(num_trials=40, max_concurrent=4))
    tables = SimpleNamespace(config=search.to_dict(), folder=tmp_path)
    (tmp_path / "provenance.json").write_text(json.dumps({"sampler": sampler_record(search)}))
    (line,) = kind_lines(tables)
    assert line.startswith("Kind: search, Optuna TPE, 40 trials, 4 at a time, ASHA stopping")
    assert line.endswith(f"(provenance.json, Optuna {optuna.__version__}): multivariate, grouped "
                         f"(each depth's widths together), constant liar, "
                         f"{tpe_startup_trials(40, 4)} random start-up trials before it "
                         "models anything.")
    assert kind_lines(SimpleNamespace(config=None, folder=tmp_path)) == []


def test_sobol_off_share_is_what_the_readme_says() -> None:
    """README: a [0, x] range is off for half of the Sobol points, and repeats (most often off
    points) are skipped, so a small space has fewer than half of its configurations off; a
    large one about half."""
    from jetstudy.study.design import sobol_design

    def off_share(space: dict, n: int) -> float:
        cfg = from_dict({"space": {"l1": [0, 0], "dropout": [0, 0], "lr": [1e-3, 1e-3],
                                   **space}, "search": {"sampler": "sobol", "num_trials": n},
                         "scheduler": {"type": "fifo", "max_epochs": 2}})
        design = sobol_design(cfg.space, n, 0)
        return sum(p["l2"] == 0 for p in design) / n

    small = off_share({"depth": [1, 2], "width": [4, 8], "l2": [0, 1e-3]}, 20)
    assert small < 0.5 and small <= 10 / 20  # 2 depths x 5 widths: at most 10 off
    assert off_share({"depth": [1, 6], "width": [4, 256], "l2": [0, 1e-3]}, 64) == (
        pytest.approx(0.5, abs=0.07))
