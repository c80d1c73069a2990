"""Round 11 referee of bad input (issue 9's class): config values YAML 1.1 reads as another
number (hexadecimal, binary) or as text (a tab, a no-break space, a zero-width space around a
number), and a folder that takes no new files, each get one clear error naming the value,
the field or path, and the fix."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from jetstudy.study.config import load_config
from jetstudy.trainables.errors import ConfigError
from tests.faults.conftest import config_file_error, jetstudy_here, one_line_error

# --- numbers YAML 1.1 reads as another number ------------------------------------------------

#: (config text, what the error must say): each read silently as another number before.
READ_AS_ANOTHER = {
    "hex": ("search:\n  num_trials: 0x10\n",
            ["search.num_trials: 0x10 (line 2)", "as 16", "hexadecimal", "e.g. 16"]),
    "hex_negative": ("search:\n  seed: -0x1\n", ["search.seed: -0x1 (line 2)", "as -1"]),
    "binary_in_a_list": ("space:\n  width: [8, 0b100000000]\n",
                         ["space.width[1]: 0b100000000 (line 2)", "as 256", "binary",
                          "e.g. 256"]),
    "hex_under_a_merge_key": ("search:\n  <<: {max_concurrent: 0x2}\n",
                              ["search.max_concurrent: 0x2 (line 2)", "as 2"]),
    "octal_names_its_field": ("search:\n  num_trials: 8\n  seed: 010\n",
                              ["search.seed: 010 (line 3)", "as 8", "octal", "e.g. 10"]),
}


@pytest.mark.parametrize("case", READ_AS_ANOTHER, ids=list(READ_AS_ANOTHER))
def test_hex_and_binary_numbers_are_refused_naming_the_field(case: str, tmp_path: Path) -> None:
    """``num_trials: 0x10`` ran 16 trials and ``width: [8, 0b100000000]`` a width of 256
    without a word: a physicist writing 0x10 most likely erred (octal 010 and base-60 1:30
    were already refused, but their message named no field)."""
    text, parts = READ_AS_ANOTHER[case]
    path, error = config_file_error(tmp_path, text)
    for part in [str(path), *parts]:
        assert part in error, error


@pytest.mark.parametrize("item, parts", [
    ("search.num_trials=0x10", ["0x10 (line 1)", "as 16", "hexadecimal", "e.g. 16"]),
    ("space.depth=[1, 0x4]", ["space.depth[1]: 0x4", "as 4", "hexadecimal"]),
    ("data.max_jets=0b11111111111", ["as 2047", "binary"]),
])
def test_a_hex_or_binary_set_value_is_refused(item: str, parts: list[str]) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(None, [item])
    for part in [f"--set {item!r}", *parts]:
        assert part in str(refused.value), str(refused.value)


def test_what_reads_as_written_still_reads(tmp_path: Path) -> None:
    """The decision pinned: ``1_000`` is the thousand Python and YAML read; yes/no/on/off are
    true/false where a field takes true/false, and a choice that is such a word; a hex word
    quoted is text."""
    path = tmp_path / "c.yaml"
    path.write_text("search:\n  num_trials: 1_000\n  max_concurrent: 4\n"
                    "space:\n  batch_norm: [no, yes]\nresources:\n  pack_graphs: off\n"
                    "storage:\n  name: '0x10'\n")
    cfg = load_config(path)
    assert cfg.search.num_trials == 1000
    assert cfg.space.batch_norm == (False, True)
    assert cfg.resources.pack_graphs == "off"
    assert cfg.storage.name == "0x10"


# --- a number with a character YAML keeps ----------------------------------------------------

@pytest.mark.parametrize("value, words", [
    ("\t5", "'\\t5' starts with a tab"),
    ("\u00a05", "'\\xa05' starts with a no-break space"),
    ("5\u200b", "'5\\u200b' ends with zero width space (U+200B)"),
    ("\u20095", "starts with thin space (U+2009)"),
])
def test_a_number_with_a_tab_or_invisible_character_is_named_not_called_quoted(
        value: str, words: str) -> None:
    """``--set search.num_trials=<TAB>5`` was "quoted text, not a number: write the number
    without quotes" (there were no quotes), and a no-break space before 5 "written with digits
    of another script" (the digit was ASCII)."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"search.num_trials={value}"])
    text = str(refused.value)
    assert words in text and "write 5" in text, text
    assert "quoted" not in text and "another script" not in text, text


