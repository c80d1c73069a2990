"""Round 12: resume and the Optuna journal agree with the tables from the resume's start.

A driver killed after it asked Optuna for a trial, and after that trial trained epochs but
before it wrote its first checkpoint (``training.checkpoint_every`` > 1) or after Ray Tune
ended it but before Optuna was told, leaves the trial *running* in ``optuna.journal`` with an
epoch log and no checkpoint to continue from. Round 11 closed only the trials that never
trained; these stayed *running* through the whole resumed run (TPE's constant liar counted
each as a live trial; optuna-dashboard showed it running) and were closed only at the run's
end. The tables list such a trial from its own log as ``stopped`` (``interrupted``), or
``completed`` when it trained to its end: the resume now closes it at once the same way
(*pruned* with its epochs as intermediate values, *complete* with its best epoch's value,
a diverged one *pruned* and infeasible), as :func:`close_orphaned_trials` does at a study's
end. Ray Tune's own search generator saved and restored, real Optuna; no Ray, no training."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import optuna
import pytest
from ray.tune.search import SearchGenerator

from jetstudy.study.config import from_dict
from jetstudy.study.resume import resumed_search
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage
from jetstudy.trainables.trialfiles import (CONFIG_FILE, STATE_FILE, append_epoch,
                                            mark_diverged, mark_ended)

SPACE = {"depth": [1, 2], "width": [4, 32], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
         "lr": [1e-3, 1e-2]}


def _killed_after_snapshot(tmp_path: Path, cfg, epochs: int, *, state: bool = False,
                           ended: bool = False, diverged: bool = False):
    """A study whose driver saved Tune's snapshot with trials a and b training, then asked for
    c, which trained ``epochs`` epochs (files as a trial writes them), then was killed."""
    trials = tmp_path / "trials"
    trials.mkdir()
    generator = SearchGenerator(make_searcher(cfg, tmp_path))
    limiter = generator.searcher
    for trial_id in ("a", "b"):
        assert isinstance(limiter.suggest(trial_id), dict)
        (trials / trial_id).mkdir()
        append_epoch(str(trials), trial_id, {"epoch": 1, "val_loss": 1.0})
    snapshot = tmp_path / "tune"
    snapshot.mkdir()
    generator.save_to_dir(str(snapshot), "first")
    limiter.on_trial_complete("a", {"epoch": 3, "val_loss": 0.9, "config": {}})
    config = limiter.suggest("c")
    assert isinstance(config, dict)
    (trials / "c").mkdir()
    (trials / "c" / CONFIG_FILE).write_text(json.dumps(config))
    for epoch in range(1, epochs + 1):
        append_epoch(str(trials), "c", {"epoch": epoch, "val_loss": 1.5 - 0.1 * epoch,
                                        "n_params": 100, "flops": 200})
    if state:
        (trials / "c" / STATE_FILE).write_bytes(b"checkpoint")
    if ended:
        mark_ended(str(trials), "c", epochs)
    if diverged:
        mark_diverged(str(trials), "c", "train_loss nan at epoch 2")
    resumed = resumed_search(SearchGenerator(make_searcher(cfg, tmp_path)), cfg)
    resumed.restore_from_dir(str(snapshot))
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    return {t.user_attrs.get("trial_id"): t for t in study.trials}, resumed


def _cfg(**search):
    return from_dict({"space": SPACE, "scheduler": {"max_epochs": 3, "grace_period": 1},
                      "training": {"checkpoint_every": 3},
                      "search": {"num_trials": 8, "max_concurrent": 2, "seed": 4, **search}})


def test_a_lost_trial_that_trained_without_a_checkpoint_is_pruned_as_the_resume_starts(
        tmp_path: Path) -> None:
    by_id, _ = _killed_after_snapshot(tmp_path, _cfg(), epochs=2)
    lost = by_id["c"]
    assert lost.state.name == "PRUNED", lost.state
    assert lost.intermediate_values == {1: pytest.approx(1.4), 2: pytest.approx(1.3)}
    assert not lost.user_attrs.get("never_trained")
    running = sorted(t for t, f in by_id.items() if f.state.name == "RUNNING")
    assert running == ["b"], running  # Tune continues b; nothing else is live


def test_a_lost_trial_that_ended_at_its_last_epoch_is_complete_with_its_best_value(
        tmp_path: Path) -> None:
    # trained all 3 epochs; Tune ended it (marker) and the driver died before telling Optuna
    by_id, _ = _killed_after_snapshot(tmp_path, _cfg(), epochs=3, state=True, ended=True)
    lost = by_id["c"]
    assert lost.state.name == "COMPLETE", lost.state
    assert lost.value == pytest.approx(1.2)


def test_a_lost_trial_that_diverged_is_pruned_and_marked_as_the_searcher_tells_one(
        tmp_path: Path) -> None:
    by_id, _ = _killed_after_snapshot(tmp_path, _cfg(), epochs=1, diverged=True)
    lost = by_id["c"]
    assert lost.state.name == "PRUNED", lost.state
    assert "nan" in str(lost.user_attrs.get("diverged", "")), lost.user_attrs


def test_a_lost_trial_with_a_checkpoint_stays_running_for_tune_to_adopt(tmp_path: Path) -> None:
    # a checkpoint and no end: the resumed searcher gives it to Tune's next trial (_adopt)
    by_id, resumed = _killed_after_snapshot(tmp_path, _cfg(), epochs=1, state=True)
    assert by_id["c"].state.name == "RUNNING"
    config = resumed.searcher.suggest("d")
    assert isinstance(config, dict)
    assert (tmp_path / "trials" / "d" / STATE_FILE).is_file()  # c's folder, continued


# -- optuna_story.guided_trials: an initial point that fixes only some parameters ----------

def _guided_study(tmp_path: Path, space: dict, points: list[dict]) -> list:
    from tests.study.search_driver import drive

    cfg = from_dict({"space": space, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 12, "max_concurrent": 1, "seed": 0,
                                "initial_points": points}})
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(cfg, tmp_path).searcher
    return drive(searcher, 1, lambda config: {"val_loss": config["depth"] / config["width_0"]})


def test_guided_count_includes_initial_points_whose_free_parameters_tpe_drew(
        tmp_path: Path) -> None:
    """8 initial points fixing depth and width only: the 6 random start-up trials are the
    first 6 of them; the 7th and 8th have lr, dropout and l2 drawn from TPE's model, as the
    4 trials after them are drawn whole. 6 trials rest on the model (the old count: 4)."""
    from jetstudy.study.optuna_story import guided_trials
    from tests.study.search_driver import guided

    space = {**SPACE, "dropout": [0, 0.4], "l2": [1e-6, 1e-3]}
    trials = _guided_study(tmp_path, space, [{"depth": 1, "width_0": 8 + i} for i in range(8)])
    partial = [t for t in trials if "fixed_params" in t.system_attrs and guided(t)]
    assert len(partial) == 2  # Optuna's own record: TPE drew their free parameters
    assert guided_trials(tmp_path) == sum(map(guided, trials)) == 6
    # the config's estimate (its "nearly random" warning) counts them too
    from jetstudy.study.search_rules import tpe_guided_trials, whole_point

    cfg = from_dict({"space": space, "search": {"num_trials": 12, "max_concurrent": 1}})
    assert not whole_point(cfg, {"depth": 1, "width_0": 8})
    assert tpe_guided_trials(12, 1, [False] * 8) == 6


def test_partial_initial_points_do_not_call_a_guided_search_nearly_random() -> None:
    """10 initial points fixing depth and width of 12 trials, 1 at a time: TPE's model draws
    the free parameters of the 7th to 10th and the last two whole; the config warned 'only 2
    of 12 trials are guided ... nearly random search'. Whole points still warn."""
    space = {**SPACE, "dropout": [0, 0.4], "l2": [1e-6, 1e-3]}
    partial = [{"depth": 1, "width_0": 8 + i} for i in range(10)]
    whole = [{**p, "dropout": 0.1, "l2": 1e-4, "lr": 2e-3} for p in partial]
    search = {"num_trials": 12, "max_concurrent": 1}
    assert not from_dict({"space": space, "search": {**search, "initial_points": partial}}
                         ).warnings
    (text,) = from_dict({"space": space, "search": {**search, "initial_points": whole}}
                        ).warnings
    assert "only 2 of 12 trials are guided" in text and "after the 10" in text


