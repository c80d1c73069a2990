"""Referee round 7, command-line choices: a subcommand, fetch's dataset or init's --example
written in capitals, with a space, by another name (openml, 42468, train, resume) or one
letter off got argparse's bare 'invalid choice', where a config choice says what was meant."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import argparse_refusal, checksums, jetstudy, one_line_error


@pytest.mark.parametrize("args, meant", [
    (["fetch", "HLS4ML"], "'hls4ml'"),
    (["fetch", "hls4ml "], "'hls4ml'"),
    (["fetch", "openml"], "'hls4ml'"),
    (["fetch", "42468"], "'hls4ml'"),
    (["init", "x", "--example", "Dryrun"], "'dryrun'"),
    (["init", "x", "--example", "full "], "'full'"),
    (["reprot", "x"], "'report'"),
    (["train", "x.yaml"], "'run'"),
    (["resume"], "'run --resume'"),
])
def test_a_near_miss_choice_on_the_command_line_says_what_was_meant(
        capsys: pytest.CaptureFixture[str], args: list[str], meant: str) -> None:
    err = argparse_refusal(args, capsys)[0]
    assert "invalid choice" in err and f"(did you mean {meant}?)" in err, err


def test_a_choice_with_nothing_near_gets_no_guess(capsys: pytest.CaptureFixture[str]) -> None:
    err = argparse_refusal(["init", "x", "--example", "demo"], capsys)[0]
    assert "invalid choice: 'demo'" in err and "did you mean" not in err, err


def test_fetch_by_the_openml_name_through_the_command_line(tmp_path: Path) -> None:
    """The user's path: nothing fetched, nothing written, the dataset named."""
    err = one_line_error(jetstudy("fetch", "hls4ml_lhc_jets_hlf", cwd=tmp_path,
                                  env={"JETSTUDY_DATA": str(tmp_path / "cache")}, timeout=60))
    assert "(did you mean 'hls4ml'?)" in err, err
    assert checksums(tmp_path) == {}
