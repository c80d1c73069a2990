"""Referee, round 8 (task F): the report's captions name only what this study's figures draw.

The size x regularisation caption explained '(off = 0)' in every study, though only a space
with a strength of 0 (``l2: [0, x]``) draws an 'off' row. Hand-made tables only.
"""

from __future__ import annotations

import pytest

from jetstudy.analysis.sections import _map_regularisation
from jetstudy.analysis.tables import load_tables

from tests.analysis.conftest import words_only


@pytest.mark.parametrize("zero", [False, True])
def test_the_regularisation_caption_names_off_only_where_a_map_draws_it(
        tmp_path, make_study, write_study, zero) -> None:
    trials, epochs = make_study(n_trials=12, max_epochs=6, seed=4, asha=False)
    if zero:  # half the trials without L2: an 'off' row on the L2 map (dropout 0 is a value)
        trials.loc[trials.index[::2], "l2"] = 0.0
    r = words_only(load_tables(write_study(tmp_path / "study", trials, epochs)))
    section = _map_regularisation(r)
    assert ("(off = 0)" in section.caption) == zero, section.caption
