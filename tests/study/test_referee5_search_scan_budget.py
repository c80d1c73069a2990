"""Round 5: a scan whose time budget cut trials before their first epoch, resumed. Those trials
are Optuna *failed* (never trained) and give their place to new trials, but their design points
were never enqueued again: Optuna had no waiting point left for the new trials and its fallback
random sampler proposed configurations off the grid (or Sobol design), so the resumed scan
missed design points and trained others. A resume now enqueues every design point that no
trial holds (done, running or waiting). Hand-made Optuna journal, no Ray."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import optuna

from jetstudy.study.design import grid_design
from jetstudy.study.resume import ResumedSearch
from jetstudy.study.searcher import NEVER_TRAINED, OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.study.space import SpaceFunction
from tests.conftest import make_small_config

SPACE = {"depth": [1, 2], "width": [4, 16], "l1": [0, 0], "l2": [0, 0], "dropout": [0, 0],
         "lr": [3e-3, 3e-3], "activations": ["relu"], "batch_norm": [False]}


def _key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


def test_design_points_of_never_trained_trials_are_enqueued_again(tmp_path: Path) -> None:
    cfg = make_small_config(tmp_path, "s", space=SPACE,
                            search={"sampler": "grid", "grid_levels": 2, "max_concurrent": 2,
                                    "num_trials": 4},
                            scheduler={"type": "fifo", "max_epochs": 2})
    design = grid_design(cfg.space, 2)
    assert len(design) == 4
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path),
                                sampler=optuna.samplers.RandomSampler(seed=1))
    for point in design:
        study.enqueue_trial(point)
    space = SpaceFunction(cfg.space, scan=True)
    done, cut = study.ask(), study.ask()  # the budget ran out while `cut` started
    for trial in (done, cut):
        space(trial)
    study.tell(done, 0.5)
    study._storage.set_trial_user_attr(cut._trial_id, NEVER_TRAINED, True)
    study.tell(cut, state=optuna.trial.TrialState.FAIL)
    ResumedSearch._enqueue_rest(SimpleNamespace(design=design), SimpleNamespace(_ot_study=study))
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert len(waiting) == 3  # the 2 never started and the cut one's point, once
    # the resumed study asks for 3 trials: the cut one's place and the 2 never started
    trained = [done.params]
    for _ in range(3):
        trial = study.ask()
        space(trial)
        trained.append(trial.params)
    assert sorted(map(_key, trained)) == sorted(map(_key, design))
    # nothing is waiting twice: a second resume enqueues nothing more
    before = len(study.trials)
    ResumedSearch._enqueue_rest(SimpleNamespace(design=design), SimpleNamespace(_ot_study=study))
    assert len(study.trials) == before


def test_initial_points_of_never_trained_trials_are_enqueued_again(tmp_path: Path) -> None:
    """The same for a TPE search's ``search.initial_points``: the user's point is trained after
    all, once, instead of a TPE proposal; TPE's own trials never count as holding one."""
    from jetstudy.study.space import optuna_params

    points = [{"depth": 1, "width_0": 8}, {"depth": 2, "width_0": 16, "width_1": 8}]
    cfg = make_small_config(tmp_path, "s", search={"num_trials": 6, "initial_points": points})
    initial = [optuna_params(cfg.space, p) for p in cfg.search.initial_points]
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path),
                                sampler=optuna.samplers.RandomSampler(seed=1))
    for point in initial:
        study.enqueue_trial(point)
    space = SpaceFunction(cfg.space)
    cut, done, drawn = study.ask(), study.ask(), study.ask()  # drawn: no initial point
    for trial in (cut, done, drawn):
        space(trial)
    study._storage.set_trial_user_attr(cut._trial_id, NEVER_TRAINED, True)
    study.tell(cut, state=optuna.trial.TrialState.FAIL)
    study.tell(done, 0.5)
    study.tell(drawn, 0.6)
    resumed = SimpleNamespace(design=None, initial=initial)
    ResumedSearch._enqueue_rest(resumed, SimpleNamespace(_ot_study=study))
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [initial[0]]
    ResumedSearch._enqueue_rest(resumed, SimpleNamespace(_ot_study=study))
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 1


def test_a_killed_drivers_untrained_trial_frees_its_design_point(tmp_path: Path) -> None:
    """A driver killed after asking Optuna for a design point but before Tune saved the
    trial: Optuna keeps it running, Tune never continues it (it trained no epoch), so its
    point is enqueued again; a running trial Tune knows, or one that trained, keeps its own."""
    cfg = make_small_config(tmp_path, "s", space=SPACE,
                            search={"sampler": "grid", "grid_levels": 2, "max_concurrent": 3,
                                    "num_trials": 4},
                            scheduler={"type": "fifo", "max_epochs": 2})
    design = grid_design(cfg.space, 2)
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path),
                                sampler=optuna.samplers.RandomSampler(seed=1))
    for point in design:
        study.enqueue_trial(point)
    known, trained, lost = study.ask(), study.ask(), study.ask()
    space = SpaceFunction(cfg.space, scan=True)
    for trial, trial_id in ((known, "k"), (trained, "t"), (lost, "l")):
        space(trial)
        trial.set_user_attr("trial_id", trial_id)
    (tmp_path / "trials" / "t").mkdir(parents=True)
    (tmp_path / "trials" / "t" / "epochs.jsonl").write_text('{"epoch": 1}\n')
    searcher = SimpleNamespace(_ot_study=study, _ot_trials={"k": known},
                               state_dir=str(tmp_path / "trials"))
    ResumedSearch._enqueue_rest(SimpleNamespace(design=design), searcher)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert sorted(_key(t.system_attrs["fixed_params"]) for t in waiting) == sorted(
        [_key(design[3]), _key(lost.params)])
