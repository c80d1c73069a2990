"""Referee round 6, config fields walked one by one: a value with a unit ('10s', '100k', '25%'),
a percentage where a fraction goes (val_fraction 20), a near-miss choice ('gpu', 'accuracy',
'leaky-relu', a comma-separated 'relu, elu') got no hint of what was meant; -0.0 was kept as
-0.0 (written so into config.yaml); a CPU or GPU share finer than Ray's 0.0001 step passed
the config (Ray failed later with a traceback, or counted 0 CPUs); an L*
above ln 5 (worse than guessing the class shares: every trial 'good') was accepted; a path
'~name/...' of a user that does not exist made a folder called '~name'."""

from __future__ import annotations

import math

import pytest

from jetstudy.study.config import ConfigError, from_dict


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        from_dict(raw)
    return str(caught.value)


@pytest.mark.parametrize("section, field, value, words", [
    ("search", "time_budget_s", "10s", "bare number of seconds"),
    ("search", "time_budget_s", "1h", "bare number of seconds"),
    ("data", "max_jets", "100k", "write it out"),
    ("training", "batch_size", "1K", "write it out"),
    ("resources", "gpus_per_trial", "25%", "0.25"),
    ("data", "val_fraction", "20%", "0.2"),
])
def test_a_value_with_a_unit_says_to_write_the_bare_number(section: str, field: str, value: str,
                                                           words: str) -> None:
    error = _error({section: {field: value}})
    assert error.startswith(f"{section}.{field}") and repr(value) in error, error
    assert "unit" in error and words in error, error


@pytest.mark.parametrize("field, value, fraction", [("val_fraction", 20, "0.2"),
                                                    ("test_fraction", 15.0, "0.15")])
def test_a_percentage_where_a_fraction_goes_names_the_fraction(field: str, value: float,
                                                               fraction: str) -> None:
    error = _error({"data": {field: value}})
    assert error.startswith(f"data.{field}") and f"write {fraction}" in error, error


@pytest.mark.parametrize("section, field, value, meant", [
    ("training", "device", "gpu", "'cuda'"),
    ("training", "device", "cuda:0", "'cuda'"),
    ("search", "metric", "accuracy", "'val_acc'"),
    ("search", "metric", "auc", "'val_auc'"),
    ("search", "metric", "loss", "'val_loss'"),
    ("space", "activations", ["leaky-relu"], "'leaky_relu'"),
    ("space", "activations", ["ReLU", "elu"], "'relu'"),
    ("resources", "pack_size", "Auto", "'auto'"),
    ("search", "sampler", "TPESampler", "'tpe'"),
    ("data", "format", "csv", "'table'"),
    ("data", "format", "h5", "'hdf5'"),
    ("training", "optimizer", "adam_w", "'adamw'"),
    ("scheduler", "type", "early-stopping", "'patience'"),
])
def test_a_near_miss_choice_names_the_choice_meant(section: str, field: str, value,
                                                   meant: str) -> None:
    error = _error({section: {field: value}})
    assert error.startswith(f"{section}.{field}") and f"did you mean {meant}" in error, error


def test_a_comma_separated_list_in_one_string_says_to_write_a_list() -> None:
    error = _error({"space": {"activations": "relu, elu"}})
    assert error.startswith("space.activations") and "[relu, elu]" in error, error
    assert "list" in error, error


@pytest.mark.parametrize("raw, path", [
    ({"resources": {"gpus_per_trial": -0.0}}, ("resources", "gpus_per_trial")),
    ({"regimes": {"gap_floor": -0.0}}, ("regimes", "gap_floor")),
    ({"space": {"dropout": [-0.0, 0.5]}}, ("space", "dropout")),
    ({"search": {"initial_points": [{"depth": 1, "width_0": 8, "dropout": -0.0}]}},
     ("search", "initial_points")),
])
def test_minus_zero_is_read_as_zero(raw: dict, path: tuple) -> None:
    cfg = from_dict(raw)
    value = getattr(getattr(cfg, path[0]), path[1])
    first = value[0] if isinstance(value, tuple) else value
    first = first["dropout"] if isinstance(first, dict) else first
    assert first == 0.0 and math.copysign(1.0, first) == 1.0, value
    assert "-0.0" not in cfg.to_yaml()


@pytest.mark.parametrize("field, value", [("cpus_per_trial", 1e-5), ("gpus_per_trial", 5e-5)])
def test_a_resource_share_finer_than_rays_step_is_refused(field: str, value: float) -> None:
    error = _error({"resources": {field: value}})
    assert error.startswith(f"resources.{field}") and "0.0001" in error, error


@pytest.mark.parametrize("value", [1e-4, 0.25, 2.0])
def test_resource_shares_ray_takes_are_kept(value: float) -> None:
    assert from_dict({"resources": {"gpus_per_trial": value}}).resources.gpus_per_trial == value


def test_a_reference_loss_above_ln5_is_refused_and_below_is_kept() -> None:
    error = _error({"regimes": {"reference_loss": 5.0}})
    assert error.startswith("regimes.reference_loss") and "ln 5" in error, error
    assert from_dict({"regimes": {"reference_loss": 1.6}}).regimes.reference_loss == 1.6


