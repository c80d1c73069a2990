"""The define-by-run search space, asked by a real Optuna study and through Ray's OptunaSearch."""

from __future__ import annotations

import math
import pickle
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from jetstudy.study.config import SpaceConfig, from_dict
from jetstudy.study.space import SpaceFunction, define_space, optuna_params, width_param

FLOAT_KNOBS = ("dropout", "l1", "l2", "lr")


def space_of(**values: Any) -> SpaceConfig:
    """A validated SpaceConfig (through the config loader, as a study gets it)."""
    return from_dict({"space": values}).space


def ask(space: SpaceConfig, n: int = 1, seed: int = 0) -> list[tuple[optuna.Trial, dict]]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append((trial, define_space(space, trial)))
    return out


WIDE = dict(depth=[2, 5], width=[4, 64], dropout=[0.1, 0.3], l1=[1e-6, 1e-4],
            l2=[1e-7, 1e-5], lr=[1e-3, 3e-2], activations=["relu", "tanh", "elu"],
            batch_norm=[False, True])


def test_one_width_per_layer_named_for_its_depth() -> None:
    depths = set()
    for trial, config in ask(space_of(**WIDE), n=50):
        depth = trial.params["depth"]
        depths.add(depth)
        widths = sorted(k for k in trial.params if "width" in k)
        assert widths == sorted(f"d{depth}_width_{i}" for i in range(depth))
        # the trial's config carries them under the names the trainables read
        assert {k: v for k, v in config.items() if k.startswith("width_")} == {
            f"width_{i}": trial.params[f"d{depth}_width_{i}"] for i in range(depth)}
    assert len(depths) > 1, "the sampler never varied the depth; the test proves nothing"


def test_values_stay_inside_the_ranges() -> None:
    space = space_of(**WIDE)
    seen_activations, seen_bn = set(), set()
    for trial, constants in ask(space, n=50):
        assert set(constants) == {f"width_{i}" for i in range(trial.params["depth"])}
        p = trial.params
        assert space.depth[0] <= p["depth"] <= space.depth[1]
        for i in range(p["depth"]):
            w = p[width_param(p["depth"], i)]
            assert isinstance(w, int) and space.width[0] <= w <= space.width[1]
        for name in FLOAT_KNOBS:
            low, high = getattr(space, name)
            assert low <= p[name] <= high, name
        assert p["activation"] in space.activations
        assert p["batch_norm"] in space.batch_norm
        seen_activations.add(p["activation"])
        seen_bn.add(p["batch_norm"])
    assert seen_activations == set(space.activations)
    assert seen_bn == {False, True}


def test_scales_of_the_distributions() -> None:
    space = space_of(**WIDE)
    (trial, _), = ask(space, seed=1)
    d = trial.distributions
    assert isinstance(d["depth"], IntDistribution) and d["depth"].log is False
    assert (d["depth"].low, d["depth"].high) == space.depth
    for i in range(trial.params["depth"]):
        w = d[width_param(trial.params["depth"], i)]
        assert isinstance(w, IntDistribution) and w.log is True
        assert (w.low, w.high) == space.width
    assert isinstance(d["dropout"], FloatDistribution) and d["dropout"].log is False
    for name in ("l1", "l2", "lr"):
        assert isinstance(d[name], FloatDistribution) and d[name].log is True, name
        assert (d[name].low, d[name].high) == getattr(space, name)
    assert isinstance(d["activation"], CategoricalDistribution)
    assert tuple(d["activation"].choices) == space.activations
    assert tuple(d["batch_norm"].choices) == space.batch_norm


def test_log_scale_spreads_widths_over_decades() -> None:
    # On a log scale over [1, 1024] about half the draws fall below sqrt(1024) = 32; a linear
    # scale would put only ~3% there.
    space = space_of(depth=[1, 1], width=[1, 1024])
    widths = [t.params["d1_width_0"] for t, _ in ask(space, n=200)]
    below = sum(w < 32 for w in widths) / len(widths)
    assert 0.3 < below < 0.7


def test_fixed_depth_is_a_constant() -> None:
    (trial, constants), = ask(space_of(depth=[3, 3]))
    assert constants["depth"] == 3
    assert "depth" not in trial.params
    assert sorted(k for k in trial.params if "width" in k) == [
        "d3_width_0", "d3_width_1", "d3_width_2"]


def test_fixed_width_gives_constant_widths_for_every_layer() -> None:
    for trial, constants in ask(space_of(depth=[1, 4], width=[16, 16]), n=10):
        depth = trial.params["depth"]
        assert {k: v for k, v in constants.items() if k.startswith("width_")} == {
            f"width_{i}": 16 for i in range(depth)}
        assert not any("width" in k for k in trial.params)


@pytest.mark.parametrize("name", FLOAT_KNOBS)
def test_fixed_float_is_a_constant(name: str) -> None:
    value = 0.25 if name == "dropout" else 1e-3
    (trial, constants), = ask(space_of(**{name: [value, value]}))
    assert constants[name] == value and isinstance(constants[name], float)
    assert name not in trial.params


@pytest.mark.parametrize("name", ["l1", "l2"])
def test_penalty_switched_off(name: str) -> None:
    (trial, constants), = ask(space_of(**{name: [0, 0]}))
    assert constants[name] == 0.0
    assert name not in trial.params and name not in trial.distributions
    other = "l2" if name == "l1" else "l1"
    assert other in trial.params  # only the switched-off one is removed


