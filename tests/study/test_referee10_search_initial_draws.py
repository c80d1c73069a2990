"""Round 10: ``search.initial_points`` that fix only some parameters (depth and widths, say)
had their free ones (lr, dropout, l2) drawn alike: each draw was seeded by the count of Optuna
trials (round 9's ``_seed_draw``), which the enqueued points, waiting in the journal, held
from the start, so every initial point drew under one number (a real run: both initial points
lr 0.006731). Each draw is now seeded by the number of the trial it fills: the waiting one
``ask()`` takes, else a new one. The searcher driven as Tune would (real Optuna); no Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import make_searcher
from tests.study.search_driver import drive

SPACE = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
         "l2": [1e-6, 1e-3], "lr": [1e-3, 1e-2]}
INITIAL = [{"depth": 1, "width_0": 8}, {"depth": 2, "width_0": 16, "width_1": 8},
           {"depth": 1, "width_0": 32}]
FREE = ("lr", "dropout", "l2")


def _loss(config: dict) -> dict:
    return {"val_loss": config["lr"] + config["dropout"]}


def _searcher(folder: Path, sampler: str):
    (folder / "trials").mkdir(parents=True)
    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 6, "max_concurrent": 1, "seed": 3,
                                "sampler": sampler, "initial_points": INITIAL}})
    return make_searcher(cfg, folder).searcher


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_initial_points_draw_their_free_parameters_apart(tmp_path: Path, sampler: str) -> None:
    trials = drive(_searcher(tmp_path, sampler), 1, _loss)
    assert [t.number for t in trials] == list(range(6))
    for k, point in enumerate(INITIAL):  # the fixed part is the user's
        depth = point["depth"]
        assert trials[k].params["depth"] == depth
        assert [trials[k].params[f"d{depth}_width_{i}"] for i in range(depth)] == [
            point[f"width_{i}"] for i in range(depth)]
    free = [tuple(trials[k].params.get(p) for p in FREE) for k in range(len(INITIAL))]
    assert len(set(free)) == len(INITIAL), free
    # and no initial point draws what the first proposed trial draws
    assert all(trials[3].params["lr"] != trials[k].params["lr"] for k in range(3))


def test_a_resumed_search_draws_the_initial_points_as_a_straight_one(tmp_path: Path) -> None:
    straight = [t.params for t in drive(_searcher(tmp_path / "s", "random"), 1, _loss)]
    first = _searcher(tmp_path / "i", "random")
    config = first.suggest("a0")
    first.on_trial_complete("a0", {"epoch": 2, "config": config, **_loss(config)})
    first.save(str(tmp_path / "searcher.pkl"))
    again = _searcher(tmp_path / "again", "random")
    again.restore(str(tmp_path / "searcher.pkl"))
    assert [t.params for t in drive(again, 1, _loss)] == straight
