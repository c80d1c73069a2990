"""storage.name (and rerun's --name) is one plain folder name: a leading '-' (read as an
option by ls, cd, rm) is refused too, and the message names the byte limit a too-long name
passes. Refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.checks import folder_name_problem
from tests.faults.conftest import refused_untouched, study_yaml


@pytest.mark.parametrize("name", ["-x", "--resume", "-"])
def test_a_leading_dash_is_no_folder_name(name: str) -> None:
    assert "'-'" in (folder_name_problem(name) or "")


def test_names_refused_by_run_say_why(workdir: Path) -> None:
    config = study_yaml(workdir / "study.yaml", workdir / "results")
    for name, words in (("-x", "not starting with '.' or '-'"), ("é" * 130, "255 bytes")):
        err = refused_untouched(workdir, "run", config.name, "--set", f"storage.name={name}",
                                must=["storage.name", words])
        assert "set e.g." in err
    assert folder_name_problem("ok-name_1 é") is None