def test_guided_count_leaves_out_initial_points_that_fix_every_parameter(
        tmp_path: Path) -> None:
    """The same with a space whose other parameters are constant: each point is a whole
    configuration, the user's, not TPE's, though Optuna asks the constant ones too."""
    from jetstudy.study.optuna_story import guided_trials

    space = {**SPACE, "lr": [1e-3, 1e-3]}
    trials = _guided_study(tmp_path, space, [{"depth": 1, "width_0": 8 + i} for i in range(8)])
    assert sum("fixed_params" in t.system_attrs for t in trials) == 8
    assert guided_trials(tmp_path) == 4


# -- size limits and an initial point that fixes only some parameters ----------------------

LIMITED = {"depth": [1, 3], "width": [4, 64], "dropout": [0, 0], "l1": [0, 0], "l2": [0, 0],
           "lr": [1e-3, 1e-2]}


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_partial_initial_point_drawn_over_a_size_limit_is_drawn_again_not_dropped(
        tmp_path: Path, seed: int) -> None:
    """search.initial_points [{depth: 3, lr: 0.005}] under search.max_params 1200: its free
    widths drawn over the limit were told pruned (rejected) and the next draw was TPE's own,
    so the user's point never trained (seeds 0, 1 and 3 of the old code). Its own parameters
    are kept and only the free ones drawn again."""
    from tests.study.search_driver import drive

    cfg = from_dict({"space": LIMITED, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 4, "max_concurrent": 1, "seed": seed,
                                "max_params": 1200,
                                "initial_points": [{"depth": 3, "lr": 0.005}]}})
    (tmp_path / "trials").mkdir()
    trials = drive(make_searcher(cfg, tmp_path).searcher, 1,
                   lambda config: {"val_loss": config["lr"]})
    trained = [t for t in trials if "rejected" not in t.user_attrs]
    assert len(trained) == 4
    first = trained[0]
    assert (first.params["depth"], first.params["lr"]) == (3, 0.005), first.params
    assert first.state.name == "COMPLETE"


