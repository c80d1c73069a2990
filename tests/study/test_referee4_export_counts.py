"""model.json's size answer reads the trials table's nullable integer counts (``Int64``, a
missing count is ``pd.NA``, whose truth value raises): a missing count is ``null``."""

from __future__ import annotations

import json

import pandas as pd

from jetstudy.study.export_meta import _number


def test_a_missing_nullable_count_is_null_and_present_ones_are_ints() -> None:
    row = pd.DataFrame({"n_params": pd.array([9096], dtype="Int64"),
                        "multiplications": pd.array([pd.NA], dtype="Int64"),
                        "val_loss": [0.61], "val_acc": [float("nan")]}).iloc[0]
    got = {k: _number(row, k) for k in ("n_params", "multiplications", "val_loss", "val_acc",
                                        "flops")}
    assert got == {"n_params": 9096, "multiplications": None, "val_loss": 0.61,
                   "val_acc": None, "flops": None}
    assert type(got["n_params"]) is int
    assert json.loads(json.dumps(got)) == got
