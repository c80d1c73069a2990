"""The thin CLI: each command's success path and its one-line errors (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from jetstudy.study.cli import main


def _one_line_error(capsys: pytest.CaptureFixture, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_synth_writes_real_format_files(tmp_path: Path, capsys) -> None:
    assert main(["synth", str(tmp_path / "jets"), "--jets", "2500", "--jets-per-file", "1000",
                 "--seed", "3"]) == 0
    files = sorted((tmp_path / "jets").glob("*.h5"))
    assert len(files) == 3
    with h5py.File(files[0]) as f:
        assert f["jets"].shape == (1000, 59)
    assert "2500 synthetic jets in 3 files" in capsys.readouterr().out


def test_synth_bad_count(tmp_path: Path, capsys) -> None:
    err = _one_line_error(capsys, main(["synth", str(tmp_path), "--jets", "0"]))
    assert "got 0" in err


def test_run_into_a_folder_that_cannot_be_made(capsys) -> None:
    err = _one_line_error(capsys, main(["run", "--set", "storage.results_dir=/proc/no/such",
                                        "--set", "data.synthetic_jets=1000"]))
    assert "/proc/no" in err and "storage.results_dir" in err


def test_report_of_a_missing_folder(tmp_path: Path, capsys) -> None:
    err = _one_line_error(capsys, main(["report", str(tmp_path / "absent")]))
    assert "absent" in err and "does not exist" in err


def test_report_of_a_table_with_the_wrong_suffix(tmp_path: Path, capsys) -> None:
    table = tmp_path / "trials.yaml"
    table.write_text("a: 1\n")
    err = _one_line_error(capsys, main(["report", str(table)]))
    assert ".parquet or .csv" in err


def test_run_with_a_config_file_that_does_not_exist(tmp_path: Path, capsys) -> None:
    err = _one_line_error(capsys, main(["run", str(tmp_path / "nope.yaml")]))
    assert "nope.yaml" in err and "configs/dryrun.yaml" in err
