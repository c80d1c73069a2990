"""The study config: every field rejects a bad value with a message naming field, value and fix;
cross-field checks; YAML loading and ``--set`` overrides; round trip; frozen; range semantics.

Expected messages are built here from the declared checks and from how a user writes a value in
YAML, not copied from the implementation's output.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from jetstudy.study.checks import Check, Range
from jetstudy.study.config import (
    SECTIONS,
    SearchConfig,
    StudyConfig,
    apply_overrides,
    from_dict,
    load_config,
)
from jetstudy.trainables.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def as_written(value: Any) -> str:
    """How a user would write ``value`` in YAML, as the error message should quote it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_written(v) for v in value) + "]"
    if isinstance(value, dict):  # YAML flow style: plain keys
        return "{" + ", ".join(f"{k}: {as_written(v)}" for k, v in value.items()) + "}"
    return repr(value)


ALL_FIELDS = [(section, f) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)]

# Fields tied to another one by a cross-field check, with the partner setting under which the
# check cannot fire, so the example is judged on its own constraint.
PARTNERS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("data", "val_fraction"): {"data": {"test_fraction": 0.05}},
    ("data", "test_fraction"): {"data": {"val_fraction": 0.05}},
    ("scheduler", "grace_period"): {"scheduler": {"max_epochs": 10_000}},
    ("scheduler", "max_epochs"): {"scheduler": {"grace_period": 1}},
    ("training", "device"): {"resources": {"gpus_per_trial": 1}},
    ("resources", "gpus_per_trial"): {"training": {"device": "auto"}},
}


def test_sections_cover_the_study_config() -> None:
    assert list(SECTIONS) == [f.name for f in dataclasses.fields(StudyConfig)]
    assert ALL_FIELDS, "no fields found to test"


@pytest.mark.parametrize(("section", "fld"), ALL_FIELDS,
                         ids=[f"{s}.{f.name}" for s, f in ALL_FIELDS])
def test_every_field_rejects_its_bad_example(section: str, fld: dataclasses.Field) -> None:
    check: Check = fld.metadata["check"]
    assert isinstance(check, Check)
    bad = check.bad_example()
    assert check.accepts(bad)[0] is False

    with pytest.raises(ConfigError) as info:
        from_dict({section: {fld.name: bad}})
    msg = str(info.value)
    assert msg.startswith(f"{section}.{fld.name} must be ")
    assert check.describe() in msg
    assert f"got {as_written(bad)}" in msg
    assert "set e.g." in msg


@pytest.mark.parametrize(("section", "fld"), ALL_FIELDS,
                         ids=[f"{s}.{f.name}" for s, f in ALL_FIELDS])
def test_every_field_accepts_its_example(section: str, fld: dataclasses.Field) -> None:
    example = fld.metadata["example"]
    assert fld.metadata["check"].accepts(example)[0] is True

    raw: dict[str, dict[str, Any]] = {}
    for sec, values in PARTNERS.get((section, fld.name), {}).items():
        raw.setdefault(sec, {}).update(values)
    raw.setdefault(section, {})[fld.name] = example
    cfg = from_dict(raw)

    got = getattr(getattr(cfg, section), fld.name)
    expected = tuple(example) if isinstance(example, list) else example
    assert got == expected
    if isinstance(example, list):
        assert isinstance(got, tuple)  # frozen config holds tuples, never lists


def test_defaults_are_valid_and_match_from_empty() -> None:
    assert from_dict({}) == StudyConfig()
    assert from_dict(None) == StudyConfig()
    assert from_dict({"search": None}) == StudyConfig()


# ---------------------------------------------------------------- unknown names, wrong shapes

def test_unknown_section_lists_known_sections() -> None:
    with pytest.raises(ConfigError) as info:
        from_dict({"serach": {"num_trials": 3}})
    msg = str(info.value)
    assert "'serach'" in msg
    for name in SECTIONS:
        assert name in msg


def test_unknown_field_lists_known_fields() -> None:
    with pytest.raises(ConfigError) as info:
        from_dict({"search": {"num_trial": 3}})
    msg = str(info.value)
    assert msg.startswith("search.num_trial ")
    for f in dataclasses.fields(SearchConfig):
        assert f.name in msg


def test_section_that_is_not_a_mapping_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^search must be a mapping"):
        from_dict({"search": 5})


def test_config_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        from_dict([1, 2])


# --------------------------------------------------------------------------- cross-field checks

