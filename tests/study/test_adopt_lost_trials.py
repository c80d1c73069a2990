"""A driver killed twice: the next driver continues trials Tune lost (trained, not ended,
unknown to Tune's snapshot) with their own still-running Optuna trial, and nothing else.

CI caught the one case it got wrong: an Optuna trial a kill cut before its parameters were
drawn has no parameters, so "every parameter equal" held for any folder; the next driver gave
it the folder of a trial ASHA had already stopped (pruned in Optuna) and trained that on,
leaving two finished Optuna trials for one row of the tables."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage
from jetstudy.trainables.trialfiles import CONFIG_FILE, EPOCHS_FILE, STATE_FILE

RAW = {"space": {"depth": [1, 3], "width": [4, 64]}, "search": {"num_trials": 10, "seed": 2},
       "scheduler": {"max_epochs": 6, "grace_period": 2}}


def _searcher(folder: Path):
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    return make_searcher(from_dict(RAW), folder).searcher


def _trained(folder: Path, trial_id: str, config: dict) -> None:
    """The files a trial that trained two epochs leaves (no `ended` marker: killed)."""
    where = folder / "trials" / trial_id
    where.mkdir()
    (where / CONFIG_FILE).write_text(json.dumps(config))
    (where / STATE_FILE).write_bytes(b"checkpoint")
    (where / EPOCHS_FILE).write_text("".join(json.dumps({"epoch": e, "val_loss": 1.6 - e / 10})
                                             + "\n" for e in (1, 2)))


def test_only_a_lost_trials_own_running_optuna_trial_takes_it_on(tmp_path: Path) -> None:
    first = _searcher(tmp_path)  # driver 1
    stopped = first.suggest("stopped")  # trained 2 epochs, then ASHA stopped it: pruned
    for epoch in (1, 2):
        first.on_trial_result("stopped", {"epoch": epoch, "val_loss": 1.6 - epoch / 10})
    first.on_trial_complete("stopped", {"epoch": 2, "val_loss": 1.4})
    _trained(tmp_path, "stopped", stopped)
    lost = first.suggest("lost")  # trained 2 epochs, then the driver was killed
    _trained(tmp_path, "lost", lost)
    # driver 2, killed while its next trial was asked for: no parameters, or only some
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    study.ask()
    study.ask().suggest_int("depth", 1, 3)
    states = {t.number: t.state for t in study.trials}
    assert states[0] == optuna.trial.TrialState.PRUNED

    third = _searcher(tmp_path)  # driver 3
    config = third.suggest("next")
    # the lost trial continues, under Tune's new id, with its own Optuna trial (number 1)
    assert config == lost
    assert not (tmp_path / "trials" / "lost").exists()
    assert (tmp_path / "trials" / "next" / STATE_FILE).read_bytes() == b"checkpoint"
    assert third._ot_trials["next"].number == 1
    # the stopped one is not taken on by the cut trials: its folder stays, nothing continues it
    assert (tmp_path / "trials" / "stopped" / CONFIG_FILE).is_file()
    after = third.suggest("after")
    assert after != stopped and not (tmp_path / "trials" / "after").exists()
    assert third._ot_trials["after"].number not in (0, 2, 3)
