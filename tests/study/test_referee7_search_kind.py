"""Round 7: ASHA with ``scheduler.grace_period`` equal to ``scheduler.max_epochs`` (max_t =
grace: Ray's one rung is the last epoch) can stop no trial early, yet ``jetstudy run`` said
'ASHA stops the weaker ones early' and the report's Kind sentence 'ASHA stopping the weaker
trials early' (the run's config warning said the opposite). Both now say there is no rung
before the last epoch. Ray's own rungs are checked against the tables' (collect._asha_rungs)
for reduction factors 2-5. Hand-made configs; no Ray session."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ray.tune.schedulers import ASHAScheduler

from jetstudy.analysis.sections_search import kind_lines
from jetstudy.study.cli import describe_kind
from jetstudy.study.collect import _asha_rungs
from jetstudy.study.config import from_dict


def _cfg(grace: int, max_epochs: int, rf: int = 2):
    return from_dict({"scheduler": {"max_epochs": max_epochs, "grace_period": grace,
                                    "reduction_factor": rf},
                      "search": {"num_trials": 4, "max_concurrent": 1}})


def test_max_t_equal_to_grace_stops_nothing_early(tmp_path: Path) -> None:
    for rf in (2, 4):
        cfg = _cfg(1, 1, rf)
        line = describe_kind(cfg)
        assert "early" not in line
        assert "ASHA with no rung before max_epochs 1: each to max_epochs" in line
        (kind,) = kind_lines(SimpleNamespace(config=cfg.to_dict(), folder=tmp_path))
        assert "early" not in kind
        assert "ASHA with no rung before the last epoch (every trial to max_epochs)" in kind
    assert "ASHA stops the weaker ones early" in describe_kind(_cfg(1, 2))
    (kind,) = kind_lines(SimpleNamespace(config=_cfg(1, 2, 4).to_dict(), folder=tmp_path))
    assert "ASHA stopping the weaker trials early" in kind


def test_the_tables_rungs_are_rays() -> None:
    for grace in (1, 2, 3):
        for rf in (2, 3, 4, 5):
            for max_epochs in range(grace, 40):
                ray = ASHAScheduler(time_attr="epoch", max_t=max_epochs, grace_period=grace,
                                    reduction_factor=rf)
                rungs = {m for m, _ in ray._brackets[0]._rungs if m < max_epochs}
                assert rungs == _asha_rungs(_cfg(grace, max_epochs, rf)), (grace, rf, max_epochs)
