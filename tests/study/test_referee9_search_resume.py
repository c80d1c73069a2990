"""Round 9: ``--resume`` of a seeded search. ``restore`` gave the sampler a fresh random state
(so that a crashed driver's proposals after the snapshot were not proposed again), so a
Ctrl-C'd random search drew other configurations after the resume than a straight run of the
same seed. Each draw now seeds the sampler from ``search.seed`` and the Optuna trial number:
the same number draws the same configuration, straight or resumed, and a restored snapshot
goes on with the numbers after the journal's. The searcher driven as Tune would; no Ray."""

from __future__ import annotations

from pathlib import Path

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import make_searcher
from tests.study.search_driver import drive

SPACE = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0.4], "l1": [0, 0],
         "l2": [1e-6, 1e-3], "lr": [1e-3, 1e-2]}


def _searcher(folder: Path, sampler: str):
    (folder / "trials").mkdir(parents=True)
    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 8, "max_concurrent": 1, "seed": 3,
                                "sampler": sampler}})
    return make_searcher(cfg, folder).searcher


def _loss(config: dict) -> dict:
    return {"val_loss": config["lr"] + config["dropout"]}


def _interrupted(folder: Path, sampler: str) -> list[dict]:
    first = _searcher(folder, sampler)
    for k in range(3):
        config = first.suggest(f"a{k}")
        first.on_trial_complete(f"a{k}", {"epoch": 2, "config": config, **_loss(config)})
    first.save(str(folder / "searcher.pkl"))
    again = _searcher(folder / "again", sampler)
    again.restore(str(folder / "searcher.pkl"))
    return [t.params for t in drive(again, 1, _loss)]


def test_a_resumed_random_search_draws_what_a_straight_one_draws(tmp_path: Path) -> None:
    straight = [t.params for t in drive(_searcher(tmp_path / "s", "random"), 1, _loss)]
    assert len(straight) == 8 and len({str(p) for p in straight}) == 8
    assert _interrupted(tmp_path / "i", "random") == straight


def test_a_resumed_serial_tpe_search_draws_what_a_straight_one_draws(tmp_path: Path) -> None:
    straight = [t.params for t in drive(_searcher(tmp_path / "s", "tpe"), 1, _loss)]
    assert _interrupted(tmp_path / "i", "tpe") == straight
