"""Referee round 6, command-line options: `synth --jets 1e5` (or 100k, 2.0) said only "invalid
int value: '1e5'" — now the whole number to write; `export --trial ' id '` (an id copied with
its spaces) was 'no such trial'."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from jetstudy.study.cli import main


def _parse_error(*args: str) -> str:
    """The ``error:`` line of a command line argparse refuses (exit status 2)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as stop:
        main(list(args))
    assert stop.value.code == 2
    (line,) = [x for x in err.getvalue().splitlines() if x.startswith("error: ")]
    return line


@pytest.mark.parametrize("flag, value, written", [
    ("--jets", "1e5", "write 100000"), ("--jets", "100k", "write 100000"),
    ("--jets-per-file", "2.0", "write 2"), ("--seed", "1.5", "'1.5' is not a whole number"),
])
def test_a_whole_number_written_otherwise_names_how_to_write_it(tmp_path: Path, flag: str,
                                                                value: str, written: str) -> None:
    line = _parse_error("synth", str(tmp_path / "d"), flag, value)
    assert f"argument {flag}" in line and written in line, line
    assert not (tmp_path / "d").exists()


def test_export_trial_id_with_spaces_is_the_id(tmp_path: Path, monkeypatch) -> None:
    import jetstudy.study.export as export

    seen = []

    class Done(Exception):
        pass

    def record(results, trial, out, force=False, allow_unfinished=False):
        seen.append(trial)
        raise Done

    monkeypatch.setattr(export, "export_model", record)  # only the argument check is tested
    with pytest.raises(Done):
        main(["export", str(tmp_path), "--trial", " 27728f99 "])
    assert seen == ["27728f99"]


def test_a_relative_data_path_beside_the_config_names_both_folders(tmp_path: Path) -> None:
    from tests.faults.conftest import refused_untouched, study_yaml

    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "jets.h5").write_bytes(b"user's jets")
    study_yaml(tmp_path / "study" / "c.yaml", "results", data={"path": "jets.h5"})
    line = refused_untouched(tmp_path, "run", "study/c.yaml",
                             must=["data.path 'jets.h5'", str(tmp_path / "study" / "jets.h5"),
                                   "not the config's", f"run jetstudy from {tmp_path / 'study'}"])
    assert str(tmp_path) in line, line


@pytest.mark.parametrize("args, flag", [
    (("synth", "$OUT_DIR"), "DIR '$OUT_DIR'"), (("init", "${HOME}/x"), "DIR '${HOME}/x'"),
    (("report", "$RESULTS"), "RESULTS '$RESULTS'"), (("run", "$CFG"), "CONFIG '$CFG'"),
])
def test_a_variable_in_a_path_argument_is_refused_before_any_folder_is_made(
        tmp_path: Path, args: tuple, flag: str) -> None:
    from tests.faults.conftest import refused_untouched

    refused_untouched(tmp_path, *args, must=[flag, "does not expand environment variables",
                                             "double quotes"])
