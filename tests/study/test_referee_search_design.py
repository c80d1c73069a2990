"""Referee: what a search or scan draws is what its config asks for, and the same config
draws the same configurations (task H). Real Optuna through jetstudy's searcher; no training.

Found and fixed here: a grid or Sobol value rounded to three digits could fall outside its
range (``l2: [1.23456e-5, 0.0123456]`` gave a grid level 1.23e-5, below the range; Optuna then
warns and trains the value anyway); a Sobol scan trained the same configuration twice (integer
depth/width and the off-switch map several Sobol points to one configuration: 64 points over
depth [1, 3], width [4, 64], l2 [0, 1e-3] were 61 configurations).
"""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from jetstudy.study.config import from_dict
from jetstudy.study.design import axis_levels, grid_design, scan_axes, sobol_design
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.trialfiles import SEED_KEY, number_seed

ODD = {"depth": [1, 3], "width": [5, 37], "l1": [0, 0], "l2": [1.23456e-5, 0.0123456],
       "dropout": [0.15555, 0.45555], "lr": [1e-3, 1e-3]}
FIFO = {"type": "fifo", "max_epochs": 2}


def _scan(space: dict, **search) -> dict:
    return {"space": space, "search": search, "scheduler": FIFO}


def _inside(cfg, point: dict) -> None:
    for name, value in point.items():
        low, high = getattr(cfg.space, name)
        assert low <= value <= high, f"{name} {value} outside [{low}, {high}]"
        if name in ("depth", "width"):
            assert isinstance(value, int)


def test_grid_levels_stay_inside_odd_bounds() -> None:
    cfg = from_dict(_scan(ODD, sampler="grid", grid_levels=3))
    design = grid_design(cfg.space, 3)
    assert len(design) == cfg.search.num_trials == 3 * 3 * 3 * 3
    assert len({tuple(p.values()) for p in design}) == len(design)
    for point in design:
        _inside(cfg, point)
    # the ends of each axis are its bounds, log-spaced where the knob is log-scaled
    l2 = axis_levels(cfg.space, "l2", 3)
    assert (l2[0], l2[-1]) == (1.23456e-5, 0.0123)
    assert l2[1] == pytest.approx(math.sqrt(l2[0] * 0.0123456), rel=0.01)
    assert axis_levels(cfg.space, "dropout", 3)[-1] == 0.45555
    assert axis_levels(cfg.space, "width", 3) == [5, 14, 37]


def test_grid_off_switch_and_integer_rounding() -> None:
    space = {**ODD, "width": [4, 8], "l2": [0, 3e-3], "dropout": [0, 0]}
    cfg = from_dict(_scan(space, sampler="grid", grid_levels=4))
    # integer widths that round to the same value are one level, and the grid says so
    assert axis_levels(cfg.space, "width", 4) == [4, 5, 6, 8]
    assert axis_levels(cfg.space, "l2", 4) == [0.0, 3e-6, 9.49e-5, 3e-3]
    assert cfg.search.num_trials == 3 * 4 * 4 == len(grid_design(cfg.space, 4))
    with pytest.raises(ConfigError, match="search.num_trials is 40.*has 48"):
        from_dict(_scan(space, sampler="grid", grid_levels=4, num_trials=40))


def test_sobol_points_are_distinct_inside_and_prefix_stable() -> None:
    space = {**ODD, "l2": [0, 1e-3], "dropout": [0, 0]}
    cfg = from_dict(_scan(space, sampler="sobol", num_trials=64, seed=3))
    design = sobol_design(cfg.space, 64, 3)
    assert len(design) == 64 and len({tuple(p.values()) for p in design}) == 64
    for point in design:
        assert set(point) == set(scan_axes(cfg.space)) == {"depth", "width", "l2"}
        _inside(cfg, point)
    off = sum(p["l2"] == 0 for p in design)
    assert 0 < off < 64  # the off-switch is a level of the design, not the whole of it
    on = [p["l2"] for p in design if p["l2"]]
    assert min(on) >= 1e-6 and max(on) <= 1e-3  # on: [x/1000, x]
    assert sobol_design(cfg.space, 20, 3) == design[:20]  # more trials extend the design
    assert sobol_design(cfg.space, 64, 4) != design  # the seed changes the draws
    odd = from_dict(_scan(ODD, sampler="sobol", num_trials=100, seed=1))
    for point in sobol_design(odd.space, 100, 1):
        _inside(odd, point)


def test_sobol_larger_than_its_space_is_refused() -> None:
    space = {**ODD, "depth": [1, 2], "width": [4, 5], "l2": [0, 0], "dropout": [0, 0]}
    with pytest.raises(ConfigError, match=r"search.num_trials is 10 .* only 4 distinct"):
        from_dict(_scan(space, sampler="sobol", num_trials=10))
    cfg = from_dict(_scan(space, sampler="sobol", num_trials=4))
    assert sorted((p["depth"], p["width"]) for p in sobol_design(cfg.space, 4, 0)) == [
        (1, 4), (1, 5), (2, 4), (2, 5)]


SEARCH = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
          "l2": [1e-6, 1e-3], "lr": [5e-3, 5e-3], "activations": ["relu", "tanh"],
          "batch_norm": [False, True]}


