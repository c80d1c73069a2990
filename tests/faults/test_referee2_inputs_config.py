"""Config values and command lines, round 2, as a user writes them: exit status 2 with one
``error:`` line naming the value and the fix (no traceback, nothing written), or the value
read as the user meant it. Only kinds round 1 (test_referee_config.py) and
tests/study/test_config.py do not cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import checksums, jetstudy, jetstudy_here, one_line_error, study_yaml


@pytest.mark.parametrize("text", ["off", "no", "'off'"])
def test_a_bare_off_is_the_word_off(text: str, workdir: Path) -> None:
    """YAML 1.1 reads `pack_graphs: off` (the README's own value) as false, which was refused:
    'must be one of auto, off, got false; set e.g. off'."""
    from jetstudy.study.config import load_config

    (workdir / "c.yaml").write_text(f"resources:\n  pack_graphs: {text}\n")
    assert load_config(workdir / "c.yaml").resources.pack_graphs == "off"
    assert load_config(None, [f"resources.pack_graphs={text}"]).resources.pack_graphs == "off"
    proc = jetstudy_here("config", "c.yaml", "--plain", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "pack_graphs: 'off'" in proc.stdout or "pack_graphs: off" in proc.stdout


def test_a_bare_on_is_still_refused_where_on_is_no_option(workdir: Path) -> None:
    err = one_line_error(jetstudy_here("config", "--set", "resources.pack_graphs=on",
                                       cwd=workdir))
    assert "resources.pack_graphs must be one of auto, off, got true" in err


#: --set arguments -> what the one error line must say
BAD_SETS: dict[str, list[str]] = {
    # YAML's null, not the shell's home folder: data.path=~ ran on synthetic jets
    "data.path=~": ["--set 'data.path=~'", "YAML's null", "not your home folder",
                    "data.path=null"],
    "storage.name=~": ["--set 'storage.name=~'", "YAML's null"],
    # environment variables: a folder literally called $HOME was made in the cwd
    "storage.results_dir=$HOME/results": ["storage.results_dir is '$HOME/results'",
                                          "does not expand environment variables ($HOME)",
                                          "double quotes"],
    "data.path=${DATA}/*.h5": ["data.path is '${DATA}/*.h5'", "(${DATA})", "write the path out"],
    # ints written the way physicists write them are floats in YAML
    "search.num_trials=1e3": ["search.num_trials must be an integer >= 1, got 1000.0",
                              "read as the float 1000.0", "e.g. 1000, not 1e3"],
    "data.max_jets=1e5": ["data.max_jets", "e.g. 100000"],
    "space.width=[8, 1e3]": ["space.width", "read as the float 1000.0"],
    # a scalar where a list goes, and a list where one path goes
    "space.depth=3": ["space.depth must be a range", "got 3", "a range of one: [3, 3]"],
    "data.path=[a.h5, b.h5]": ["data.path must be null or a non-empty string",
                               "put them in one folder", "a glob such as 'data/*.h5'"],
    "search.metric=[val_auc]": ["search.metric must be one of", "got [val_auc]",
                                "one value, not a list: write 'val_auc' without the brackets"],
    "data.path=[jets.h5]": ["data.path", "write 'jets.h5' without the brackets"],
    "space.batch_norm=1": ["space.batch_norm must be a non-empty list of false, true",
                           "write [true] or [false, true], not 1 or 0"],
    "space.batch_norm=[0, 1]": ["not 1 or 0"],
    # --set shapes: a section, a field of a field
    "search=3": ["--set 'search=3'", "'search' is a section", "one at a time"],
    "search.num_trials.x=3": ["search.num_trials is a field, not a section",
                              "--set space.depth=[2,4]"],
    "space.depth.0=3": ["space.depth is a field, not a section"],
    "num_trials=3": ["'num_trials' is a field of 'search': write search.num_trials=..."],
}


@pytest.mark.parametrize("item", list(BAD_SETS))
def test_bad_set_gets_one_clear_error(item: str, workdir: Path) -> None:
    study_yaml(workdir / "s.yaml", "results", "refereed")
    before = checksums(workdir)
    for command in ("config", "run"):
        err = one_line_error(jetstudy_here(command, "s.yaml", "--set", item, cwd=workdir))
        for words in BAD_SETS[item]:
            assert words in err, (words, err)
    assert checksums(workdir) == before


def test_env_vars_in_the_yaml_file_are_refused_too(workdir: Path) -> None:
    study_yaml(workdir / "s.yaml", "$HOME/results", "refereed")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", "s.yaml", cwd=workdir))
    assert "storage.results_dir is '$HOME/results'" in err
    assert checksums(workdir) == before  # no folder called $HOME


def test_tilde_in_paths_is_the_home_folder(workdir: Path, monkeypatch) -> None:
    """`~/...` is expanded in data.path (a missing file is named with its real path) and the
    config keeps what the user wrote."""
    monkeypatch.setenv("HOME", str(workdir))
    study_yaml(workdir / "s.yaml", "results", "refereed")
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=~/nope.h5",
                                       cwd=workdir))
    assert "~/nope.h5" in err and "no such file" in err


def test_a_long_value_is_shortened_in_the_message(workdir: Path) -> None:
    long = "x" * 50_000
    err = one_line_error(jetstudy_here("config", "--set", f"data.format={long}", cwd=workdir))
    assert "data.format must be one of auto, hdf5, table" in err
    assert "(50002 characters)" in err and len(err) < 600


def test_a_huge_max_concurrent_is_a_warning_not_a_traceback(workdir: Path) -> None:
    """search.max_concurrent 100000 with 64 trials: the warning's search for a num_trials that
    would be guided enough ran out of its range (StopIteration, exit 1)."""
    proc = jetstudy_here("config", "--set", "search.max_concurrent=100000", "--plain",
                         cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "max_concurrent: 100000" in proc.stdout
    from jetstudy.study.config import load_config

    (warning,) = load_config(None, ["search.max_concurrent=100000"]).warnings
    assert "search.max_concurrent is 100000" in warning
    assert "set search.num_trials to at least 399995" in warning


def test_a_key_set_twice_says_the_last_one_wins(workdir: Path) -> None:
    proc = jetstudy("config", "--plain", "--set", "search.num_trials=3", "--set",
                    "search.num_trials=5", cwd=workdir, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "num_trials: 5" in proc.stdout
    assert ("--set search.num_trials is given twice ('3', then '5'): the last one, '5', is used"
            in proc.stderr)
    assert "Traceback" not in proc.stderr


_BOMB = ("search:\n  seed: [&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], "
         + ", ".join(f"&{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi"))
         + "]\n")

#: config text -> what the one error line must say
BAD_FILES: dict[str, tuple[str, list[str]]] = {
    # a few lines of YAML aliases standing for 9**9 strings: the message's repr took minutes
    # and gigabytes (one level less: 16 s and a 351 MB error line)
    "alias_bomb": (_BOMB, ["search.seed must be an integer", "...", "characters)"]),
    "python_tag": ("search:\n  seed: !!python/name:os.system\n",
                   ["c.yaml", "python/name:os.system", "line 2", "plain values",
                    "remove the tag"]),
    "tab_indent": ("search:\n\tnum_trials: 3\n", ["c.yaml", "a tab character at line 2",
                                                  "indents with spaces"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_config_file_gets_one_clear_error(case: str, workdir: Path) -> None:
    import time

    text, must = BAD_FILES[case]
    (workdir / "c.yaml").write_text(text)
    before = checksums(workdir)
    started = time.monotonic()
    err = one_line_error(jetstudy_here("config", "c.yaml", cwd=workdir))
    assert time.monotonic() - started < 10
    for words in must:
        assert words in err, (words, err)
    assert len(err) < 800 and "(indentation, ':' after each field)" not in err
    assert checksums(workdir) == before
