"""A space whose largest model is far beyond a jet tagger (``width [8192, 8192]``, ``depth
[16, 16]``: ~1e9 parameters, ~15 GiB a trial with gradients and Adam's state) passed the config
check in silence; it now warns naming the size, the memory and the fix, unless
``search.max_params`` keeps the search below it."""
from __future__ import annotations

import pytest

from jetstudy.study.config import from_dict


def _huge(cfg) -> list[str]:
    return [w for w in cfg.warnings if "the space's largest model" in w]


def test_a_space_of_huge_models_is_warned_naming_size_memory_and_fix() -> None:
    (text,) = _huge(from_dict({"space": {"depth": [16, 16], "width": [8192, 8192]}}))
    assert "space.depth 16 at space.width 8192" in text and "1,006,936,069 parameters" in text
    assert "~15 GiB" in text and "search.max_params" in text


@pytest.mark.parametrize("space", [{}, {"depth": [1, 6], "width": [4, 512]},
                                   {"depth": [1, 1], "width": [4, 3000]}])
def test_jet_tagger_spaces_are_not_warned(space) -> None:
    assert not _huge(from_dict({"space": space}))


def test_a_params_limit_below_the_bound_silences_it() -> None:
    cfg = from_dict({"space": {"depth": [1, 8], "width": [8, 2048]},
                     "search": {"max_params": 200_000}})
    assert not _huge(cfg)
    assert _huge(from_dict({"space": {"depth": [1, 8], "width": [8, 2048]}}))
