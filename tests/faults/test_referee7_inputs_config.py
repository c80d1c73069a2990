"""Referee round 7, config: a split GPU above one (``gpus_per_trial: 1.5``) was refused only by
the cluster check (JETSTUDY_SKIP_RESOURCE_CHECK=1 let it reach Ray); ``rerun`` / ``run
--resume`` of a study a newer jetstudy wrote (a field this version does not know) said only
"not a field"; a ``search.initial_points`` activation spelt ``ReLU`` / ``'relu '`` / ``Tanh``
(or a batch norm ``'true'`` / 1) got no did-you-mean, where the space's own fields get one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.study.config import ConfigError, StudyConfig, from_dict
from jetstudy.study.paths import STUDY_MARK
from tests.faults.conftest import config_file_error, jetstudy_here, one_line_error


def _error(raw: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        from_dict(raw)
    return str(caught.value)


@pytest.mark.parametrize("gpus, fix", [(1.5, "set 1 or 2"), (3.25, "set 3 or 4"),
                                       (1.0001, "set 1 or 2")])
def test_a_split_gpu_above_one_is_refused_by_the_config(gpus: float, fix: str) -> None:
    error = _error({"resources": {"gpus_per_trial": gpus}})
    assert error.startswith(f"resources.gpus_per_trial is {gpus:g}") and fix in error, error
    assert "whole GPUs" in error, error


@pytest.mark.parametrize("gpus", [0.5, 1, 2, 4.0, 0.25])
def test_a_gpu_share_below_one_or_whole_gpus_are_read(gpus: float) -> None:
    assert from_dict({"resources": {"gpus_per_trial": gpus}}).resources.gpus_per_trial == gpus


def test_the_skipped_cluster_check_does_not_let_a_split_gpu_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JETSTUDY_SKIP_RESOURCE_CHECK", "1")
    config = tmp_path / "c.yaml"
    config.write_text("resources: {gpus_per_trial: 1.5}\nstorage: {results_dir: out}\n")
    err = one_line_error(jetstudy_here("run", config, cwd=tmp_path))
    assert "resources.gpus_per_trial is 1.5" in err and "set 1 or 2" in err, err
    assert not (tmp_path / "out").exists()


def _newer_study(folder: Path, version: str = "99.0.0") -> Path:
    """A study folder as a newer jetstudy writes it: a training field this one lacks."""
    folder.mkdir(parents=True)
    raw = StudyConfig().to_dict()
    raw["training"]["label_smoothing"] = 0.1
    raw["storage"] = {"results_dir": str(folder.parent), "name": folder.name}
    import yaml

    (folder / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    (folder / "provenance.json").write_text(json.dumps({"versions": {"jetstudy": version}}))
    (folder / STUDY_MARK).write_text("")
    return folder


def test_rerun_of_a_newer_study_says_to_update(tmp_path: Path) -> None:
    folder = _newer_study(tmp_path / "results" / "s")
    err = one_line_error(jetstudy_here("rerun", folder, cwd=tmp_path))
    assert "training.label_smoothing" in err and "jetstudy 99.0.0" in err, err
    assert "pip install -U" in err and "newer than this jetstudy" in err, err
    assert not (tmp_path / "results" / "s-rerun").exists()


def test_resume_of_a_newer_study_says_to_update(tmp_path: Path) -> None:
    folder = _newer_study(tmp_path / "results" / "s")
    config = tmp_path / "c.yaml"
    config.write_text(f"storage: {{results_dir: {folder.parent}, name: s}}\n")
    before = (folder / "config.yaml").read_bytes()
    err = one_line_error(jetstudy_here("run", config, "--resume", cwd=tmp_path))
    assert "training.label_smoothing" in err and "jetstudy 99.0.0" in err, err
    assert "pip install -U" in err, err
    assert (folder / "config.yaml").read_bytes() == before


def test_an_older_or_same_writer_keeps_the_plain_error(tmp_path: Path) -> None:
    folder = _newer_study(tmp_path / "results" / "s", version="0.0.1")
    err = one_line_error(jetstudy_here("rerun", folder, cwd=tmp_path))
    assert "not a field of 'training'" in err and "newer" not in err, err


@pytest.mark.parametrize("value, meant", [("ReLU", "'relu'"), ("relu ", "'relu'"),
                                          ("Tanh", "'tanh'"), ("TANH", "'tanh'")])
def test_an_initial_point_activation_gets_the_space_hint(value: str, meant: str) -> None:
    error = _error({"space": {"activations": ["relu", "tanh"]},
                    "search": {"initial_points": [{"depth": 2, "activation": value}]}})
    assert error.startswith("search.initial_points[0].activation"), error
    assert f"did you mean {meant}?" in error, error


def test_an_initial_point_activation_outside_the_space_says_to_add_it() -> None:
    error = _error({"space": {"activations": ["tanh"]},
                    "search": {"initial_points": [{"depth": 2, "activation": "Leaky-ReLU"}]}})
    assert "did you mean 'leaky_relu'?" in error and "add it to space.activations" in error


@pytest.mark.parametrize("value, word", [("true", "write true"), (1, "write true"),
                                         ("no", "write false")])
def test_an_initial_point_batch_norm_as_text_or_number_says_the_word(value: object,
                                                                     word: str) -> None:
    error = _error({"space": {"batch_norm": [False, True]},
                    "search": {"initial_points": [{"depth": 2, "batch_norm": value}]}})
    assert error.startswith("search.initial_points[0].batch_norm") and word in error, error


def _file_error(tmp_path: Path, text: str) -> str:
    return config_file_error(tmp_path, text)[1]


def test_a_base_60_float_is_refused_like_a_base_60_integer(tmp_path: Path) -> None:
    """YAML 1.1 read ``time_budget_s: 1:30.5`` as 90.5 s without a word (``1:30`` was refused)."""
    error = _file_error(tmp_path, "search: {time_budget_s: 1:30.5}\n")
    assert "1:30.5 (line 1) reads in YAML 1.1 as 90.5" in error and "base 60" in error, error


def test_a_quoted_base_60_text_and_a_plain_float_are_read(tmp_path: Path) -> None:
    from jetstudy.study.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("search: {time_budget_s: 90.5}\nstorage: {name: '1:30.5'}\n")
    cfg = load_config(path)
    assert cfg.search.time_budget_s == 90.5 and cfg.storage.name == "1:30.5"


@pytest.mark.parametrize("text, words", [
    ("space: {width: [08, 64]}\n", "08 has a leading 0"),
    ("search: {seed: 09}\n", "write 9"),
    ("search: {seed: 0o17}\n", "not the number 15: write 15"),
    ("search:\n  num_trials: 1,000\n", "write 1000"),
])
def test_a_number_yaml_keeps_as_text_says_why(tmp_path: Path, text: str, words: str) -> None:
    """'08' was called "quoted text" though the user wrote no quotes."""
    error = _file_error(tmp_path, text)
    assert words in error and "quoted" not in error, error


@pytest.mark.parametrize("text, shown", [("storage: {name: 2024-01-01}\n", "'2024-01-01'"),
                                         ("data: {path: 2024-01-01}\n", "'2024-01-01'")])
def test_a_date_looking_text_says_to_quote_it(tmp_path: Path, text: str, shown: str) -> None:
    error = _file_error(tmp_path, text)
    assert "as a date" in error and shown in error, error


@pytest.mark.parametrize("text, words", [("search: {yes: 3}\n", "yes/no/on/off"),
                                         ("search: {~: 3}\n", "YAML's null"),
                                         ("search: {1: 3}\n", "the int 1")])
def test_a_key_yaml_read_as_no_name_says_so(tmp_path: Path, text: str, words: str) -> None:
    error = _file_error(tmp_path, text)
    assert "is not a field of 'search'" in error and words in error, error


@pytest.mark.parametrize("name", ["~", "~study", "~root"])
def test_a_study_name_starting_with_a_tilde_is_refused(name: str) -> None:
    """A folder called '~' in results/: `rm -r ~` there removes the home folder."""
    from jetstudy.study.checks import folder_name_problem

    assert "'~'" in (folder_name_problem(name) or "")
    assert "'~'" in _error({"storage": {"name": name}})
    assert folder_name_problem("study~1") is None


def test_rerun_name_starting_with_a_tilde_is_refused(tmp_path: Path) -> None:
    folder = _newer_study(tmp_path / "results" / "s", version="0.0.1")
    err = one_line_error(jetstudy_here("rerun", folder, "--name", "~", cwd=tmp_path))
    assert "--name '~'" in err and "home folder" in err, err
    assert not (tmp_path / "results" / "~").exists()
