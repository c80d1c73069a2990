"""Round 11: the config check's fix for a space of fewer configurations than trials was itself
a search that repeats. A TPE or random search of 40 trials over depth 1-2, widths 4-8 (every
float knob fixed: 30 configurations) was told "set search.num_trials to 30"; drawn with
replacement (depth first, then log-uniform widths), 30 draws repeat about 14 of them, and that
config got the "likely repeats" warning in turn. The fix now names the most trials the repeat
check accepts (and what the count itself would repeat); following it leaves the config quiet.
No Ray."""

from __future__ import annotations

import re

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.space_rules import expected_repeats

FIXED = {"dropout": [0, 0], "l1": [0, 0], "l2": [0, 0], "lr": [1e-3, 1e-3]}


def _cfg(space: dict, **search):
    return from_dict({"space": {**FIXED, **space}, "search": search,
                      "scheduler": {"max_epochs": 2, "grace_period": 1}})


def _suggested(warnings: tuple[str, ...]) -> int:
    (text,) = [w for w in warnings if "distinct configurations" in w]
    return int(re.search(r"set search\.num_trials to (\d+)", text).group(1))


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_the_suggested_num_trials_does_not_repeat_by_chance(sampler: str) -> None:
    space = {"depth": [1, 2], "width": [4, 8]}  # 5 + 25 = 30 configurations
    cfg = _cfg(space, num_trials=40, max_concurrent=1, sampler=sampler)
    (text,) = [w for w in cfg.warnings if "distinct configurations" in w]
    suggested = _suggested(cfg.warnings)
    assert suggested < 30, text
    assert "at 30, as many as the configurations, about 14 of the draws would repeat one by chance)" in text
    followed = _cfg(space, num_trials=suggested, max_concurrent=1, sampler=sampler)
    assert not [w for w in followed.warnings if "repeat" in w or "distinct" in w], \
        followed.warnings
    assert expected_repeats(followed) < 3
    # and it is the most the repeat check accepts: one more trial warns
    more = _cfg(space, num_trials=suggested + 1, max_concurrent=1, sampler=sampler)
    assert [w for w in more.warnings if "would repeat an earlier trial" in w], more.warnings


def test_a_space_small_enough_keeps_the_count() -> None:
    """6 configurations (depth 1-2, widths 8-9): 6 draws repeat about 2, under the check's 3."""
    cfg = _cfg({"depth": [1, 2], "width": [8, 9]}, num_trials=8, sampler="random")
    assert _suggested(cfg.warnings) == 6
    assert "as many as the configurations" not in cfg.warnings[0]