@pytest.mark.parametrize(("name", "high", "on_low", "log"), [
    ("l1", 1e-3, 1e-6, True), ("l2", 1e-2, 1e-5, True), ("dropout", 0.5, 0.05, False)])
def test_zero_to_x_lets_the_search_switch_the_term_off(name: str, high: float, on_low: float,
                                                       log: bool) -> None:
    space = space_of(**{name: [0, high]})
    states = set()
    for trial, constants in ask(space, n=60):
        on = trial.params[f"{name}_on"]
        states.add(on)
        assert isinstance(trial.distributions[f"{name}_on"], CategoricalDistribution)
        if on:
            d = trial.distributions[name]
            assert isinstance(d, FloatDistribution) and d.log is log
            assert (d.low, d.high) == pytest.approx((on_low, high))
            assert name not in constants
        else:
            assert name not in trial.params and constants[name] == 0.0
    assert states == {False, True}


def test_initial_point_in_optuna_names() -> None:
    space = space_of(depth=[1, 4], l2=[0, 1e-3], l1=[1e-7, 1e-3])
    point = {"depth": 2, "width_0": 64, "width_1": 32, "l2": 0, "l1": 1e-5, "lr": 1e-3}
    assert optuna_params(space, point) == {"depth": 2, "d2_width_0": 64, "d2_width_1": 32,
                                           "l2_on": False, "l1": 1e-5, "lr": 1e-3}
    assert optuna_params(space, {"depth": 1, "l2": 1e-4})["l2_on"] is True
    fixed = space_of(depth=[3, 3])
    assert optuna_params(fixed, {"width_2": 16}) == {"d3_width_2": 16}


def test_enqueued_point_is_the_trial() -> None:
    space = space_of(depth=[1, 4], width=[8, 128], l2=[0, 1e-3])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    point = {"depth": 3, "width_0": 64, "width_1": 32, "width_2": 32, "l2": 0}
    study.enqueue_trial(optuna_params(space, point))
    trial = study.ask()
    constants = define_space(space, trial)
    config = {**trial.params, **constants}
    assert {k: config[k] for k in point} == point


def test_single_options_are_constants() -> None:
    (trial, constants), = ask(space_of(activations=["tanh"], batch_norm=[True]))
    assert constants["activation"] == "tanh"
    assert constants["batch_norm"] is True
    assert "activation" not in trial.params and "batch_norm" not in trial.params


def test_fully_fixed_space_asks_nothing() -> None:
    space = space_of(depth=[2, 2], width=[8, 8], dropout=[0.0, 0.0], l1=[0, 0], l2=[0, 0],
                     lr=[0.01, 0.01], activations=["gelu"], batch_norm=[False])
    (trial, constants), = ask(space)
    assert trial.params == {}
    assert constants == {"depth": 2, "width_0": 8, "width_1": 8, "dropout": 0.0, "l1": 0.0,
                         "l2": 0.0, "lr": 0.01, "activation": "gelu", "batch_norm": False}


def test_space_function_pickles_and_gives_the_same_params() -> None:
    fn = SpaceFunction(space_of(**WIDE))
    again = pickle.loads(pickle.dumps(fn))
    assert again.space == fn.space
    params = {"depth": 2, "d2_width_0": 16, "d2_width_1": 32, "dropout": 0.2, "l1": 1e-5,
              "l2": 1e-6, "lr": 1e-2, "activation": "elu", "batch_norm": True}
    t1, t2 = optuna.trial.FixedTrial(params), optuna.trial.FixedTrial(params)
    assert fn(t1) == again(t2) == {"width_0": 16, "width_1": 32}
    assert t1.params == t2.params == params


def test_space_function_returns_constants_for_fixed_trial() -> None:
    fn = pickle.loads(pickle.dumps(SpaceFunction(SpaceConfig())))
    params = {"depth": 1, "d1_width_0": 8, "dropout_on": False, "l1": 1e-7, "l2": 1e-3,
              "lr": 1e-4}
    trial = optuna.trial.FixedTrial(params)
    assert fn(trial) == {"width_0": 8, "dropout": 0.0,
                         "activation": SpaceConfig().activations[0],
                         "batch_norm": SpaceConfig().batch_norm[0]}
    assert trial.params == params


def test_through_ray_optuna_search() -> None:
    from ray.tune.search.optuna import OptunaSearch

    space = SpaceConfig()
    searcher = OptunaSearch(space=SpaceFunction(space), metric="val_loss", mode="min", seed=0)
    for trial_id in ("t1", "t2", "t3"):
        cfg = searcher.suggest(trial_id)
        depth = cfg["depth"]
        assert space.depth[0] <= depth <= space.depth[1]
        widths = [f"width_{i}" for i in range(depth)]
        named = [width_param(depth, i) for i in range(depth)]
        switch = {"dropout_on"}  # the default dropout [0, 0.5] may be switched off
        assert set(cfg) == {"depth", *widths, *named, *FLOAT_KNOBS, "activation", "batch_norm",
                            *switch}
        assert all(space.width[0] <= cfg[w] <= space.width[1] for w in widths)
        assert [cfg[w] for w in widths] == [cfg[n] for n in named]
        for name in FLOAT_KNOBS:
            low, high = getattr(space, name)
            assert low <= cfg[name] <= high and math.isfinite(cfg[name])
        assert cfg["activation"] == space.activations[0]
        assert cfg["batch_norm"] == space.batch_norm[0]
