"""Round 12, toolbox: what a physicist meets driving jetstudy from Python.

- The README's Python API block (``run_study``) let Optuna's INFO line "A new study created in
  Journal with name: jetstudy" through on stderr, which the command line keeps out; now the
  searcher keeps it out wherever the study is created, and leaves the user's own Optuna
  verbosity as it found it.
- ``jetstudy.study.export_meta`` imported ``jetstudy.analysis.size_answer``'s private
  ``_no_accuracy_words``: a seam between the packages that a rename inside analysis breaks
  silently. No module of one package imports another package's private name now.
"""

from __future__ import annotations

import ast
from pathlib import Path

import optuna
import pytest

from jetstudy.study.config import load_config
from jetstudy.study.searcher import make_searcher

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("study", "trainables", "analysis")


def test_creating_the_search_prints_no_optuna_info_line(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)  # Optuna's default, as a script has it
    try:
        make_searcher(load_config(None, []), tmp_path)
        out, err = capfd.readouterr()
        assert "A new study created" not in out + err
        assert optuna.logging.get_verbosity() == optuna.logging.INFO  # the user's, kept
    finally:
        optuna.logging.set_verbosity(before)
    assert (tmp_path / "optuna.journal").is_file()  # the study was created all the same


def _private_imports_across_packages() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                parts = node.module.split(".")
                if len(parts) < 2 or parts[0] != "jetstudy" or parts[1] == package:
                    continue
                found += [f"{path.relative_to(REPO)}: {node.module}.{alias.name}"
                          for alias in node.names if alias.name.startswith("_")
                          and not alias.name.startswith("__")]
    return found


def test_no_package_imports_another_packages_private_name() -> None:
    assert _private_imports_across_packages() == []
