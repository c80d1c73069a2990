"""storage.name (and rerun's --name) is one plain folder name: a leading '-' (read as an
option by ls, cd, rm) is refused too, and the message names the byte limit a too-long name
passes. Refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.checks import folder_name_problem
from tests.faults.conftest import plant, refused_untouched, study_yaml


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


def test_results_dir_inside_another_studys_own_folders_is_refused(workdir: Path) -> None:
    """results_dir = <study>/best ran a whole study there; best/ is replaced whole on that
    study's next evaluation, and the new study with it. trials/, data/, ray/ and hidden
    folders likewise: refused before anything is written. The study root itself is fine."""
    from jetstudy.study.paths import STUDY_MARK, study_folder

    study = workdir / "results" / "first"
    plant(study, ["config.yaml", STUDY_MARK, "best/model.pt", "trials/t1/state.pt"])
    config = study_yaml(workdir / "study.yaml", workdir / "results")
    for part in ("best", "trials", ".hidden"):
        refused_untouched(workdir, "run", config.name, "--set",
                          f"storage.results_dir=results/first/{part}", "--set",
                          "storage.name=second", must=[f"results/first/{part}", f"{part}/",
                                                       "outside it"])
    assert study_folder(study, "second") == study.resolve() / "second"


def test_synth_fetch_init_into_a_studys_own_folders_are_refused(workdir: Path) -> None:
    """synth DIR / fetch DIR / init DIR inside <study>/best, data/, trials/: lost with best/ on the next
    evaluation, or read as (or refused as) the study's own jets. Refused, nothing written."""
    from jetstudy.study.paths import STUDY_MARK

    plant(workdir / "results" / "first", ["config.yaml", STUDY_MARK, "best/model.pt",
                                          "data/jets.h5"])
    for args in (("synth", "--jets", "1000", "results/first/best/more"),
                 ("synth", "--jets", "1000", "results/first/data"),
                 ("fetch", "hls4ml", "results/first/trials/cache"),
                 ("init", "results/first/best")):
        refused_untouched(workdir, *args, must=[args[-1], "outside it"])