@pytest.mark.parametrize(("val", "test"), [(0.46, 0.45), (0.5, 0.41), (0.9, 0.2), (0.6, 0.6)])
def test_val_plus_test_fraction_must_leave_training_jets(val: float, test: float) -> None:
    with pytest.raises(ConfigError) as info:
        from_dict({"data": {"val_fraction": val, "test_fraction": test}})
    msg = str(info.value)
    assert "data.val_fraction" in msg and "data.test_fraction" in msg
    assert f"{val:g}" in msg and f"{test:g}" in msg


def test_val_plus_test_fraction_below_limit_is_accepted() -> None:
    cfg = from_dict({"data": {"val_fraction": 0.4, "test_fraction": 0.4}})
    assert (cfg.data.val_fraction, cfg.data.test_fraction) == (0.4, 0.4)
    cfg = from_dict({"data": {"val_fraction": 0.45, "test_fraction": 0.45}})  # exactly 10% left
    assert cfg.data.val_fraction + cfg.data.test_fraction == pytest.approx(0.9)


def test_grace_period_above_max_epochs_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        from_dict({"scheduler": {"max_epochs": 5, "grace_period": 6}})
    msg = str(info.value)
    assert msg.startswith("scheduler.grace_period must be <= scheduler.max_epochs")
    assert "(5)" in msg and "got 6" in msg and "set e.g." in msg


def test_grace_period_equal_to_max_epochs_is_accepted() -> None:
    cfg = from_dict({"scheduler": {"max_epochs": 5, "grace_period": 5}})
    assert cfg.scheduler.grace_period == cfg.scheduler.max_epochs == 5


def test_cuda_device_without_gpus_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        from_dict({"training": {"device": "cuda"}, "resources": {"gpus_per_trial": 0}})
    msg = str(info.value)
    assert "training.device" in msg and "resources.gpus_per_trial" in msg


def test_cuda_device_with_gpus_is_accepted() -> None:
    cfg = from_dict({"training": {"device": "cuda"}, "resources": {"gpus_per_trial": 0.25}})
    assert cfg.training.device == "cuda" and cfg.resources.gpus_per_trial == 0.25


# ------------------------------------------------------------------------ loading and overrides

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


def test_load_config_reads_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "search:\n  num_trials: 7\n  metric: val_auc\n"
                           "space:\n  depth: [2, 5]\n")
    cfg = load_config(path)
    assert cfg.search.num_trials == 7
    assert cfg.search.metric == "val_auc"
    assert cfg.space.depth == (2, 5)
    assert cfg.scheduler == StudyConfig().scheduler  # untouched sections keep their defaults


def test_load_config_accepts_str_path_and_empty_file(tmp_path: Path) -> None:
    assert load_config(str(write(tmp_path, ""))) == StudyConfig()


def test_load_config_without_path_gives_defaults() -> None:
    assert load_config(None) == StudyConfig()


def test_overrides_are_parsed_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "search:\n  num_trials: 7\n")
    cfg = load_config(path, ["search.num_trials=200", "data.path='data/*.h5'",
                             "space.depth=[2, 3]"])
    assert cfg.search.num_trials == 200 and type(cfg.search.num_trials) is int
    assert cfg.data.path == "data/*.h5"
    assert cfg.space.depth == (2, 3) and isinstance(cfg.space.depth, tuple)


def test_override_of_a_null_field_and_to_null(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  name: fixed\n")
    cfg = load_config(path, ["storage.name=null", "search.time_budget_s=60"])
    assert cfg.storage.name is None
    assert cfg.search.time_budget_s == 60.0


def test_apply_overrides_leaves_the_input_untouched() -> None:
    raw = {"search": {"num_trials": 7}}
    out = apply_overrides(raw, ["search.num_trials=9", "scheduler.type=fifo"])
    assert raw == {"search": {"num_trials": 7}}
    assert out == {"search": {"num_trials": 9}, "scheduler": {"type": "fifo"}}


def test_bad_override_value_is_named_like_a_file_value() -> None:
    with pytest.raises(ConfigError, match=r"^search\.num_trials must be an integer >= 1, got 0"):
        load_config(None, ["search.num_trials=0"])


@pytest.mark.parametrize("item", ["search.num_trials", "a.b.c=1", "num_trials=3", ".x=1",
                                  "search.=1"])
def test_malformed_override_names_the_form(item: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [item])
    msg = str(info.value)
    assert "section.field=value" in msg
    assert repr(item) in msg


def test_override_of_unknown_section_lists_sections() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, ["serch.num_trials=3"])
    assert all(name in str(info.value) for name in SECTIONS)


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)


