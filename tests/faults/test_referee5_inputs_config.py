"""Referee round 5, config values at their legal edges: a value given as quoted text ("64",
"1e-3"), a YAML 1.1 boolean (yes/on) where a number goes and a choice list with one entry twice
were refused with a message that did not say what was wrong (`got [1e-3, 1e-2]` showed text
as numbers; `got true` for `yes`; `got [relu, relu]` without naming the repeat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import ConfigError, from_dict, load_config
from tests.faults.conftest import config_file_error


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        from_dict(raw)
    return str(caught.value)


def _set_error(override: str) -> str:
    """The ConfigError text of ``--set override`` on the defaults."""
    with pytest.raises(ConfigError) as caught:
        load_config(None, [override])
    return str(caught.value)


@pytest.mark.parametrize("raw, field, shown", [
    ({"space": {"lr": ["1e-3", "1e-2"]}}, "space.lr", "'1e-3'"),
    ({"training": {"batch_size": "64"}}, "training.batch_size", "'64'"),
    ({"data": {"val_fraction": "0.2"}}, "data.val_fraction", "'0.2'"),
    ({"space": {"width": ["8", 64]}}, "space.width", "'8'"),
])
def test_a_number_given_as_text_is_named_as_text(raw: dict, field: str, shown: str) -> None:
    error = _error(raw)
    assert error.startswith(field), error
    assert shown in error, error  # shown quoted, as written
    assert "quotes" in error, error  # the fix: write the number without quotes


def test_yaml_yes_where_a_number_goes_names_yaml_booleans(tmp_path: Path) -> None:
    _, error = config_file_error(tmp_path, "search:\n  num_trials: yes\n")
    assert "search.num_trials" in error and "yes/no/on/off" in error, error


@pytest.mark.parametrize("raw, field, twice", [
    ({"space": {"activations": ["relu", "elu", "relu"]}}, "space.activations", "relu"),
    ({"space": {"batch_norm": [True, True]}}, "space.batch_norm", "true"),
])
def test_a_choice_given_twice_is_named(raw: dict, field: str, twice: str) -> None:
    error = _error(raw)
    assert error.startswith(field) and f"{twice} is given twice" in error, error


def test_legal_edges_are_read_as_given(tmp_path: Path) -> None:
    """Equal bounds, one choice, YAML 1.1 on/off in the batch_norm list, 1_024, 1e-3 unquoted."""
    path = tmp_path / "c.yaml"
    path.write_text("space:\n  lr: [1e-3, 1e-3]\n  depth: [2, 2]\n  dropout: [0, 0]\n"
                    "  activations: [elu]\n  batch_norm: [on, off]\n"
                    "training:\n  batch_size: 1_024\n")
    cfg = load_config(path)
    assert cfg.space.lr == (1e-3, 1e-3) and cfg.space.depth == (2, 2)
    assert cfg.space.dropout == (0.0, 0.0) and cfg.space.activations == ("elu",)
    assert cfg.space.batch_norm == (True, False) and cfg.training.batch_size == 1024


@pytest.mark.parametrize("override, words", [
    ("storage.name=no", "YAML reads yes/no/on/off as true/false: quote"),
    ("data.path=on", "YAML reads yes/no/on/off as true/false: quote"),
    ("storage.name=2024", "read as the number 2024: quote it"),
    ("scheduler.type=FIFO", "write 'fifo'"),
    ("data.format=Table", "write 'table'"),
])
def test_set_values_yaml_reads_otherwise_say_how_to_write_them(override: str,
                                                               words: str) -> None:
    error = _set_error(override)
    assert error.startswith(override.split("=")[0]) and words in error, error


@pytest.mark.parametrize("value, n", [("[8, 16, 32]", 3), ("[8]", 1), ("[]", 0)])
def test_a_range_of_other_than_two_values_says_so(value: str, n: int) -> None:
    error = _set_error(f"space.width={value}")
    assert error.startswith("space.width") and f"({n} values: a range is two" in error, error


@pytest.mark.parametrize("override, meant", [
    ("search.max_epoch=3", "did you mean scheduler.max_epochs?"),
    ("data.batchsize=3", "did you mean training.batch_size?"),
    ("max_epoch=3", "did you mean scheduler.max_epochs=...?"),
])
def test_a_misspelt_field_of_another_section_is_named_with_its_section(override: str,
                                                                        meant: str) -> None:
    error = _set_error(override)
    assert meant in error, error


def test_a_misspelt_field_in_a_config_file_too(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  num_trial: 3\n")
    with pytest.raises(ConfigError, match=r"training\.num_trial .*did you mean search\.num_trials"):
        load_config(path)


@pytest.mark.parametrize("override", ["data.path=data/run: 1.h5", "storage.name=run: 1"])
def test_a_colon_and_space_in_a_text_value_says_to_quote_it(override: str) -> None:
    error = _set_error(override)
    assert error.startswith(override.split("=")[0]) and "as a mapping: quote" in error, error


def test_batch_norm_given_as_quoted_words_says_so() -> None:
    error = _error({"space": {"batch_norm": ["false", "true"]}})
    assert error.startswith("space.batch_norm") and "without quotes" in error, error
