"""Referee round 9, data values: a float64 feature below float32's smallest normal number
(1e-40, 1e-50) was cast to float32 and read as a subnormal or as 0, silently; a HEP "missing"
sentinel (-999, -1) filling a share of one feature column was read as a value, silently."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import HLF_FEATURES

_RNG = np.random.default_rng(9)
N = 40
X = _RNG.uniform(0.01, 1.0, (N, 16))
X[:, 15] = _RNG.integers(5, 100, N)
Y = np.arange(N) % 5


def _csv(path: Path, x: np.ndarray) -> Path:
    frame = pd.DataFrame(x, columns=list(HLF_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[Y]
    frame.to_csv(path, index=False, float_format="%.17g")
    return path


@pytest.mark.parametrize("tiny", [1e-40, -1e-50])
def test_a_value_below_float32s_smallest_normal_is_refused_by_column_and_row(
        tmp_path: Path, tiny: float) -> None:
    x = X.copy()
    x[6, 2] = tiny
    with pytest.raises(DataError) as caught:
        load_jets(_csv(tmp_path / "tiny.csv", x))
    words = str(caught.value)
    assert f"{HLF_FEATURES[2]} in 1 row" in words and "row 6" in words, words
    assert f"{HLF_FEATURES[2]} = {tiny:g}" in words and "float32" in words, words


def test_exact_zeros_and_small_normal_values_are_read_exactly(tmp_path: Path) -> None:
    x = X.copy()
    x[3, 1], x[4, 1] = 0.0, 2e-38  # 0 and a float32 normal number stay what they are
    jets = load_jets(_csv(tmp_path / "fine.csv", x))
    assert jets.x[3, 1] == 0.0 and jets.x[4, 1] == np.float32(2e-38)


@pytest.mark.parametrize("sentinel", [-999.0, -1.0])
def test_a_sentinel_filling_a_share_of_one_column_is_warned_with_value_and_count(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, sentinel: float) -> None:
    x = X.copy()
    x[::4, 0] = sentinel  # 10 of 40 jets
    with caplog.at_level(logging.WARNING):
        jets = load_jets(_csv(tmp_path / "sentinel.csv", x))
    assert jets.n_jets == N  # kept: a warning, not an error
    assert f"{HLF_FEATURES[0]} = {sentinel:g} in 10 of 40 rows" in caplog.text, caplog.text
    assert "missing" in caplog.text, caplog.text


def test_a_negative_feature_without_a_repeated_round_value_is_not_warned(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    x = X.copy()
    x[:, 0] = -_RNG.uniform(0.5, 3.0, N)  # j_zlogz-like: negative, continuous
    x[0, 0] = -1.0  # one -1 among continuous values is no sentinel
    with caplog.at_level(logging.WARNING):
        load_jets(_csv(tmp_path / "negative.csv", x))
    assert "sentinel" not in caplog.text and "missing" not in caplog.text, caplog.text
