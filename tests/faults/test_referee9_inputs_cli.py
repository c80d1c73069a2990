"""Referee round 9, command line: `jetstudy synth --jets 4` wrote 4 jets that no study can split
(5 classes, each in train, validation and test), and its line said "in 1 files"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import jetstudy_here, one_line_error


@pytest.mark.parametrize("jets", ["4", "99"])
def test_synth_with_too_few_jets_for_a_study_is_refused_before_writing(
        workdir: Path, jets: str) -> None:
    err = one_line_error(jetstudy_here("synth", "out", "--jets", jets, cwd=workdir))
    assert "--jets must be an integer >= 100" in err and f"got {jets}" in err, err
    assert "5 classes" in err and "--jets 200000" in err, err
    assert not (workdir / "out").exists()  # nothing half-written


def test_synth_into_one_file_says_file_not_files(workdir: Path) -> None:
    proc = jetstudy_here("synth", "out", "--jets", "100", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "wrote 100 synthetic jets in 1 file to out" in proc.stdout, proc.stdout


@pytest.mark.parametrize("given", ["", " "])
def test_export_with_an_empty_results_path_says_it_is_empty(workdir: Path, given: str) -> None:
    err = one_line_error(jetstudy_here("export", given, cwd=workdir))
    assert f"export RESULTS is empty ({given!r})" in err, err
    assert "'results: ...'" in err and "is not a jetstudy results folder" not in err, err


@pytest.mark.parametrize("given", ["", " "])
def test_rerun_with_an_empty_results_path_says_it_is_empty(workdir: Path, given: str) -> None:
    """As export: `jetstudy rerun ''` said '<cwd> is not a jetstudy results folder'."""
    err = one_line_error(jetstudy_here("rerun", given, cwd=workdir))
    assert f"rerun RESULTS is empty ({given!r})" in err, err
    assert "is not a jetstudy results folder" not in err, err
