"""A study without storage.name is named from the clock; a second study started in the same
second (two `jetstudy run` at once) gets its own folder (``-2``), never the first one's."""

from __future__ import annotations

import pytest

import jetstudy.study.prepare as prepare
from jetstudy.study.config import from_dict


@pytest.fixture
def one_second(monkeypatch):
    """Both starts fall in the same second (the clock, not the code under test, is fixed)."""
    monkeypatch.setattr(prepare.time, "strftime", lambda fmt, *a: "study-20261128-040000")


def test_same_second_studies_get_their_own_folders(tmp_path, one_second) -> None:
    cfg = from_dict({"storage": {"results_dir": str(tmp_path)}})
    first = prepare.results_folder(cfg)
    assert first.name == "study-20261128-040000"
    first.mkdir()
    second = prepare.results_folder(cfg)
    assert second.name == "study-20261128-040000-2"
    second.mkdir()
    assert prepare.results_folder(cfg).name == "study-20261128-040000-3"


def test_a_named_study_keeps_its_name_even_if_taken(tmp_path, one_second) -> None:
    cfg = from_dict({"storage": {"results_dir": str(tmp_path), "name": "mine"}})
    (tmp_path / "mine").mkdir()
    assert prepare.results_folder(cfg) == (tmp_path / "mine").resolve()