def test_a_partial_initial_point_that_no_completion_fits_is_refused() -> None:
    """Depth 3 at the narrowest width 4 has 133 parameters: under search.max_params 120 no
    draw of its widths fits, and the study would stop after the redraw limit."""
    from jetstudy.trainables.errors import ConfigError

    with pytest.raises(ConfigError, match=r"initial_points\[0\].*133.*120"):
        from_dict({"space": LIMITED, "search": {"num_trials": 4, "max_params": 120,
                                                "initial_points": [{"depth": 3}]}})


def test_a_resume_enqueues_again_a_partial_initial_point_a_size_limit_turned_away(
        tmp_path: Path) -> None:
    """A study of the old code: the point's one draw was rejected (over search.max_params)
    and nothing held it; the resume counted the rejected draw as holding the point, so it was
    never trained. A rejected draw holds no point: the resume enqueues it."""
    cfg = from_dict({"space": LIMITED, "scheduler": {"max_epochs": 2, "grace_period": 1},
                     "search": {"num_trials": 4, "max_concurrent": 1, "seed": 0,
                                "max_params": 1200,
                                "initial_points": [{"depth": 3, "lr": 0.005}]}})
    (tmp_path / "trials").mkdir()
    limiter = make_searcher(cfg, tmp_path)
    pickled = pickle.dumps(limiter)
    snapshot = tmp_path / "tune"
    snapshot.mkdir()
    SearchGenerator(limiter).save_to_dir(str(snapshot), "first")
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    drawn = study.ask()  # the old code's one draw of the point, turned away
    assert study._storage.get_trial(drawn._trial_id).system_attrs.get("fixed_params") == {
        "depth": 3, "lr": 0.005}
    drawn.set_user_attr("rejected", "n_params 2177 > limit 1200")
    study.tell(drawn, state=optuna.trial.TrialState.PRUNED)

    # Tuner.restore unpickles the first run's searcher (tuner.pkl): no second enqueue
    resumed_search(SearchGenerator(pickle.loads(pickled)), cfg).restore_from_dir(str(snapshot))
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    waiting = [t.system_attrs.get("fixed_params") for t in study.trials
               if t.state.name == "WAITING"]
    assert waiting == [{"depth": 3, "lr": 0.005}], waiting


def test_a_resume_with_num_trials_reached_by_a_lost_trial_says_nothing_is_left(
        tmp_path: Path, caplog) -> None:
    """num_trials 3: a and b ended before Tune's snapshot, c trained after it (no checkpoint)
    and the driver was killed. Tune's count says 2 of 3, the searcher counts c's folder and
    starts nothing: the resume trained nothing and said nothing of it."""
    import logging

    cfg = from_dict({"space": SPACE, "scheduler": {"max_epochs": 3, "grace_period": 1},
                     "training": {"checkpoint_every": 3},
                     "search": {"num_trials": 3, "max_concurrent": 2, "seed": 4}})
    trials = tmp_path / "trials"
    trials.mkdir()
    generator = SearchGenerator(make_searcher(cfg, tmp_path))
    limiter = generator.searcher
    for trial_id in ("a", "b"):
        assert isinstance(limiter.suggest(trial_id), dict)
        (trials / trial_id).mkdir()
        for epoch in (1, 2, 3):
            append_epoch(str(trials), trial_id, {"epoch": epoch, "val_loss": 1.0})
        limiter.on_trial_complete(trial_id, {"epoch": 3, "val_loss": 1.0, "config": {}})
    snapshot = tmp_path / "tune"
    snapshot.mkdir()
    generator.save_to_dir(str(snapshot), "first")
    assert isinstance(limiter.suggest("c"), dict)
    (trials / "c").mkdir()
    append_epoch(str(trials), "c", {"epoch": 1, "val_loss": 1.2})
    with caplog.at_level(logging.WARNING, logger="jetstudy.study.resume"):
        resumed = resumed_search(SearchGenerator(make_searcher(cfg, tmp_path)), cfg)
        resumed.restore_from_dir(str(snapshot))
    assert "nothing is left to train" in caplog.text
    assert resumed.searcher.suggest("d") == "FINISHED"  # Searcher.FINISHED: none starts
