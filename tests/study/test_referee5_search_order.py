"""Round 5: every row of the tables has a ``trial_number``, unique, and the tables are sorted by it.

Trials started before the column existed (an older study resumed by this version) had none, so
an exact tie went to any numbered trial over them (missing = last) even though they were
proposed first; and the rows came in Ray Tune's order, not the search's. Hand-made trial folders
and a hand-made Optuna journal, no Ray.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd

from jetstudy.analysis.summary import best_trial
from jetstudy.study.collect import build_tables
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.study.trial_numbers import in_trial_order, number_unnumbered
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.trialfiles import append_epoch, trial_folder
from tests.conftest import make_small_config


def _epoch(e: int, val: float) -> dict:
    return {"epoch": e, "train_loss": val, "train_loss_running": val, "val_loss": val,
            "val_acc": 0.5, "val_auc": 0.6, "n_params": 100, "flops": 200, "time_s": 1.0 * e}


def _trial(state: Path, trial_id: str, number: int | None, vals: list[float]) -> None:
    config = {"depth": 1, "width_0": 8, "lr": 1e-3}
    if number is not None:
        config[TRIAL_ORDER] = number
    trial_folder(str(state), trial_id, config)
    for e, v in enumerate(vals, start=1):
        append_epoch(str(state), trial_id, _epoch(e, v))


def _known(state: Path, ids: list[str]) -> dict:
    return {t: (json.loads((state / t / "config.json").read_text()), "", "") for t in ids}


def _study(tmp_path: Path) -> tuple[Path, Path, object]:
    folder = tmp_path / "s"
    (folder / "trials").mkdir(parents=True)
    cfg = make_small_config(tmp_path, "s", scheduler={"max_epochs": 2})
    return folder, folder / "trials", cfg


def test_older_trials_take_their_optuna_number_from_the_journal(tmp_path: Path) -> None:
    folder, state, cfg = _study(tmp_path)
    # Optuna numbered the old trials 0 and 1 (ids z..., a...); a number-era trial got 2
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    for tid in ("zzzz0001", "aaaa0002", "mmmm0003"):
        study.ask().set_user_attr("trial_id", tid)
    _trial(state, "zzzz0001", None, [0.5, 0.4])
    _trial(state, "aaaa0002", None, [0.6, 0.45])
    _trial(state, "mmmm0003", 2, [0.5, 0.4])  # exact tie with trial 0
    # Tune's list in another order than the search's: the tables must not follow it
    trials, epochs = build_tables(_known(state, ["mmmm0003", "aaaa0002", "zzzz0001"]), cfg,
                                  str(state))
    assert trials["trial_id"].tolist() == ["zzzz0001", "aaaa0002", "mmmm0003"]
    assert trials[TRIAL_ORDER].tolist() == [0, 1, 2]
    assert epochs["trial_id"].tolist() == ["zzzz0001"] * 2 + ["aaaa0002"] * 2 + ["mmmm0003"] * 2
    assert epochs["epoch"].tolist() == [1, 2] * 3
    # the tie goes to the first proposed (number 0), not to the only one numbered before
    assert best_trial(trials, "val_loss", False) is not None
    assert best_trial(trials, "val_loss", False)["trial_id"] == "zzzz0001"


def test_without_a_journal_older_trials_come_first_in_tunes_order(tmp_path: Path) -> None:
    folder, state, cfg = _study(tmp_path)
    _trial(state, "bbbb0001", None, [0.5, 0.4])
    _trial(state, "aaaa0002", None, [0.5, 0.4])
    _trial(state, "cccc0003", 3, [0.5, 0.4])
    trials, _ = build_tables(_known(state, ["cccc0003", "bbbb0001", "aaaa0002"]), cfg,
                             str(state))
    numbers = dict(zip(trials["trial_id"], trials[TRIAL_ORDER]))
    assert numbers == {"bbbb0001": 0, "aaaa0002": 1, "cccc0003": 3}
    assert trials[TRIAL_ORDER].is_unique and trials[TRIAL_ORDER].is_monotonic_increasing


def test_free_numbers_never_collide_and_a_numbered_table_is_kept() -> None:
    t = pd.DataFrame({"trial_id": ["a", "b", "c", "d"],
                      TRIAL_ORDER: pd.array([1, None, 0, None], dtype="Int64")})
    out = number_unnumbered(t)
    assert out[TRIAL_ORDER].tolist() == [1, 2, 0, 3]
    assert number_unnumbered(out) is out  # all numbered: nothing read, nothing changed


def test_sorting_is_stable_and_keeps_every_row() -> None:
    trials = pd.DataFrame({"trial_id": ["x", "y", "z"], TRIAL_ORDER: [2, 0, 1]})
    epochs = pd.DataFrame({"trial_id": ["x", "x", "y", "z", "z", "w"],
                           "epoch": [2, 1, 1, 2, 1, 1]})
    t, e = in_trial_order(trials, epochs)
    assert t["trial_id"].tolist() == ["y", "z", "x"]
    assert list(zip(e["trial_id"], e["epoch"])) == [("y", 1), ("z", 1), ("z", 2), ("x", 1),
                                                    ("x", 2), ("w", 1)]
    old = pd.DataFrame({"trial_id": ["b", "a"]})  # an older table: left in its order
    assert in_trial_order(old, epochs.iloc[:0])[0]["trial_id"].tolist() == ["b", "a"]


def test_progress_line_ranks_an_older_unnumbered_trial_as_the_tables_do() -> None:
    """The progress line gave a trial without ``trial_number`` the last place in a tie, the
    tables (above) the first: an older study's line named another best than its report."""
    from types import SimpleNamespace

    from jetstudy.study.progress import StudyProgress

    def trial(trial_id: str, number: int | None) -> SimpleNamespace:
        config = {"depth": 1} if number is None else {"depth": 1, TRIAL_ORDER: number}
        return SimpleNamespace(trial_id=trial_id, status="TERMINATED", config=config,
                               last_result={"epoch": 2, "val_loss": 0.4, "n_params": 100},
                               run_metadata=None)

    for ids in (("aaaa0001", "zzzz0003"), ("zzzz0001", "aaaa0003")):
        progress = StudyProgress(total=2, metric="val_loss", mode="min", max_epochs=2,
                                 sink=None)
        progress._recount([trial(ids[0], None), trial(ids[1], 2)])  # Tune's order: old first
        assert progress.counts.best_trial == ids[0]


