"""Round 11: a resumed search's constant liar saw trials no one runs. A driver killed after it
asked Optuna for a trial but before Tune's next snapshot leaves that trial *running* in
``optuna.journal``; if it never trained, Tune does not continue it (nor adopt it: it has no
epoch log), yet it stayed running until the resumed run ended, so TPE's constant liar counted
it as a live trial (a bad result at its parameters) for every proposal of the resumed run,
more than ``search.max_concurrent`` at a time, and optuna-dashboard showed it running. The
resume now closes it at once (*failed*, ``never_trained``: its place goes to a new trial, as
before). Ray Tune's own search generator saved and restored (``SearchGenerator.save_to_dir``,
``restore_from_dir``, as ``Tuner.restore`` does), real Optuna; no Ray cluster, no training."""

from __future__ import annotations

from pathlib import Path

import optuna
from ray.tune.search import SearchGenerator

from jetstudy.study.config import from_dict
from jetstudy.study.resume import resumed_search
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage
from jetstudy.trainables.trialfiles import append_epoch

SPACE = {"depth": [1, 2], "width": [4, 32], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
         "lr": [1e-3, 1e-2]}


def test_a_trial_the_killed_driver_never_trained_is_closed_as_the_resume_starts(
        tmp_path: Path) -> None:
    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 3, "grace_period": 1},
                     "search": {"num_trials": 8, "max_concurrent": 2, "seed": 4}})
    state = tmp_path / "trials"
    state.mkdir()
    generator = SearchGenerator(make_searcher(cfg, tmp_path))
    limiter = generator.searcher
    for trial_id in ("a", "b"):  # two trials training at the snapshot
        assert isinstance(limiter.suggest(trial_id), dict)
        (state / trial_id).mkdir()
        append_epoch(str(state), trial_id, {"epoch": 1, "val_loss": 1.0})
    snapshot = tmp_path / "tune"
    snapshot.mkdir()
    generator.save_to_dir(str(snapshot), "first")
    limiter.on_trial_complete("a", {"epoch": 3, "val_loss": 0.9, "config": {}})
    assert isinstance(limiter.suggest("c"), dict)  # asked after the snapshot, then kill -9

    resumed = resumed_search(SearchGenerator(make_searcher(cfg, tmp_path)), cfg)
    resumed.restore_from_dir(str(snapshot))
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    by_id = {t.user_attrs.get("trial_id"): t for t in study.trials}
    lost = by_id["c"]
    assert lost.state.name == "FAIL" and lost.user_attrs.get("never_trained") is True
    # the trial Tune's snapshot holds, still training, stays running: Tune continues it
    assert by_id["b"].state.name == "RUNNING"
    running = [t.number for t in study.trials if t.state.name == "RUNNING"]
    assert running == [by_id["b"].number], running