def test_the_same_in_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("search:\n  num_trials: \u00a064\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="starts with a no-break space.*write 64"):
        load_config(path)


# --- a folder that takes no new files --------------------------------------------------------

def test_a_refused_temporary_is_named_as_the_users_file(tmp_path: Path) -> None:
    """The atomic writer's temporary (``.jetstudy.yaml.<hex>.tmp``) is jetstudy's business: an
    error names the file the user asked for."""
    from jetstudy.study.os_errors import os_problem
    from jetstudy.trainables.atomic import temporary_name

    temporary = tmp_path / temporary_name("jetstudy.yaml")
    text = os_problem(OSError(errno.EACCES, os.strerror(errno.EACCES), str(temporary)))
    assert text.startswith(f"{tmp_path / 'jetstudy.yaml'}: "), text
    assert ".tmp" not in text, text
    text = os_problem(OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(temporary)))
    assert f"the folder {tmp_path} is there but takes no new files" in text, text
    missing = tmp_path / "gone" / temporary_name("x.json")  # its folder is missing: as before
    text = os_problem(OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(missing)))
    assert "takes no new files" not in text and "check that the path exists" in text, text


@pytest.mark.skipif(not os.path.isdir("/proc/sys"), reason="needs Linux's /proc")
def test_init_in_proc_names_the_users_path(tmp_path: Path) -> None:
    """``jetstudy init /proc/sys`` said 'error: /proc/sys/.jetstudy.yaml.e167cc7a45f1ba38.tmp:
    No such file or directory; check that the path exists' (the folder does exist)."""
    err = one_line_error(jetstudy_here("init", "/proc/sys", cwd=tmp_path))
    assert "/proc/sys/jetstudy.yaml: " in err and ".tmp" not in err, err
    assert "takes no new files" in err or "ermission denied" in err, err


@pytest.mark.parametrize("item, meant", [("search.seed=0X1F", 31), ("search.seed=0B11", 3),
                                         ("search.seed='0x1f'", 31)])
def test_hex_or_binary_kept_as_text_says_the_number(item: str, meant: int) -> None:
    """``0X1F`` (capital X: no YAML 1.1 number) was only "got '0X1F'", no word why."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [item])
    assert f"as text, not the number {meant}: write {meant}" in str(refused.value), \
        str(refused.value)


@pytest.mark.parametrize("value", ["'results '", "' results'"])
def test_a_results_dir_with_a_blank_at_an_end_is_refused(value: str) -> None:
    """``storage.results_dir: "results "`` (quoted, so YAML kept the blank) made a folder
    'results ' beside results/ without a word: ls shows it as 'results'."""
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"storage.results_dir={value}"])
    text = str(refused.value)
    assert f"storage.results_dir is {value}" in text and "results_dir: results" in text, text


@pytest.mark.skipif(not os.path.isdir("/proc/sys"), reason="needs Linux's /proc")
def test_synth_in_proc_names_the_users_folder(tmp_path: Path) -> None:
    """``jetstudy synth /proc/sys`` said 'error: /proc/sys/.jetstudy-synth-0pad74zd: No such
    file or directory; check that the path exists' (its hidden staging folder)."""
    err = one_line_error(jetstudy_here("synth", "/proc/sys", "--jets", "100", cwd=tmp_path))
    assert err.startswith("error: /proc/sys: ") and ".jetstudy-synth" not in err, err
    assert "the folder /proc/sys is there but takes no new files" in err, err


@pytest.mark.parametrize("text, words", [
    ("search:\n  num_trials:\t5\n", "a tab character at line 2, after 'num_trials:'"),
    ("search:\n  num_trials: 5\t# five\n", "a tab character at line 2, after 'num_trials: 5'"),
])
def test_a_tab_between_values_is_not_called_indentation(text: str, words: str,
                                                        tmp_path: Path) -> None:
    """``num_trials:<TAB>5`` was "YAML indents with spaces": the tab indents nothing."""
    _, message = config_file_error(tmp_path, text)
    assert words in message and "replace the tab with a space" in message, message
    assert "indents" not in message, message


def test_yes_or_no_in_a_list_of_words_is_named() -> None:
    """``space.activations: [relu, no]`` got "[relu, false]" with no word of why."""
    with pytest.raises(ConfigError, match=r"got \[relu, false\] \(YAML reads yes/no/on/off as "
                                          r"true/false"):
        load_config(None, ["space.activations=[relu, no]"])
