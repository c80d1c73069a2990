"""Round 9: the Sobol scan's width mapping, said to be the search's own (Optuna's log-scaled
integer), rounded ``exp(log low + u log(high/low))``: the edge widths got half a share each
(width [4, 8]: 4 for u < 0.17, where Optuna gives it u < 0.28). Optuna widens a log integer
range by half a step each side (``optuna._transform``: ``log(low - 0.5)`` to
``log(high + 0.5)``) and rounds. Checked against Optuna's own transform, no Ray."""

from __future__ import annotations

import numpy as np
import pytest
from optuna._transform import _SearchSpaceTransform
from optuna.distributions import IntDistribution

from jetstudy.study.config import from_dict
from jetstudy.study.design import _from_unit


def _optuna(low: int, high: int, log: bool, u: float) -> int:
    transform = _SearchSpaceTransform({"x": IntDistribution(low, high, log=log)})
    lo, hi = transform.bounds[0]
    return int(transform.untransform(np.array([lo + u * (hi - lo)]))["x"])


@pytest.mark.parametrize(("name", "bounds"), [("width", (4, 8)), ("width", (4, 256)),
                                             ("width", (1, 3)), ("depth", (1, 4))])
def test_the_scan_maps_u_as_optuna_draws_it(name, bounds) -> None:
    space = from_dict({"space": {name: list(bounds)}}).space
    us = (np.arange(2000) + 0.5) / 2000
    ours = [_from_unit(space, name, float(u)) for u in us]
    theirs = [_optuna(*bounds, name == "width", float(u)) for u in us]
    assert ours == theirs
