"""A user's own packages named ``study``, ``trainables`` or ``analysis`` (generic names; packages
of those names exist on the package index) in the working folder do not affect a study:
jetstudy imports itself only as ``jetstudy.study``, ``jetstudy.trainables``,
``jetstudy.analysis``, in the driver and in Ray's workers alike.

Each shadowing package raises on import and leaves a marker file first, so an import of one of
them anywhere (driver, trial, pack, report) fails the study or leaves a trace.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.faults.conftest import jetstudy, study_yaml

pytestmark = pytest.mark.slow

SHADOWS = ("study", "trainables", "analysis")


def test_user_packages_with_jetstudys_old_names_do_not_affect_a_study(workdir) -> None:
    for name in SHADOWS:
        pkg = workdir / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text(
            "import pathlib\n"
            f"pathlib.Path(__file__).with_name('IMPORTED').write_text('{name}')\n"
            f"raise ImportError('the user\\'s own {name} package was imported')\n")
        (pkg / "errors.py").write_text("raise ImportError('user module')\n")
    config = study_yaml(workdir / "jetstudy.yaml", workdir / "results", "shadowed")
    # "-m" puts the working folder first on sys.path, as `ray job submit --working-dir .` does
    proc = jetstudy("run", config, "--no-figures", cwd=workdir, env={"PYTHONPATH": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = workdir / "results" / "shadowed"
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == 2 and set(trials["status"]) <= {"completed", "stopped"}
    assert (folder / "best" / "model.pt").is_file()
    assert (folder / "report" / "index.html").is_file()
    assert not [name for name in SHADOWS if (workdir / name / "IMPORTED").exists()]
