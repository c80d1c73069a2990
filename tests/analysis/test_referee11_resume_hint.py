"""Round 11: the report's resume command named only ``storage.name``, so it continued the
study only when typed in the folder the study was started from with a config whose
``storage.results_dir`` still pointed at it (a relative ``results`` read from another folder, or
a study moved to shared storage, made ``--resume`` look for another folder). With the study
folder known it now names that folder's parent as ``storage.results_dir`` (absolute); the
config those ``--set`` options give points at the study read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.sections import PARTS
from jetstudy.analysis.study_state import study_state
from jetstudy.analysis.tables import load_tables
from jetstudy.study.config_file import load_config

from tests.analysis.conftest import words_only


def _sets(line: str) -> list[str]:
    """The ``--set`` values of the backquoted ``jetstudy run`` command in ``line``."""
    (command,) = re.findall(r"`(jetstudy run [^`]*)`", line)
    words = shlex.split(command.replace("<config>", "CONFIG"))
    return [words[i + 1] for i, w in enumerate(words) if w == "--set"]


def _study_path(sets: list[str]) -> Path:
    """Where ``jetstudy run --resume`` with these options looks: results_dir / name."""
    cfg = load_config(None, sets)
    return Path(cfg.storage.results_dir) / cfg.storage.name


def test_the_outcomes_resume_command_points_at_the_study_read(
        tmp_path: Path, make_study, write_study, monkeypatch: pytest.MonkeyPatch) -> None:
    trials, epochs = make_study(n_trials=6, seed=15)
    trials = trials.copy()
    trials.loc[trials.index[-1:], ["status", "stop_reason"]] = "interrupted"
    folder = write_study(tmp_path / "shared space" / "moved", trials, epochs, name="moved")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the report is written from another folder
    state = words_only(load_tables(folder))
    for name, part in PARTS:
        if name == "outcomes":
            state.attempt(name, lambda part=part: part(state))
    (outcomes,) = [s for s in state.sections if s.title == "Outcomes"]
    (line,) = [x for x in outcomes.lines if "--resume" in x]
    assert _study_path(_sets(line)).resolve() == folder.resolve(), line


def test_a_lone_table_keeps_the_placeholder_command() -> None:
    """Without a study folder no results_dir is named (none is known)."""
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "interrupted"],
                           "stop_reason": ["max_epochs", "interrupted"]})
    (line,) = study_state(trials, None).lines
    assert "storage.results_dir" not in line
    assert "--set storage.name=<the study's folder name> --resume" in line


def test_a_study_without_a_table_yet_names_its_own_folder(tmp_path: Path) -> None:
    folder = tmp_path / "with space" / "young"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("storage:\n  name: young\n")
    with pytest.raises(AnalysisError) as raised:
        load_tables(folder)
    assert _study_path(_sets(str(raised.value))).resolve() == folder.resolve(), raised.value