def _draw(tmp_path: Path, seed: int, n: int = 24, concurrent: int = 1,
          last_first: bool = False) -> list[dict]:
    """``n`` configurations from the study's own searcher, each told a result when drawn
    (``concurrent`` at a time; the oldest running trial finishes first, or the newest with
    ``last_first``), so TPE models the later ones."""
    cfg = from_dict({"space": SEARCH, "scheduler": {"max_epochs": 2},
                     "search": {"num_trials": n, "max_concurrent": concurrent, "seed": seed}})
    folder = tmp_path / f"s{seed}-{concurrent}"
    (folder / "trials").mkdir(parents=True)
    searcher = make_searcher(cfg, folder).searcher
    configs, live = [], []
    for k in range(n):
        configs.append(searcher.suggest(f"t{k}"))
        live.append(k)
        if len(live) == concurrent:
            j = live.pop(-1 if last_first else 0)
            c = configs[j]
            searcher.on_trial_complete(f"t{j}", {"epoch": 2, "val_loss": c["depth"] / c[
                "width_0"] + c["l2"] * 100, "config": c})
    assert searcher.suggest("one-more") == "FINISHED"
    return configs


def test_search_draws_repeat_with_the_seed_and_change_with_it(tmp_path: Path) -> None:
    first = _draw(tmp_path / "a", seed=1)
    again = _draw(tmp_path / "b", seed=1)
    other = _draw(tmp_path / "c", seed=2)
    assert first == again
    assert first != other
    # each trial's seed: search.seed and its Optuna number, in draw order
    assert [c[SEED_KEY] for c in first] == [number_seed(1, k) for k in range(len(first))]
    assert [c[SEED_KEY] for c in other] != [c[SEED_KEY] for c in first]
    # concurrency 3, same seed: the same draws in the same order when results arrive alike
    assert _draw(tmp_path / "d", seed=1, concurrent=3) == _draw(tmp_path / "e", seed=1,
                                                                  concurrent=3)


def test_search_draws_stay_in_the_space(tmp_path: Path) -> None:
    configs = _draw(tmp_path, seed=4, n=40)
    for c in configs:
        assert 1 <= c["depth"] <= 3
        widths = [c[f"width_{i}"] for i in range(c["depth"])]
        assert all(isinstance(w, int) and 4 <= w <= 64 for w in widths)
        assert not any(f"width_{i}" in c for i in range(c["depth"], 4))
        assert c["dropout"] == 0 or 0.04 <= c["dropout"] <= 0.4  # [0, x]: off or [x/10, x]
        assert 1e-6 <= c["l2"] <= 1e-3 and c["l1"] == 0 and c["lr"] == 5e-3
        assert c["activation"] in ("relu", "tanh") and c["batch_norm"] in (False, True)
    assert {c["dropout"] == 0 for c in configs} == {True, False}
    assert len({c["depth"] for c in configs}) == 3
    assert {c["activation"] for c in configs} == {"relu", "tanh"}


def test_optuna_records_the_configured_distributions(tmp_path: Path) -> None:
    _draw(tmp_path, seed=5, n=30)
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                              storage=optuna_storage(tmp_path / "s5-1"))
    seen: dict[str, object] = {}
    for trial in study.trials:
        seen.update(trial.distributions)
    assert seen["depth"] == IntDistribution(1, 3)
    for depth in (1, 2, 3):
        for i in range(depth):
            assert seen[f"d{depth}_width_{i}"] == IntDistribution(4, 64, log=True)
    assert seen["l2"] == FloatDistribution(1e-6, 1e-3, log=True)
    assert seen["dropout_on"] == CategoricalDistribution([False, True])
    assert seen["dropout"] == FloatDistribution(0.04, 0.4)
    assert seen["activation"] == CategoricalDistribution(["relu", "tanh"])
    assert seen["batch_norm"] == CategoricalDistribution([False, True])
    assert not {"l1", "lr", "l1_on"} & set(seen)  # fixed values are no Optuna parameter


def test_concurrent_search_repeats_its_start_up_whatever_finishes_first(tmp_path: Path) -> None:
    """With several trials at a time the finishing order is the operating system's: TPE's
    start-up configurations (random, seeded) and every trial's seed stay the same, the guided
    ones may differ (README "Reproducible reruns")."""
    from jetstudy.study.search_rules import tpe_startup_trials

    startup = tpe_startup_trials(24, 3)
    oldest = _draw(tmp_path / "a", seed=1, concurrent=3)
    newest = _draw(tmp_path / "b", seed=1, concurrent=3, last_first=True)
    assert oldest[:startup] == newest[:startup]
    assert [c[SEED_KEY] for c in oldest] == [c[SEED_KEY] for c in newest]


def test_stop_reason_rungs_are_rays_rungs() -> None:
    """``stop_reason: scheduler`` is given at the epochs where Ray's ASHA has a rung
    (grace_period * reduction_factor**k below max_epochs), nowhere else."""
    import dataclasses

    from ray.tune.schedulers import ASHAScheduler

    from jetstudy.study.collect import _asha_rungs

    base = from_dict({})
    for grace in (1, 2, 3):
        for rf in (2, 3, 4, 10):
            for top in range(grace + 1, 130, 3):
                cfg = dataclasses.replace(base, scheduler=dataclasses.replace(
                    base.scheduler, max_epochs=top, grace_period=grace, reduction_factor=rf))
                ray_asha = ASHAScheduler(time_attr="epoch", max_t=top, grace_period=grace,
                                         reduction_factor=rf)
                rungs = {m for m, _ in ray_asha._brackets[0]._rungs if m < top}
                assert _asha_rungs(cfg) == rungs, (grace, rf, top)
                assert min(rungs) >= grace
