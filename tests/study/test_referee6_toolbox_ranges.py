"""Referee round 6 (ranges): scaler.json's training ranges are the data's own values. They were
taken back from the standardised float32 training jets, so an integer feature's 20 was
recorded as 20.0000002 (and its 123 as 122.9999998): fixed-point widths for a trigger were
chosen from values no jet had."""

from __future__ import annotations

import numpy as np

from jetstudy.study.prepare import training_ranges
from jetstudy.trainables.data import split_jets
from jetstudy.trainables.formats import JetTable


def test_training_ranges_are_the_values_read_not_a_float32_round_trip() -> None:
    rng = np.random.default_rng(3)
    n = 500
    x = rng.normal(50.0, 17.3, size=(n, 16)).astype(np.float32)
    x[:, 5] = rng.integers(20, 124, size=n).astype(np.float32)  # a multiplicity: integers
    x[0, 5], x[1, 5] = 20.0, 123.0
    y = np.arange(n) % 5
    splits = split_jets(JetTable(x=x, y=y, sources=("mem",)), 0.2, 0.2, seed=0)
    ranges = training_ranges(splits)
    train = splits.scaler.inverse_transform(splits.x_train)  # the rows of the training split
    lo, hi = np.min(np.round(train), axis=0), np.max(np.round(train), axis=0)
    assert ranges["min"][5] == lo[5] and ranges["max"][5] == hi[5]  # whole numbers, exactly
    assert all(float(v).is_integer() for v in (ranges["min"][5], ranges["max"][5]))
    in_file = x.astype(np.float64)
    assert set(ranges["min"]) <= set(in_file.ravel()) and set(ranges["max"]) <= set(in_file.ravel())
