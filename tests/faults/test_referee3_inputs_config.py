"""Config files and command-line values, round 3: what rounds 1-2 (test_referee_config.py,
test_referee2_inputs_config.py) let through or named wrongly. Pure ``load_config`` calls where
that is the whole path; the CLI in-process (``jetstudy_here``) where the option is the CLI's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jetstudy.study.config import StudyConfig, load_config
from jetstudy.trainables.errors import ConfigError
from tests.faults.conftest import checksums, config_file_error, jetstudy_here, one_line_error

# YAML 1.1 numbers that read as something else than written: 010 is octal 8, 1:30 is 90
READ_OTHERWISE = {
    "octal_in_file": ("search:\n  num_trials: 010\n", ["010 (line 2)", "as 8", "octal",
                                                       "e.g. 10"]),
    "octal_in_a_list": ("space:\n  depth: [1, 06]\n", ["06 (line 2)", "as 6", "octal"]),
    "base_60": ("search:\n  time_budget_s: 1:30\n", ["1:30 (line 2)", "as 90", "base 60",
                                                     "e.g. 90"]),
}


@pytest.mark.parametrize("case", READ_OTHERWISE, ids=list(READ_OTHERWISE))
def test_numbers_yaml_reads_otherwise_are_refused(case: str, tmp_path: Path) -> None:
    """A seed 0042 became 34 and a budget 1:30 became 90 s without a word."""
    text, parts = READ_OTHERWISE[case]
    path, error = config_file_error(tmp_path, text)
    for part in [str(path), *parts]:
        assert part in error, error


def test_an_octal_looking_set_value_is_refused_and_plain_numbers_still_read() -> None:
    with pytest.raises(ConfigError, match=r"search\.seed=0042.*as 34 \(octal"):
        load_config(None, ["search.seed=0042"])
    cfg = load_config(None, ["search.seed=0", "search.num_trials=1_000", "data.max_jets=256",
                             "storage.name='0042'"])
    assert (cfg.search.seed, cfg.search.num_trials, cfg.data.max_jets) == (0, 1000, 256)
    assert cfg.storage.name == "0042"
    # hexadecimal read as another number too (round 11): refused like octal
    with pytest.raises(ConfigError, match=r"data\.max_jets=0x100.*as 256 \(hexadecimal"):
        load_config(None, ["data.max_jets=0x100"])


HUGE = ["search.num_trials=99999999999999999999", "search.max_concurrent=10000000",
        "scheduler.max_epochs=1e12", "training.batch_size=99999999999999",
        "training.torch_threads=100000", "resources.num_cpus=99999999999",
        "resources.pack_size=99999999999", "search.time_budget_s=1e300",
        "resources.cpus_per_trial=1e300", "data.max_jets=1e30"]


@pytest.mark.parametrize("item", HUGE)
def test_a_huge_number_is_refused_with_the_limit(item: str) -> None:
    """No upper bound: 99999999999999999999 trials or threads went on to overflow in Ray or
    torch (or to start that many threads)."""
    field = item.split("=")[0]
    with pytest.raises(ConfigError) as refused:
        load_config(None, [item])
    message = str(refused.value)
    assert message.startswith(f"{field} must be") and "the most jetstudy takes here" in message
    assert "set e.g." in message


def test_the_largest_sensible_values_still_load() -> None:
    cfg = load_config(None, ["search.num_trials=1000000", "training.torch_threads=1024",
                             "data.max_jets=880000", "search.time_budget_s=86400"])
    assert cfg.search.num_trials == 1_000_000 and cfg.training.torch_threads == 1024


@pytest.mark.parametrize("text", ["", "# all\n# commented out\n", "\n\n"])
def test_an_empty_config_file_says_it_runs_the_defaults(text: str, tmp_path: Path,
                                                        caplog) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="jetstudy.study.config"):
        assert load_config(path) == StudyConfig()
    assert any("holds no fields" in r.getMessage() and str(path) in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("raw, parts", [
    (b"data:\n  path: caf\xe9.h5\n", ["not UTF-8", "0xe9 at line 2", "save the file as UTF-8"]),
    (b"\xff\xfed\x00a\x00", ["not UTF-8", "UTF-16", "byte-order mark"]),
    (b"data:\n  path: a\x00b\n", ["control character", "NUL"]),
], ids=["latin-1", "utf-16", "nul-byte"])
def test_a_config_that_is_not_utf8_text_says_where(raw: bytes, parts: list[str],
                                                   tmp_path: Path) -> None:
    """A Latin-1 file was 'not a text file'; a NUL byte was 'not valid YAML; fix the
    syntax (indentation, ...)'."""
    _, error = config_file_error(tmp_path, raw)
    for part in parts:
        assert part in error, error


