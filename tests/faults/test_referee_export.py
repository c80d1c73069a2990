"""``jetstudy export`` on a damaged study folder (a file edited by hand, a copy that stopped
halfway): exit status 2, one ``error:`` line naming the damaged file and the fix, no
traceback, and no ``export/`` folder left behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests.faults.conftest import checksums, jetstudy_here, one_line_error


def scaler_features_not_a_list(study: Path) -> None:
    (study / "scaler.json").write_text('{"features": 1, "mean": [], "std": []}')


def scaler_zero_std(study: Path) -> None:
    scaler = json.loads((study / "scaler.json").read_text())
    scaler["std"][2] = 0.0
    (study / "scaler.json").write_text(json.dumps(scaler))


def scaler_not_json(study: Path) -> None:
    (study / "scaler.json").write_text("{ half a file")


def config_not_yaml(study: Path) -> None:
    (study / "config.yaml").write_text("search: [\n  - {\n")


def config_a_list(study: Path) -> None:
    (study / "config.yaml").write_text("- data\n- space\n")


def best_model_of_another_program(study: Path) -> None:
    import torch

    torch.save({"weights": torch.zeros(3)}, study / "best" / "model.pt")


#: case -> what the one error line must say
CASES: dict[Callable[[Path], None], list[str]] = {
    scaler_features_not_a_list: ["scaler.json is damaged", "features", "rerun the study"],
    scaler_zero_std: ["scaler.json is damaged", "`std` holds a value <= 0"],
    scaler_not_json: ["scaler.json is damaged", "not a JSON object"],
    config_not_yaml: ["config.yaml cannot be read as YAML", "restore it"],
    config_a_list: ["config.yaml is not a jetstudy config", "restore it"],
    best_model_of_another_program: ["best/model.pt is not a jetstudy best model",
                                    "arch, state_dict, trial_id", "--trial ID"],
}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_export_of_a_damaged_study_is_one_clear_error(case, finished_study,
                                                      tmp_path: Path) -> None:
    assert finished_study["proc"].returncode == 0, finished_study["proc"].stderr[-2000:]
    study = tmp_path / "study"
    shutil.copytree(finished_study["folder"], study, symlinks=True,
                    ignore=shutil.ignore_patterns("ray", "report", "export"))
    case(study)
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("export", study, cwd=tmp_path))
    for words in CASES[case]:
        assert words in err, (words, err)
    assert checksums(tmp_path) == before  # no export/ folder, nothing changed