@pytest.mark.parametrize("field", ["data.path", "storage.results_dir"])
def test_a_home_folder_of_an_unknown_user_is_refused(field: str) -> None:
    section, name = field.split(".")
    error = _error({section: {name: "~nosuchuser_jetstudy/jets"}})
    assert error.startswith(field) and "'nosuchuser_jetstudy'" in error, error
    assert "~/" in error, error  # the fix: your own home folder


def test_the_initial_points_message_stays_short() -> None:
    error = _error({"search": {"initial_points": {"depth": 3}}})
    assert "width_0..width_15" in error and "width_7" not in error, error


@pytest.mark.parametrize("value", ["1-6", "[1, 6]", {"min": 1, "max": 6}, {"low": 1, "high": 6}])
def test_a_range_written_as_text_or_a_mapping_names_the_list(value) -> None:
    error = _error({"space": {"depth": value}})
    assert error.startswith("space.depth") and "written [1, 6] without quotes" in error, error



@pytest.mark.parametrize("raw, both, fix", [
    ({"scheduler": {"patience": 3}}, ("scheduler.patience is 3", "scheduler.type is asha"),
     "set scheduler.type patience"),
    ({"scheduler": {"type": "fifo", "reduction_factor": 4}},
     ("scheduler.reduction_factor is 4", "scheduler.type is fifo"),
     "remove scheduler.reduction_factor"),
    ({"search": {"grid_levels": 6}}, ("search.grid_levels is 6", "search.sampler is tpe"),
     "set search.sampler grid"),
    ({"data": {"path": "jets.h5", "synthetic_jets": 5000}},
     ("data.synthetic_jets is 5000", "'jets.h5'"), "remove data.synthetic_jets"),
    ({"resources": {"address": "auto", "num_cpus": 4}},
     ("resources.num_cpus is 4", "resources.address is 'auto'"), "remove resources.num_cpus"),
    ({"training": {"device": "cpu"}, "resources": {"gpus_per_trial": 0.5}},
     ("resources.gpus_per_trial is 0.5", "training.device is 'cpu'"),
     "set resources.gpus_per_trial to 0"),
    ({"regimes": {"min_epochs": 50}, "scheduler": {"max_epochs": 10}},
     ("regimes.min_epochs is 50", "scheduler.max_epochs 10"), "at most 10"),
    ({"training": {"checkpoint_every": 50}, "scheduler": {"max_epochs": 10}},
     ("training.checkpoint_every is 50", "scheduler.max_epochs 10"), "at most 10"),
    ({"resources": {"pack_size": 64}},
     ("resources.pack_size is 64", "search.max_concurrent is 4"), "pack holds at most 4"),
])
def test_a_setting_the_rest_of_the_config_ignores_is_one_warning(raw: dict, both: tuple,
                                                                 fix: str) -> None:
    (warning,) = from_dict(raw).warnings
    assert all(text in warning for text in both) and fix in warning, warning


def test_settings_at_their_defaults_or_in_use_give_no_such_warning() -> None:
    assert from_dict({"scheduler": {"type": "patience", "patience": 3}}).warnings == ()
    assert from_dict({"scheduler": {"type": "fifo", "max_epochs": 2}}).warnings == ()
    assert from_dict({"data": {"path": "jets.h5"}, "resources": {"num_cpus": 2}}).warnings == ()


def test_an_environment_variable_in_the_study_name_is_refused() -> None:
    error = _error({"storage": {"name": "run-$RUN_ID"}})
    assert error.startswith("storage.name") and "($RUN_ID)" in error, error
    assert "write the name out" in error, error


@pytest.mark.parametrize("raw, words", [
    ({"search": {"time_budget_s": float("inf")}}, "write null for no limit"),
    ({"training": {"batch_size": float("inf")}}, "write a finite number"),
    ({"regimes": {"z": float("nan")}}, "NaN is not a number"),
    ({"regimes": {"z": 1e30}}, "a typo?"),
])
def test_infinite_nan_and_huge_numbers_say_what_is_wrong(raw: dict, words: str) -> None:
    error = _error(raw)
    assert words in error, error


@pytest.mark.parametrize("raw, words", [
    ({"data": {"synthetic_jets": 1000}, "training": {"batch_size": 5000}},
     ("training.batch_size is 5000", "600 training jets", "one full-batch step")),
    ({"data": {"path": "jets.h5", "max_jets": 1000}, "training": {"batch_size": 1024}},
     ("training.batch_size is 1024", "data.max_jets 1000", "below 600")),
    ({"data": {"synthetic_jets": 1000, "max_jets": 5000}},
     ("data.max_jets is 5000", "data.synthetic_jets 1000", "no effect")),
])
def test_sizes_beyond_the_jets_there_are_one_warning(raw: dict, words: tuple) -> None:
    (warning,) = from_dict(raw).warnings
    assert all(text in warning for text in words), warning
    assert from_dict({"data": {"synthetic_jets": 1000},
                      "training": {"batch_size": 256}}).warnings == ()
