"""``report -o`` / ``export -o`` into a study's own sub-folders (best/ is replaced whole on the
next evaluation, data/ and trials/ are the study's, ray/ is Tune's, hidden names are
jetstudy's temporaries) are refused before anything is written: the output would be lost or
taken for the study's own files."""

from __future__ import annotations

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.report import write_report
from jetstudy.study.paths import STUDY_MARK, inside_study_part


@pytest.fixture(scope="module")
def study(tmp_path_factory, make_study, write_study):
    trials, epochs = make_study(n_trials=3, max_epochs=2, seed=1, asha=False)
    folder = write_study(tmp_path_factory.mktemp("r4p") / "tiny", trials, epochs)
    (folder / STUDY_MARK).write_text("")
    for part in ("best", "data", "trials"):
        (folder / part).mkdir(exist_ok=True)
    return folder


@pytest.mark.parametrize("inner", ["best/new", "data/sub", "trials/x/y", "ray/r", ".tmp/r"])
def test_report_into_a_study_part_is_refused_and_writes_nothing(study, inner) -> None:
    out = study / inner
    with pytest.raises(AnalysisError, match=r"inside the study folder .*own "
                       + inner.split("/")[0].replace(".", r"\.") + "/"):
        write_report(study, out)
    assert not out.exists()
    assert not (study / "report").exists()


def test_only_a_study_s_own_parts_count(study, tmp_path) -> None:
    assert inside_study_part(study / "best" / "new") == (study.resolve(), "best")
    assert inside_study_part(study / "export" / "abc") is None      # export's default place
    assert inside_study_part(study / "report") is None              # report's default place
    assert inside_study_part(study / "my-report") is None
    assert inside_study_part(study.parent / "elsewhere") is None
    plain = tmp_path / "project"                  # a user's folder with only a config.yaml
    (plain / "best").mkdir(parents=True)
    (plain / "config.yaml").write_text("{}\n")
    assert inside_study_part(plain / "best" / "x") is None
