"""Round 7: a trial whose epoch log ends at an ASHA rung, without the ``ended`` marker, when the
driver was killed (between the trial's report and ASHA's decision, or between a stop and the
ledger's marker). ``rungs.replay_rungs`` recorded its value as if ASHA had judged it, so the
resumed trial went on past the rung unjudged: a crash study (the helper of
test_referee7_search_crash_resume) had trial 66412293 at val_loss 1.6652 at rung 1, above the
cut 1.6167 of the two trials before it, trained on to epoch 2 after ``--resume``. It is now
judged during the replay against the values recorded there before it, and stopped (its
``ended`` marker) when below the cut. The progress line's last count left out trials only the
tables know (trained after Tune's last snapshot, not continued): 'trials 3/5 finished (0
stopped early)' above 'trials: 5 (3 completed, 2 stopped early)'. Hand-made folders; no Ray."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace


from jetstudy.study.progress import StudyProgress
from jetstudy.study.rungs import replay_rungs
from tests.conftest import make_small_config
from tests.study.rung_folders import asha as _asha
from tests.study.rung_folders import trial_log as _trial


def test_a_trial_unjudged_at_its_rung_is_judged_by_the_replay(tmp_path: Path) -> None:
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 4, "grace_period": 1,
                                                      "reduction_factor": 2})
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.49, 1.48, 1.47], True, 100)  # ran to the end
    _trial(trials, "b", [1.60], True, 101)  # stopped at rung 1 before the crash
    _trial(trials, "c", [1.70], False, 102)  # at rung 1, below the cut 1.55: not judged
    _trial(trials, "d", [1.52], False, 103)  # then this one: cut of a, b, c is 1.60
    _trial(trials, "e", [1.51, 1.58], False, 104)  # promoted at 1, now at rung 2 (cut 1.49)
    _trial(trials, "f", [1.55, 1.46, 1.45], False, 105)  # passed rung 2, mid epoch 4
    scheduler = _asha(cfg)
    # rung 1: all six; rung 2: a, e, f; rung 4 (max_epochs, a rung of Ray's too): a
    assert replay_rungs(scheduler, cfg, trials) == 6 + 3 + 1
    assert (trials / "c" / "ended").read_text() == "1\n"  # stopped at its rung
    assert not (trials / "d" / "ended").exists()  # 1.52 beats 1.60: goes on
    assert (trials / "e" / "ended").read_text() == "2\n"  # 1.58 below the cut of a, f at 2
    assert not (trials / "f" / "ended").exists()
    rungs = dict(scheduler._brackets[0]._rungs)
    assert rungs[1] == {"a": -1.5, "b": -1.6, "c": -1.7, "d": -1.52, "e": -1.51, "f": -1.55}
    assert rungs[2] == {"a": -1.49, "f": -1.46, "e": -1.58}


def test_metric_mode_max_is_judged_the_other_way(tmp_path: Path) -> None:
    cfg = make_small_config(tmp_path, "s", search={"metric": "val_acc"},
                            scheduler={"max_epochs": 2, "grace_period": 1,
                                       "reduction_factor": 2})
    assert cfg.mode == "max"
    trials = tmp_path / "trials"
    _trial(trials, "a", [0.60, 0.62], True, 100, "val_acc")
    _trial(trials, "b", [0.40], False, 101, "val_acc")  # below 0.60: stopped
    _trial(trials, "c", [0.70], False, 102, "val_acc")  # above the cut of a, b: goes on
    replay_rungs(_asha(cfg), cfg, trials)
    assert (trials / "b" / "ended").exists() and not (trials / "c" / "ended").exists()


def test_the_last_progress_count_includes_trials_only_the_folders_know(tmp_path: Path) -> None:
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.49], True, 100)
    _trial(trials, "b", [1.60], True, 101)  # not in Tune's snapshot: only the tables know it
    _trial(trials, "c", [1.45, 1.40], True, 102)
    lines: list[str] = []
    progress = StudyProgress(3, "val_loss", "min", 2, lines.append, state_dir=str(trials))
    known = [SimpleNamespace(trial_id=t, status="TERMINATED", config={"trial_number": n},
                             last_result={"epoch": 2, "val_loss": v, "n_params": 50},
                             experiment_tag=f"{n + 1}_depth=1")
             for n, (t, v) in enumerate([("a", 1.49), ("c", 1.40)])]
    progress.on_experiment_end(known)
    c = progress.counts
    assert (c.finished, c.stopped, c.running, c.failed) == (3, 1, 0, 0)
    assert c.format().startswith("trials 3/3 finished (1 stopped early, 0 failed), 0 running "
                                 "| best val_loss 1.4000 (c)")


def test_a_trial_the_time_budget_cut_at_a_rung_is_left_as_it_was(tmp_path: Path) -> None:
    """Tune does not run a budget-cut trial again (no marker: its stop_reason is time_budget);
    the replay must not turn it into an ASHA stop."""
    import pandas as pd

    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 2, "grace_period": 1,
                                                      "reduction_factor": 2})
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.49], True, 100)
    _trial(trials, "b", [1.70], False, 101)
    pd.DataFrame({"trial_id": ["a", "b"], "stop_reason": ["max_epochs", "time_budget"]}
                 ).to_parquet(tmp_path / "trials.parquet")
    scheduler = _asha(cfg)
    replay_rungs(scheduler, cfg, trials)
    assert not (trials / "b" / "ended").exists()
    assert dict(scheduler._brackets[0]._rungs)[1] == {"a": -1.5, "b": -1.7}


def test_a_diverged_trial_at_a_rung_gets_no_marker(tmp_path: Path) -> None:
    """A trial that diverged after its rung epoch failed (Tune runs it no more): no stop."""
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 2, "grace_period": 1,
                                                      "reduction_factor": 2})
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.49], True, 100)
    _trial(trials, "b", [1.70], False, 101)
    (trials / "b" / "diverged").write_text("non-finite training loss at epoch 2\n")
    replay_rungs(_asha(cfg), cfg, trials)
    assert not (trials / "b" / "ended").exists()


def test_while_tune_runs_the_count_holds_the_ended_trials_only_the_folders_know(
        tmp_path: Path) -> None:
    """Mid-run after --resume the line said 'trials 1/5 finished' with 3 trials finished
    before the crash; an orphan not ended yet may still be adopted and is not counted."""
    trials = tmp_path / "trials"
    _trial(trials, "a", [1.50, 1.49], True, 100)  # known to Tune, finished
    _trial(trials, "b", [1.60], True, 101)  # only the folders know it: stopped by ASHA
    _trial(trials, "c", [1.55], False, 102)  # lost, not ended: may be adopted
    progress = StudyProgress(4, "val_loss", "min", 2, [].append, state_dir=str(trials),
                             min_interval_s=0.0)
    known = [SimpleNamespace(trial_id="a", status="TERMINATED", config={"trial_number": 0},
                             last_result={"epoch": 2, "val_loss": 1.49, "n_params": 50}),
             SimpleNamespace(trial_id="d", status="RUNNING", config={"trial_number": 3},
                             last_result={})]
    progress.on_step_begin(0, known)
    c = progress.counts
    assert (c.finished, c.stopped, c.running) == (2, 1, 1)
    progress.on_experiment_end(known)  # the last count: as the tables, c too
    assert (c.finished, c.stopped, c.running) == (3, 2, 1)