def test_patience_one_below_max_epochs_is_said_to_stop_nothing() -> None:
    """scheduler.patience >= max_epochs was refused, but max_epochs - 1 stops nothing either
    (a trial converges ``patience`` epochs after its best, epoch 1 at the earliest)."""
    from jetstudy.study.config import from_dict

    cfg = from_dict({"scheduler": {"type": "patience", "max_epochs": 5, "patience": 4}})
    (said,) = [w for w in cfg.warnings if "scheduler.patience" in w]
    assert "no trial stops early" in said and "at most 3" in said
    fine = from_dict({"scheduler": {"type": "patience", "max_epochs": 5, "patience": 3}})
    assert not [w for w in fine.warnings if "scheduler.patience" in w]


def test_a_number_two_rows_share_stays_with_the_journals_trial(tmp_path: Path) -> None:
    """A driver died before Tune's first snapshot: its journal was set aside and the search
    numbered afresh, but its trained folder ('old', number 0) is still listed beside the new
    trial 0: one row keeps 0 (the journal's), the other gets a free number."""
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    study.ask().set_user_attr("trial_id", "new0")
    t = pd.DataFrame({"trial_id": ["new0", "old"], TRIAL_ORDER: pd.array([0, 0], dtype="Int64")})
    out = number_unnumbered(t, tmp_path)
    assert dict(zip(out["trial_id"], out[TRIAL_ORDER])) == {"new0": 0, "old": 1}
