"""Round 6: the progress line's last count against the tables when ``search.time_budget_s``
ends the study. A trial whose epoch was written to its log but not yet received by Tune when
the budget ran out is in the tables (they read the log) but Tune's last result lacks it: the
line said "trials 3/8 finished (1 stopped early ...)" right above "trials: 4 (2 completed, 2
stopped early ...)". The last count now reads the ended trials' epoch logs (as
``collect.build_tables`` does). Hand-made trial folders; no Ray."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from jetstudy.study.progress import StudyProgress
from jetstudy.trainables.trialfiles import append_epoch, trial_folder


def _trial(state: Path, trial_id: str, status: str, last: dict, logged: list[float]) -> object:
    trial_folder(str(state), trial_id, {"depth": 1})
    for e, acc in enumerate(logged, start=1):
        append_epoch(str(state), trial_id, {"epoch": e, "val_acc": acc, "n_params": 50})
    return SimpleNamespace(trial_id=trial_id, status=status, last_result=last,
                           config={"trial_number": len(list(state.iterdir())) - 1})


def test_the_last_count_is_the_tables_count(tmp_path: Path) -> None:
    state = tmp_path / "trials"
    state.mkdir()
    trials = [
        _trial(state, "done", "TERMINATED", {"epoch": 4, "val_acc": 0.6}, [0.5, 0.55, 0.58, 0.6]),
        # the budget cut it after its first epoch was written, before Tune received it
        _trial(state, "cut1", "TERMINATED", {}, [0.4]),
        # Tune received 2 epochs, the log holds 4 (max_epochs): complete in the tables
        _trial(state, "late", "TERMINATED", {"epoch": 2, "val_acc": 0.5}, [0.45, 0.5, 0.6, 0.7]),
        _trial(state, "never", "TERMINATED", {}, []),  # no epoch at all: not in the tables
    ]
    lines: list[str] = []
    progress = StudyProgress(total=4, metric="val_acc", mode="max", max_epochs=4,
                             sink=lines.append, state_dir=str(state))
    progress._recount(trials)  # during the run: Tune's view
    c = progress.counts
    assert (c.finished, c.stopped) == (2, 1) and c.best_trial == "done"
    progress.on_experiment_end(trials)  # the last count: the logs, as the tables
    assert (c.finished, c.stopped, c.failed) == (3, 1, 0)
    assert c.best_trial == "late" and c.best == 0.7
    assert lines[-1].startswith("trials 3/4 finished (1 stopped early, 0 failed), 0 running | "
                                "best val_acc 0.7000 (late)")
    assert lines[-1].endswith("ETA 0s")  # 3 of 4 finished, but the study is over


def test_older_unnumbered_trials_rank_in_the_order_tune_created_them() -> None:
    """Tune's list is in no proposal order; its experiment_tag counter is (the tables number
    such trials by it): an exact tie goes to the trial created first."""
    first = SimpleNamespace(trial_id="zz", status="TERMINATED", config={},
                            experiment_tag="1_depth=1", last_result={"epoch": 4, "val_acc": 0.6})
    second = SimpleNamespace(trial_id="aa", status="TERMINATED", config={},
                             experiment_tag="2_depth=1", last_result={"epoch": 4, "val_acc": 0.6})
    progress = StudyProgress(total=2, metric="val_acc", mode="max", max_epochs=4, sink=None)
    progress._recount([second, first])  # Tune's list: the second first
    assert progress.counts.best_trial == "zz"