@pytest.mark.parametrize("argv, parts", [
    (["run", ""], ["config file's path is empty", "leave CONFIG out"]),
    (["config", ""], ["config file's path is empty"]),
    (["run", "--address", ""], ["--address is ''", "--address auto", "leave --address out"]),
    (["run", "--address", "  "], ["--address is '  '"]),
], ids=["run-empty-config", "config-empty-config", "empty-address", "blank-address"])
def test_empty_cli_values_are_refused_not_read_as_defaults(argv: list[str], parts: list[str],
                                                           tmp_path: Path) -> None:
    """`run ''` said "config file '.' is a folder"; `run --address ''` ran a whole study on
    this machine (an empty address was read as none)."""
    error = one_line_error(jetstudy_here(*argv, cwd=tmp_path))
    for part in parts:
        assert part in error, error
    assert checksums(tmp_path) == {}  # nothing written


@pytest.mark.parametrize("value, parts", [
    ("[{depht: 3}]", ["entry [0] has the unknown key 'depht'", "did you mean depth?"]),
    ("[{depth:3}]", ["unknown key 'depth:3'", "a space after ':'"]),
    ("[{depth: 3, width_0: .nan}]", ["entry [0]: width_0 is .nan", "finite"]),
    ("[{depth: 2}, {}]", ["entry [1] is empty"]),
    ("[{depth: 2, activation: [relu]}]", ["activation is ['relu']"]),
], ids=["misspelt-key", "no-space-after-colon", "nan", "empty-entry", "list-value"])
def test_a_bad_initial_point_names_its_entry_and_the_problem(value: str,
                                                             parts: list[str]) -> None:
    """The message listed all 23 allowed keys and the whole value, never which entry or key
    was wrong."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"search.initial_points={value}"])
    message = str(refused.value)
    assert message.startswith("search.initial_points must be")
    for part in parts:
        assert part in message, message


@pytest.mark.parametrize("text, parts", [
    ("data:\n  path: |\n    jets.h5\n", ["data.path is 'jets.h5\\n'", "control character",
                                           "write it on one line"]),
    ("storage:\n  results_dir: \"res\\tults\"\n", ["storage.results_dir", "'\\t'"]),
    ("data:\n  max_jets: *many\n", ["the alias *many at line 2 names no anchor", "&many"]),
], ids=["path-block-scalar", "tab-in-results-dir", "undefined-alias"])
def test_paths_with_line_breaks_and_undefined_aliases(text: str, parts: list[str],
                                                       tmp_path: Path) -> None:
    """'path: |' kept a line break in the path ('jets.h5\\n: no such file' later, the break
    invisible); an alias without anchor was 'not valid YAML; fix the indentation'."""
    _, error = config_file_error(tmp_path, text)
    for part in parts:
        assert part in error, error


@pytest.mark.parametrize("item, hint", [
    ("DATA.path=x", "did you mean 'data'?"),
    ("search.NUM_TRIALS=3", "did you mean search.num_trials?"),
    ("search.num-trials=3", "did you mean search.num_trials?"),
], ids=["upper-section", "upper-field", "dash-field"])
def test_a_key_in_another_case_or_with_dashes_gets_its_did_you_mean(item: str,
                                                                    hint: str) -> None:
    """'DATA' and 'NUM_TRIALS' got no suggestion (difflib compares case-sensitively)."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [item])
    assert hint in str(refused.value), str(refused.value)


def test_a_yes_no_word_for_a_choice_says_yaml_made_it_true_or_false() -> None:
    """`data.format: on` said 'got true' with no word on where the true came from."""
    with pytest.raises(ConfigError, match=r"got true \(YAML reads yes/no/on/off as true/false"):
        load_config(None, ["data.format=on"])
    assert load_config(None, ["resources.pack_graphs=off"]).resources.pack_graphs == "off"


def test_a_set_value_that_is_only_a_yaml_comment_is_refused() -> None:
    """--set data.path=#x read as null: the study fell back to synthetic jets unseen (as the
    empty data.path did before round 1)."""
    with pytest.raises(ConfigError, match=r"'#x' reads as null in YAML \(a '#' starts a comment"):
        load_config(None, ["data.path=#x"])
    assert load_config(None, ["data.path=null"]).data.path is None
    assert load_config(None, ["data.path=jets#1.h5"]).data.path == "jets#1.h5"
