"""Referee round 8, config text: a thousands separator inside YAML's brackets split the number
without a word of why — ``{num_trials: 1,000}`` said "000 reads as octal 0", ``1,500`` "search.500
is not a field", ``width: [8, 1,024]`` the same octal line and ``[8, 1,500]`` "3 values"; and
``--set search.num_trials==3`` said "got '=3'" without naming the doubled '='."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import load_config
from tests.faults.conftest import checksums, jetstudy_here, one_line_error


@pytest.mark.parametrize("text, written, read, meant", [
    ("{search: {num_trials: 1,000}}", "1,000", "1 and a key 000", "write 1000"),
    ("search: {num_trials: 1,500, seed: 3}", "1,500", "1 and a key 500", "write 1500"),
    ("search: {num_trials: 1,000,000}", "1,000,000", "1 and a key 000", "write 1000000"),
    ("space:\n  width: [8, 1,024]\n", "1,024 (line 2)", "2 entries (1, 024)", "write 1024"),
    ("space:\n  width: [8, 1,500]\n", "1,500 (line 2)", "2 entries (1, 500)", "write 1500"),
    ("space:\n  width: [1,000]\n", "1,000", "2 entries (1, 000)", "write 1000"),
])
def test_a_thousands_separator_in_brackets_is_named(workdir: Path, text: str, written: str,
                                                    read: str, meant: str) -> None:
    (workdir / "c.yaml").write_text(text)
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("config", "c.yaml", cwd=workdir))
    assert f"{written}" in err and f"reads as {read}" in err and meant in err, err
    assert "thousands separator" in err and "octal" not in err and "not a field" not in err
    assert checksums(workdir) == before


def test_a_thousands_separator_in_a_set_value_is_named(workdir: Path) -> None:
    err = one_line_error(jetstudy_here("config", "--set", "space.width=[8, 1,024]",
                                       cwd=workdir))
    assert err.startswith("error: --set 'space.width=[8, 1,024]': 1,024") and "write 1024" in err


@pytest.mark.parametrize("text, field, value", [
    ("space: {width: [8,256]}\n", "width", (8, 256)),   # a range written tight stays a range
    ("space:\n  width: [16,1024]\n", "width", (16, 1024)),
    ("search: {num_trials: 1000, seed: 3}\n", "num_trials", 1000),
])
def test_numbers_without_a_separator_still_read(workdir: Path, text: str, field: str,
                                                value: object) -> None:
    (workdir / "c.yaml").write_text(text)
    cfg = load_config(workdir / "c.yaml")
    section = cfg.space if field == "width" else cfg.search
    assert getattr(section, field) == value


def test_a_doubled_equals_sign_in_set_is_named(workdir: Path) -> None:
    err = one_line_error(jetstudy_here("config", "--set", "search.num_trials==3", cwd=workdir))
    assert "--set 'search.num_trials==3' has '=='" in err, err
    assert "write --set search.num_trials=3" in err, err


def test_a_value_starting_with_equals_can_still_be_quoted(workdir: Path) -> None:
    cfg = load_config(None, ["storage.name='=x'"])
    assert cfg.storage.name == "=x"


@pytest.mark.parametrize("value, hint", [
    ("1 000", "a thousands separator (' ') makes it text: write 1000"),
    ("1'000", "a thousands separator (\"'\") makes it text: write 1000"),
    ("1\u00a0000\u00a0000", "makes it text: write 1000000"),  # a no-break space, as copied
])
def test_other_thousands_separators_are_named(workdir: Path, value: str, hint: str) -> None:
    """'1 000' (a space, as many languages write it) got only "got '1 000'"."""
    err = one_line_error(jetstudy_here("config", "--set", f"search.num_trials={value}",
                                       cwd=workdir))
    assert hint in err, err


@pytest.mark.parametrize("value", ["(1,4)", "(1, 4)"])
def test_a_range_in_parentheses_is_named(workdir: Path, value: str) -> None:
    """A tuple as Python writes it got no hint beside "got '(1,4)'"."""
    err = one_line_error(jetstudy_here("config", "--set", f"space.depth={value}", cwd=workdir))
    assert "written [1, 4] without quotes" in err, err


@pytest.mark.parametrize("text, said", [
    ("search:\n  num_trials: " + "9" * 5000 + "\n", "is a number of 5000 digits"),
    ("search: " + "[" * 3000 + "]" * 3000 + "\n", "nests lists or mappings deeper"),
    ("search:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(1500)),
     "nests lists or mappings deeper"),
])
def test_a_pasted_monster_is_one_error_not_a_traceback(workdir: Path, text: str,
                                                       said: str) -> None:
    """A 5000-digit number (Python reads 4300) and nesting a thousand levels deep (PyYAML
    reads by recursion) ended in ValueError / RecursionError tracebacks, exit 1."""
    (workdir / "c.yaml").write_text(text)
    err = one_line_error(jetstudy_here("config", "c.yaml", cwd=workdir))
    assert err.startswith("error: c.yaml: ") and said in err and len(err) < 400, err


@pytest.mark.parametrize("value, said", [
    ("9" * 5000, "is a number of 5000 digits"),
    ("[" * 3000 + "]" * 3000, "nests lists or mappings deeper"),
])
def test_a_pasted_monster_in_set_is_one_short_error(workdir: Path, value: str,
                                                    said: str) -> None:
    err = one_line_error(jetstudy_here("config", "--set", f"search.num_trials={value}",
                                       cwd=workdir))
    assert said in err and "characters)'" in err and len(err) < 600, err


@pytest.mark.parametrize("key", ["search." + "x" * 50_000, "x" * 50_000 + ".num_trials"])
def test_a_pasted_page_as_a_key_is_shown_cut_short(workdir: Path, key: str) -> None:
    """An unknown field or section name of 50,000 characters was printed whole."""
    err = one_line_error(jetstudy_here("config", "--set", f"{key}=3", cwd=workdir))
    assert "... (50000 characters)" in err and len(err) < 600, err
    assert "is not a field of 'search'" in err or "is not a config section" in err, err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_config_that_is_a_pipe_or_device_says_so(workdir: Path, kind: str) -> None:
    """A FIFO (a shell's <(...)) or /dev/null as CONFIG was 'not readable', which it is."""
    import os

    path = "/dev/null"
    if kind == "fifo":
        os.mkfifo(workdir / "c.yaml")
        path = "c.yaml"
    err = one_line_error(jetstudy_here("config", path, cwd=workdir))
    assert f"config file '{path}' is a pipe, socket or device, not a file" in err, err


@pytest.mark.parametrize("text, hint", [
    ("search: num_trials=3\n", "write 'num_trials: 3', with ': ', not '='"),
    ("search:\n  num_trials = 3\n", "write 'num_trials: 3', with ': ', not '='"),
    ("search:\n  num_trials:3\n", "write 'num_trials: 3', with a space after ':'"),
    ("search:\n  time_budget_s: None\n", "None is text in YAML, which writes no value as "
     "null: write null"),
])
def test_python_habits_in_yaml_are_named(workdir: Path, text: str, hint: str) -> None:
    """'num_trials=3', 'num_trials:3' (one string to YAML) got only "search must be a mapping
    of fields, got 'num_trials=3'"; None (text to YAML) only "got 'None'"."""
    (workdir / "c.yaml").write_text(text)
    err = one_line_error(jetstudy_here("config", "c.yaml", cwd=workdir))
    assert hint in err, err
