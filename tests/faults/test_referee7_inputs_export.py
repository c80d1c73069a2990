"""Referee round 7, ``export --trial``: an id in capitals or cut short (065FB39F, 065f) or a
trial number (the report numbers its trials) got only 'no such trial'."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.config import StudyConfig
from jetstudy.study.paths import STUDY_MARK
from jetstudy.trainables.schema import HLF_FEATURES
from tests.faults.conftest import checksums, jetstudy_here, one_line_error

IDS = ("065fb39f", "8a656595")


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "s"
    (folder / "trials").mkdir(parents=True)
    for trial in IDS:
        (folder / "trials" / trial).mkdir()
    (folder / "config.yaml").write_text(StudyConfig().to_yaml())
    (folder / STUDY_MARK).write_text("")
    (folder / "scaler.json").write_text(json.dumps(
        {"features": list(HLF_FEATURES), "mean": [0.0] * 16, "std": [1.0] * 16,
         "min": [-1.0] * 16, "max": [1.0] * 16}))
    pd.DataFrame({"trial_id": list(IDS), "trial_number": [0, 1]}).to_parquet(
        folder / "trials.parquet")
    return folder


@pytest.mark.parametrize("given, words", [("065FB39F", "did you mean '065fb39f'?"),
                                          ("8a65", "did you mean '8a656595'?"),
                                          ("1", "trial number 1 is '8a656595'")])
def test_a_near_miss_trial_says_which_was_meant(study: Path, given: str, words: str) -> None:
    before = checksums(study)
    err = one_line_error(jetstudy_here("export", study, "--trial", given, cwd=study.parent))
    assert f"--trial {given!r}: no such trial" in err and words in err, err
    assert checksums(study) == before


def test_a_trial_with_nothing_near_gets_no_guess(study: Path) -> None:
    err = one_line_error(jetstudy_here("export", study, "--trial", "7", cwd=study.parent))
    assert "no such trial" in err and "did you mean" not in err and "number" not in err, err
