"""Bad config files, command lines and results folders, run as a user would: exit status 2,
one ``error:`` line naming the value and the fix, no traceback, nothing written, no user file
changed. Only kinds not covered by tests/study/test_config.py and the other fault tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import (checksums, jetstudy, jetstudy_here, one_line_error, plant,
                                   study_yaml)

#: config text -> what the one error line must say
BAD_CONFIGS: dict[str, tuple[str, list[str]]] = {
    "duplicate_field": ("search:\n  num_trials: 0\n  num_trials: 2\n",
                        ["c.yaml", "'num_trials' is given twice", "lines 2 and 3",
                         "keep one"]),
    "duplicate_section": ("search:\n  num_trials: 4\nscheduler: {}\nsearch:\n  seed: 1\n",
                          ["c.yaml", "'search' is given twice", "lines 1 and 4"]),
    "seed_past_2_32": ("search:\n  seed: 4294967296\n",
                       ["search.seed", "<= 4294967295", "got 4294967296", "set e.g. 0"]),
    "split_seed_huge": ("data:\n  split_seed: 99999999999999999999\n",
                        ["data.split_seed", "<= 4294967295", "99999999999999999999"]),
    "synthetic_jets_huge": ("data:\n  synthetic_jets: 100000000000\n",
                            ["data.synthetic_jets", "<= 10000000", "got 100000000000"]),
    "two_documents": ("search:\n  num_trials: 12\n---\nsearch:\n  seed: 1\n",
                      ["c.yaml", "more than one YAML document", "line 3", "keep one"]),
    "binary_value": ("search:\n  seed: !!binary aGVsbG8=\n", ["search.seed", "b'hello'"]),
    "misspelt_field": ("search:\n  num_trails: 8\n",
                       ["search.num_trails", "did you mean search.num_trials?"]),
    "field_prefix": ("scheduler:\n  grace: 2\n", ["did you mean scheduler.grace_period?"]),
    "misspelt_section": ("serch:\n  num_trials: 8\n", ["'serch'", "did you mean 'search'?"]),
    "field_in_another_section": ("search:\n  max_epochs: 8\n",
                                 ["search.max_epochs", "write scheduler.max_epochs"]),
    "field_without_section": ("num_trials: 8\n", ["'num_trials'", "write search.num_trials"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_gets_one_clear_error(case: str, workdir: Path) -> None:
    text, must = BAD_CONFIGS[case]
    (workdir / "c.yaml").write_text(text)
    before = checksums(workdir)
    for command in ("config", "run"):
        err = one_line_error(jetstudy_here(command, "c.yaml", cwd=workdir))
        for words in must:
            assert words in err, (words, err)
    assert checksums(workdir) == before


def test_yaml_merge_keys_are_not_duplicates(workdir: Path) -> None:
    """``<<: *defaults`` repeats keys on purpose; only a key written twice is refused."""
    from jetstudy.study.config import load_config

    (workdir / "c.yaml").write_text("search: &s {num_trials: 12, max_concurrent: 1}\n"
                                    "scheduler:\n  max_epochs: 4\n")
    assert load_config(workdir / "c.yaml").search.num_trials == 12


def test_synth_refuses_more_jets_than_a_disk_holds(workdir: Path) -> None:
    """``--jets 10**11`` listed 10**7 file names before writing any: minutes of silence."""
    err = one_line_error(jetstudy_here("synth", "out", "--jets", "100000000000", cwd=workdir))
    assert "--jets must be an integer >= 1 and <= 10000000, got 100000000000" in err
    assert checksums(workdir) == {}


def test_a_key_twice_in_a_set_value_is_refused(workdir: Path) -> None:
    err = one_line_error(jetstudy_here(
        "config", "--set", "search.initial_points=[{depth: 1, depth: 2}]", cwd=workdir))
    assert "--set 'search.initial_points=" in err and "'depth' is given twice" in err
    assert checksums(workdir) == {}


@pytest.mark.parametrize("args, must", [
    (["run", "--bogus"], ["unrecognized arguments: --bogus", "jetstudy run --help"]),
    (["synth", "out", "--jets", "many"], ["--jets", "'many'", "jetstudy synth --help"]),
    (["fetch", "imagenet"], ["'imagenet'", "hls4ml", "jetstudy fetch --help"]),
    (["report"], ["RESULTS", "jetstudy report --help"]),
])
def test_command_line_mistakes_get_one_error_line(args: list[str], must: list[str],
                                                   workdir: Path) -> None:
    err = one_line_error(jetstudy(*args, cwd=workdir, timeout=60))
    for words in must:
        assert words in err, (words, err)
    assert checksums(workdir) == {}


@pytest.mark.parametrize("results_dir, must", [
    ("results", ["storage.results_dir 'results' is a file, not a folder"]),
    ("results/deeper", ["storage.results_dir 'results/deeper' cannot be a folder",
                        "results' above it is a file"]),
])
def test_results_dir_that_is_a_file_is_named_as_such(results_dir: str, must: list[str],
                                                     workdir: Path) -> None:
    plant(workdir, ["results"])  # the user's file called results
    study_yaml(workdir / "s.yaml", results_dir, "refereed")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", "s.yaml", cwd=workdir))
    for words in must:
        assert words in err, (words, err)
    assert "Not a directory" not in err
    assert checksums(workdir) == before


def test_a_path_under_a_file_says_so(workdir: Path) -> None:
    """The file system's ENOTDIR ("Not a directory") names the real problem: a part of the
    path is a file."""
    plant(workdir, ["notes.txt"])
    before = checksums(workdir)
    err = one_line_error(jetstudy("fetch", "hls4ml", "notes.txt/cache", cwd=workdir, timeout=60,
                                  env={"JETSTUDY_MIRROR": "http://127.0.0.1:9"}))
    assert "notes.txt/cache" in err and "a part of this path is a file, not a folder" in err
    assert checksums(workdir) == before


def test_an_empty_folder_of_the_users_stays_as_it_was(workdir: Path) -> None:
    """storage.name naming an empty folder the user made: a study that never starts (bad data)
    leaves it empty, without jetstudy's mark in it, and does not remove it."""
    (workdir / "results" / "mine").mkdir(parents=True)
    study_yaml(workdir / "s.yaml", "results", "mine")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=nope.h5",
                                       cwd=workdir))
    assert "nope.h5" in err
    assert checksums(workdir) == before  # no .jetstudy-study left in results/mine


@pytest.mark.parametrize("target", ["elsewhere.yaml", "missing.yaml"])
def test_init_never_writes_through_a_link(target: str, workdir: Path) -> None:
    """``jetstudy.yaml`` a link to another file (or to none yet): writing through it, even
    with --force, would change or create a file that is not the starter config."""
    plant(workdir, ["elsewhere.yaml"])
    (workdir / "jetstudy.yaml").symlink_to(target)
    before = checksums(workdir)
    for extra in ([], ["--force"]):
        err = one_line_error(jetstudy_here("init", ".", *extra, cwd=workdir))
        assert "jetstudy.yaml is a symbolic link" in err and "remove the link" in err
    assert checksums(workdir) == before
