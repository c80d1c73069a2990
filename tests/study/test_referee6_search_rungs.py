"""Round 6: ASHA after ``--resume``. Ray Tune saves no scheduler state, so the restored
``ASHAScheduler`` (``tuner.pkl``) had empty rungs: a weak new trial reaching a rung went on
(nothing to compare with), and a trial continued from its checkpoint past a rung was judged at
its next epoch, which is no rung (stopped at epoch 5 of rungs 1, 3, 9). ``study.rungs.
replay_rungs`` (called by the launch on resume) records what the trials' epoch logs reached at
each rung. Ray's own scheduler and hand-made trial folders; no Ray cluster."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from jetstudy.study.rungs import replay_rungs
from jetstudy.trainables.trialfiles import append_epoch, trial_folder
from tests.conftest import make_small_config


def _asha(cfg) -> ASHAScheduler:
    s = cfg.scheduler
    asha = ASHAScheduler(time_attr="epoch", max_t=s.max_epochs, grace_period=s.grace_period,
                         reduction_factor=s.reduction_factor)
    asha.set_search_properties(cfg.search.metric, cfg.mode)
    return asha


def _trial(state: Path, trial_id: str, accs: list[float]) -> None:
    trial_folder(str(state), trial_id, {"depth": 1, "width_0": 8})
    for e, acc in enumerate(accs, start=1):
        append_epoch(str(state), trial_id, {"epoch": e, "val_acc": acc, "val_loss": 1 - acc})


def _result(asha: ASHAScheduler, trial_id: str, epoch: int, acc: float) -> str:
    trial = SimpleNamespace(trial_id=trial_id)
    if trial_id not in asha._trial_info:
        asha.on_trial_add(None, trial)
    return asha.on_trial_result(None, trial, {"epoch": epoch, "val_acc": acc,
                                              "val_loss": 1 - acc})


def test_resumed_asha_holds_the_first_runs_rungs(tmp_path: Path) -> None:
    # rungs 1, 3, 9 (grace 1, factor 3); metric val_acc, mode max: through the sign too
    cfg = make_small_config(tmp_path, "s", search={"metric": "val_acc"},
                            scheduler={"max_epochs": 9, "grace_period": 1,
                                       "reduction_factor": 3})
    state = tmp_path / "trials"
    state.mkdir()
    for k, acc in enumerate((0.60, 0.62, 0.64, 0.66)):  # strong trials of the first run
        _trial(state, f"good{k}", [acc, acc, acc + 0.01])
    _trial(state, "cont", [0.30, 0.31, 0.32, 0.33])  # weak, continued from its epoch 4

    fresh = _asha(cfg)  # what Tune.restore gave: empty rungs
    for e in (1, 2, 3):  # a trial of the resumed run passes rung 3
        _result(fresh, "new", e, 0.6)
    # the continued trial, past rung 3 long ago, was judged at epoch 5 (no rung): stopped
    assert _result(fresh, "cont", 5, 0.34) == TrialScheduler.STOP
    fresh = _asha(cfg)
    assert _result(fresh, "weak", 1, 0.10) == TrialScheduler.CONTINUE  # nothing to compare

    asha = _asha(cfg)
    assert replay_rungs(asha, cfg, state) == 5 + 5  # rung 1 and rung 3 of each trial
    rungs = dict(asha._brackets[0]._rungs)
    assert rungs[1]["good3"] == 0.66 and rungs[3]["cont"] == 0.32  # metric_op +1 (max)
    assert 9 in rungs and rungs[9] == {}
    # the continued trial passed rungs 1 and 3 in the first run: no judgement at epoch 5
    assert all(_result(asha, "cont", e, 0.34) == TrialScheduler.CONTINUE for e in (5, 6, 7, 8))
    # a weak new trial is judged at rung 1 against every trial of the study: stopped
    assert _result(asha, "weak", 1, 0.10) == TrialScheduler.STOP
    assert _result(asha, "strong", 1, 0.70) == TrialScheduler.CONTINUE


def test_replay_in_mode_min_and_nothing_for_fifo(tmp_path: Path) -> None:
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 4, "grace_period": 1,
                                                      "reduction_factor": 2})
    state = tmp_path / "trials"
    state.mkdir()
    _trial(state, "a", [0.5, 0.6])  # val_loss 0.5, 0.4
    _trial(state, "empty", [])  # a folder without an epoch: nothing recorded
    asha = _asha(cfg)
    assert replay_rungs(asha, cfg, state) == 2
    rungs = dict(asha._brackets[0]._rungs)
    assert rungs[1] == {"a": -0.5} and abs(rungs[2]["a"] + 0.4) < 1e-12  # -loss (min)
    assert _result(asha, "b", 1, 0.4) == TrialScheduler.STOP  # loss 0.6 > 0.5
    fifo = make_small_config(tmp_path, "f", scheduler={"type": "fifo"})
    assert replay_rungs(_asha(cfg), fifo, state) == 0


def test_an_adopted_lost_trial_takes_its_rung_values_along(tmp_path: Path) -> None:
    """A lost trial (trained, unknown to Tune's last snapshot) continues under Tune's new id:
    its folder is renamed, and its rung values follow, so ASHA does not judge it again at
    its next epoch beside its own old values."""
    import json

    from jetstudy.study.rungs import follow_adoptions
    from jetstudy.study.searcher import make_searcher
    from jetstudy.trainables.trialfiles import EPOCHS_FILE, STATE_FILE

    cfg = make_small_config(tmp_path, "s", search={"num_trials": 3, "max_concurrent": 2,
                                                   "sampler": "random", "metric": "val_acc"},
                            scheduler={"max_epochs": 9, "grace_period": 1,
                                       "reduction_factor": 3})
    folder = tmp_path / "s"
    state = folder / "trials"
    state.mkdir(parents=True)
    config = make_searcher(cfg, folder).searcher.suggest("lost")
    trial_folder(str(state), "lost", config)
    (state / "lost" / EPOCHS_FILE).write_text("".join(
        json.dumps({"epoch": e, "val_acc": 0.3}) + "\n" for e in (1, 2, 3, 4)))
    (state / "lost" / STATE_FILE).write_bytes(b"x")
    _trial(state, "other", [0.6, 0.6, 0.6])
    asha = _asha(cfg)
    replay_rungs(asha, cfg, state)
    follow_adoptions(asha)
    try:
        make_searcher(cfg, folder).searcher.suggest("newid")  # the resumed driver adopts it
    finally:
        follow_adoptions(None)
    assert (state / "newid").is_dir() and not (state / "lost").exists()
    rungs = dict(asha._brackets[0]._rungs)
    assert rungs[1] == {"newid": 0.3, "other": 0.6} and rungs[3] == {"newid": 0.3, "other": 0.6}
    assert _result(asha, "newid", 5, 0.3) == TrialScheduler.CONTINUE  # no judgement at 5
