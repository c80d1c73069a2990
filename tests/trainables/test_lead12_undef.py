"""A jet marked ``j_undef = 1`` beside its one-hot class (Format A's 59th column; Format B
tables that keep it): the file contradicts itself. It was read as that class without a word;
now it is read so with a warning naming the count, the first row and the fix."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from jetstudy.trainables.data import load_jets
from jetstudy.trainables.schema import CLASSES, JET_FEATURE_NAMES
from tests.trainables.test_data import jets_matrix, make_jets, write_format_a


def test_a_class_marked_undefined_too_is_said(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    x, y = make_jets(20)
    data = jets_matrix(x, y)
    data[[4, 7], JET_FEATURE_NAMES.index("j_undef")] = 1.0
    with caplog.at_level(logging.WARNING):
        table = load_jets(str(write_format_a(tmp_path / "x.h5", x, y, data=data)))
    np.testing.assert_array_equal(table.y, y)  # read as their class, as before
    said = [r.getMessage() for r in caplog.records if "j_undef" in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert "2 of 20 jets are marked j_undef=1" in said[0]
    assert f"row 4, 0-based, j_{CLASSES[y[4]].lower()}=1" in said[0], said[0]
    assert "drop those rows first" in said[0]


def test_a_clean_file_says_nothing_of_j_undef(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    x, y = make_jets(20)
    with caplog.at_level(logging.WARNING):
        load_jets(str(write_format_a(tmp_path / "x.h5", x, y)))
    assert "j_undef" not in caplog.text
