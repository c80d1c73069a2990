"""Round 11: ``jetstudy run --address A --set resources.address=B`` warned that "--set
resources.address is given twice" (the user gave ``--set`` once) and ran on B. Two addresses
are two clusters for one study, as any option given twice with two values (refused since
round 11, study/cli_parser.py): refused before any work, naming both; the same address twice
goes as one, without the warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jetstudy.study.cli import main
from jetstudy.study.config_file import apply_overrides


def test_two_addresses_are_refused_naming_both(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["run", "--address", "auto", "--set", "resources.address=ray://h:10001",
                     "--set", f"storage.results_dir={tmp_path / 'results'}"])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert "--address 'auto' and --set resources.address='ray://h:10001' name two Ray " \
        "clusters" in err, err
    assert "Traceback" not in err and "given twice (" not in err
    assert list(tmp_path.iterdir()) == []  # nothing made


@pytest.mark.parametrize("given", ["auto", "'auto'", " auto"])
def test_the_same_address_twice_goes_once_without_a_warning(
        given: str, caplog: pytest.LogCaptureFixture) -> None:
    from jetstudy.study.cli_run import _address_once

    overrides = _address_once("auto", ["search.num_trials=4", f"resources.address={given}"])
    assert overrides == ["search.num_trials=4", "resources.address=auto"]
    with caplog.at_level(logging.WARNING):
        raw = apply_overrides({}, overrides)
    assert raw["resources"]["address"] == "auto"
    assert "given twice" not in caplog.text