@pytest.mark.parametrize(("text", "line"), [
    ("search:\n  num_trials: 5\n\tseed: 1\n", 3),           # a tab cannot indent YAML
    ("search:\n  num_trials: 5\n  seed: 1: 2\n", 3),         # a second ':' on one line
    ("data:\n  path: null\nspace:\n  depth: [1, 4\n", 5),    # unclosed flow sequence
])
def test_invalid_yaml_gives_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "not valid YAML" in msg
    assert f"at line {line}" in msg


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(write(tmp_path, "- search\n- space\n"))


def test_scientific_notation_without_dot_is_a_number(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "space:\n  lr: [1e-4, 1e-2]\n"),
                      ["space.l1=[1e-6, 1e-3]"])
    assert cfg.space.lr == (1e-4, 1e-2)
    assert cfg.space.l1 == (1e-6, 1e-3)


# --------------------------------------------------------------------------- round trip, frozen

# Hand-picked values away from the defaults; any field not listed (e.g. one added later) takes
# its declared example, so the round trip always covers every field.
CHOSEN = {
    "data": {"path": "data/train/*.h5", "format": "hdf5", "synthetic_jets": 2000,
             "synthetic_seed": 9, "max_jets": 5000,
             "val_fraction": 0.1, "test_fraction": 0.3, "split_seed": 4},
    "space": {"depth": [3, 3], "width": [16, 16], "dropout": [0.1, 0.2], "l1": [0, 0],
              "l2": [1.0e-6, 1.0e-4], "lr": [0.001, 0.05], "activations": ["elu", "tanh"],
              "batch_norm": [True, False]},
    "search": {"num_trials": 5, "max_concurrent": 1, "seed": 3, "metric": "val_auc",
               "sampler": "random", "time_budget_s": 3600, "grid_levels": 3,
               "initial_points": [{"depth": 3, "width_2": 16, "l2": 1e-5, "lr": 0.01,
                                   "activation": "tanh", "batch_norm": True}],
               "objectives": ["val_auc", "n_params"]},
    "scheduler": {"type": "fifo", "max_epochs": 4, "grace_period": 4, "reduction_factor": 2,
                  "patience": 2},
    "training": {"batch_size": 64, "optimizer": "sgd", "train_eval_jets": 100,
                 "checkpoint_every": 2, "device": "cuda", "torch_threads": 2},
    "resources": {"cpus_per_trial": 0.5, "gpus_per_trial": 0.5, "address": "ray://head:10001",
                  "num_cpus": 3, "pack_size": 0},  # packs need no batch norm: see below
    "storage": {"results_dir": "/tmp/out", "name": "run.1_a-b"},
}
NON_DEFAULT = {section: {**{f.name: f.metadata["example"] for f in dataclasses.fields(cls)},
                         **CHOSEN.get(section, {})}
               for section, cls in SECTIONS.items()}


#: Chosen at their default because the other chosen values need it (a pack cannot train batch
#: norm or SGD); test_packed_config_round_trips covers them.
DEFAULT_ON_PURPOSE = {("resources", "pack_size")}


def test_non_default_config_differs_from_defaults_in_every_chosen_field() -> None:
    cfg, default = from_dict(NON_DEFAULT), StudyConfig()
    for section, values in CHOSEN.items():
        for name in values:
            if (section, name) in DEFAULT_ON_PURPOSE:
                continue
            assert getattr(getattr(cfg, section), name) != getattr(getattr(default, section),
                                                                    name), f"{section}.{name}"


@pytest.mark.parametrize("raw", [{}, NON_DEFAULT], ids=["defaults", "non-default"])
def test_yaml_round_trip(raw: dict) -> None:
    cfg = from_dict(raw)
    text = cfg.to_yaml()
    again = from_dict(yaml.safe_load(text))
    assert again == cfg
    assert from_dict(cfg.to_dict()) == cfg


def test_non_default_values_arrive() -> None:
    cfg = from_dict(NON_DEFAULT)
    assert cfg != StudyConfig()
    assert cfg.space.l1 == (0.0, 0.0)
    assert cfg.space.activations == ("elu", "tanh")
    assert cfg.space.batch_norm == (True, False)
    assert cfg.search.time_budget_s == 3600.0
    assert cfg.resources.address == "ray://head:10001"


