"""Referee 3 (toolbox): a ``jetstudy`` of the user's in the study's folder is refused.

Issue 11 moved study/trainables/analysis under one namespace so a user's package of those
names cannot shadow them; the namespace's own name was left: a ``jetstudy.py`` (a script named
after the tool) in the folder a study runs from is what Ray's workers import, and every trial
failed with "An unexpected internal error occurred while the worker was executing a task"
(reproduced with a real study before the fix). Now refused before anything starts, naming
the file and the fix; a harmless ``jetstudy/`` folder (configs, results) is not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.launch import run_study
from jetstudy.study.namespace import check_not_shadowed
from jetstudy.trainables.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_a_module_or_package_named_jetstudy_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "jetstudy.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"jetstudy\.py is a module named jetstudy .* rename"):
        check_not_shadowed(tmp_path / "a")
    (tmp_path / "b" / "jetstudy").mkdir(parents=True)
    (tmp_path / "b" / "jetstudy" / "__init__.py").write_text("")
    with pytest.raises(ConfigError, match="module named jetstudy"):
        check_not_shadowed(tmp_path / "b")


def test_a_jetstudy_folder_shadows_only_with_other_packages(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "jetstudy"  # the user's configs and results: harmless
    (plain / "results").mkdir(parents=True)
    (plain / "my.yaml").write_text("data: {}\n")
    check_not_shadowed(tmp_path / "plain")
    other = tmp_path / "clone" / "jetstudy" / "trainables"  # another version's code
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    with pytest.raises(ConfigError, match=r"would be jetstudy\.trainables for Ray's workers"):
        check_not_shadowed(tmp_path / "clone")
    check_not_shadowed(ROOT)  # the checkout itself (study/ at its top) is fine
    # a clone named jetstudy beside the folder the study runs from, the one in use (an
    # editable install of it): its packages are the ones in use, so not refused
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "jetstudy").symlink_to(ROOT, target_is_directory=True)
    check_not_shadowed(tmp_path / "home")
    check_not_shadowed(tmp_path)


def test_run_study_refuses_before_anything_starts(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jetstudy.py").write_text("print('the user script')\n")
    monkeypatch.chdir(tmp_path)
    cfg = from_dict({"storage": {"results_dir": str(tmp_path / "results"), "name": "s"}})
    with pytest.raises(ConfigError, match="jetstudy.py is a module named jetstudy"):
        run_study(cfg)
    assert not (tmp_path / "results").exists()  # no folder, no Ray