def test_to_dict_is_plain_yaml_data() -> None:
    d = from_dict(NON_DEFAULT).to_dict()
    assert d["space"]["depth"] == [3, 3]
    assert isinstance(d["space"]["activations"], list)
    yaml.safe_dump(d)  # raises on anything that is not plain data


def test_config_is_frozen() -> None:
    cfg = from_dict({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.search.num_trials = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.search = SearchConfig()  # type: ignore[misc]
    assert cfg.search.num_trials == SearchConfig().num_trials


# ------------------------------------------------------------------------------ range semantics

def test_penalty_range_zero_zero_switches_it_off() -> None:
    cfg = from_dict({"space": {"l1": [0, 0], "l2": [0.0, 0.0]}})
    assert cfg.space.l1 == (0.0, 0.0)
    assert cfg.space.l2 == (0.0, 0.0)


@pytest.mark.parametrize("name", ["l1", "l2", "dropout"])
def test_range_from_zero_lets_the_search_switch_it_off(name: str) -> None:
    cfg = from_dict({"space": {name: [0, 0.4]}})
    assert getattr(cfg.space, name) == (0.0, 0.4)


@pytest.mark.parametrize("value", [[1e-9, 1e-3], [-1e-3, 1e-3]])
def test_penalty_range_with_a_low_that_is_neither_zero_nor_positive_is_rejected(
        value: list) -> None:
    if value[0] > 0:  # a positive low is fine on a log scale; zero is the off switch
        assert from_dict({"space": {"l1": value}}).space.l1 == tuple(value)
        return
    with pytest.raises(ConfigError) as info:
        from_dict({"space": {"l1": value}})
    msg = str(info.value)
    assert msg.startswith("space.l1 must be ")
    assert f"got {as_written(value)}" in msg
    assert "> 0" in msg and "[0, x]" in msg


def test_lr_has_no_off_switch() -> None:
    with pytest.raises(ConfigError, match=r"^space\.lr must be "):
        from_dict({"space": {"lr": [0, 0]}})


@pytest.mark.parametrize(("name", "value"), [("width", [8, 8]), ("depth", [3, 3]),
                                             ("dropout", [0.0, 0.0]), ("lr", [0.01, 0.01])])
def test_single_point_range_is_accepted(name: str, value: list) -> None:
    cfg = from_dict({"space": {name: value}})
    assert getattr(cfg.space, name) == tuple(value)


@pytest.mark.parametrize(("name", "value"), [
    ("width", [8.0, 16]),       # integers only
    ("depth", [True, 3]),       # a bool is not an integer
    ("depth", [1, 17]),         # above the upper bound
    ("dropout", [0.0, 0.99]),   # above the upper bound
    ("width", [0, 8]),          # below the lower bound
    ("lr", [1e-3]),             # not a pair
    ("lr", "1e-3"),             # not a list
])
def test_range_rejections(name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"^space\.{name} must be a range"):
        from_dict({"space": {name: value}})


RANGE_FIELDS = [(s, f) for s, f in ALL_FIELDS
                if isinstance(f.metadata["check"], Range) and f.metadata["check"].lo is not None]


@pytest.mark.parametrize(("section", "fld"), [
    pytest.param(s, f, id=f"{s}.{f.name}") for s, f in RANGE_FIELDS])
def test_range_description_agrees_with_its_lower_bound(section: str,
                                                        fld: dataclasses.Field) -> None:
    check: Range = fld.metadata["check"]
    lo = check.lo
    high = check.hi if check.hi is not None else lo + 1
    # [0, x] is the off switch of an allow_off range, not a log range starting at 0
    accepted = check.accepts([lo, high])[0] and not (check.allow_off and lo == 0)
    expected = f"each >= {lo:g}" if accepted else f"each > {lo:g}"
    assert expected in check.describe()


def test_dryrun_config_loads() -> None:
    path = REPO / "configs" / "dryrun.yaml"
    raw = yaml.safe_load(path.read_text())
    cfg = load_config(path)
    assert cfg.search.num_trials == raw["search"]["num_trials"]
    assert cfg.scheduler.max_epochs == raw["scheduler"]["max_epochs"]
    assert cfg.space.depth == tuple(raw["space"]["depth"])
    assert cfg.data.path is None


# ------------------------------------------------------------------------------------------ mode

@pytest.mark.parametrize(("metric", "mode"), [("val_loss", "min"), ("val_acc", "max"),
                                              ("val_auc", "max")])
def test_mode_follows_metric(metric: str, mode: str) -> None:
    assert from_dict({"search": {"metric": metric}}).mode == mode


# --------------------------------------------------------------------------- packed studies

@pytest.mark.parametrize("raw, names", [
    ({"space": {"activations": ["relu", "prelu"]}}, ["'prelu'", "space.activations"]),
    ({"space": {"activations": ["relu", "prelu"]},  # a point must lie in the space
      "search": {"initial_points": [{"depth": 1, "width_0": 8, "activation": "prelu"}]}},
     ["'prelu'", "search.initial_points"]),
    ({"space": {"batch_norm": [False, True]}}, ["batch norm", "space.batch_norm"]),
    ({"space": {"batch_norm": [False, True]},
      "search": {"initial_points": [{"depth": 1, "width_0": 8, "batch_norm": True}]}},
     ["batch norm", "space.batch_norm"]),
    ({"training": {"optimizer": "sgd"}}, ["'sgd'", "training.optimizer"]),
], ids=["prelu", "prelu-point", "batch-norm", "batch-norm-point", "sgd"])
def test_packs_refuse_what_they_cannot_train(raw: dict, names: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({**raw, "resources": {"pack_size": 8}})
    message = str(err.value)
    assert "resources.pack_size is 8" in message and "pack_size to 0" in message
    for name in names:
        assert name in message
    from_dict(raw)  # the same space is fine for trials that train themselves


def test_packed_config_round_trips() -> None:
    cfg = from_dict({"resources": {"pack_size": 64, "gpus_per_trial": 1},
                     "space": {"activations": ["relu", "elu", "tanh"]}})
    assert cfg.resources.pack_size == 64
    assert from_dict(yaml.safe_load(cfg.to_yaml())) == cfg


# ------------------------------------------------------------ initial points inside the space

POINT_SPACE = {"depth": [1, 4], "width": [8, 128], "l2": [0, 1e-3], "lr": [1e-3, 1e-3],
               "activations": ["relu", "elu"], "dropout": [0.1, 0.5]}


@pytest.mark.parametrize("point, words", [
    ({"depth": 5}, ["[0].depth is 5", "outside space.depth [1, 4]", "widen space.depth"]),
    ({"depth": 2, "width_0": 256}, ["[0].width_0 is 256", "space.width [8, 128]"]),
    ({"depth": 2, "width_2": 16}, ["[0].width_2 is 16", "depth 2", "set depth: 3"]),
    ({"width_0": 16}, ["[0].width_0 is 16", "add depth: 1"]),
    ({"depth": 2.0}, ["[0].depth is 2.0", "an integer"]),
    ({"depth": 1, "l2": 1e-9}, ["[0].l2 is 1e-09", "0 (off) or a value in [1e-06, 0.001]"]),
    ({"depth": 1, "lr": 1e-2}, ["[0].lr is 0.01", "fixed at 0.001", "drop lr"]),
    ({"depth": 1, "activation": "tanh"}, ["[0].activation is 'tanh'",
                                          "space.activations ['relu', 'elu']"]),
    ({"depth": 1, "batch_norm": True}, ["[0].batch_norm is true", "space.batch_norm [false]"]),
    ({"depth": 1, "dropout": 0.9}, ["[0].dropout is 0.9", "outside space.dropout [0.1, 0.5]"]),
], ids=["depth", "width-range", "width-layer", "width-no-depth", "depth-float", "l2-on-range",
        "lr-fixed", "activation", "batch-norm", "dropout"])
def test_initial_point_outside_the_space_is_named(point: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({"space": POINT_SPACE, "search": {"initial_points": [{"depth": 1}, point]}})
    msg = str(err.value)
    assert msg.startswith("search.initial_points[1].")
    for word in words:
        assert word.replace("[0]", "[1]") in msg


def test_initial_points_inside_the_space_are_accepted() -> None:
    points = [{"depth": 3, "width_0": 64, "width_1": 32, "width_2": 32, "l2": 0,
               "activation": "elu"}, {"depth": 1, "l2": 1e-4, "lr": 1e-3}]
    cfg = from_dict({"space": POINT_SPACE, "search": {"initial_points": points}})
    assert cfg.search.initial_points == tuple(points)
    fixed = from_dict({"space": {"depth": [2, 2]},
                       "search": {"initial_points": [{"width_1": 16}]}})
    assert fixed.search.initial_points == ({"width_1": 16},)
