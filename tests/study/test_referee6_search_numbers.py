"""Round 6: an older, never-resumed study (``trials.parquet`` written before ``trial_number``)
is numbered when it is loaded, as a resumed study's tables are when they are written
(``jetstudy.study.trial_numbers``): the Optuna journal beside the table, else the table's row
order (Ray Tune's, as such tables were written). ``report``, ``best/``'s choice and the export
(all through ``analysis.tables.load_tables``) then break an exact tie by the search's order,
not by the first ``trial_id``; ``rerun``'s comparison pairs such a table's rows by number.
Hand-made folders and a hand-made journal, no Ray."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd

from jetstudy.analysis.summary import best_trial
from jetstudy.analysis.tables import load_tables
from jetstudy.study.rerun import compare_runs
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.table_schema import TRIAL_ORDER


def _older_table(folder: Path, ids: list[str], losses: list[float]) -> None:
    """A trials table as jetstudy wrote it before ``trial_number``: rows in Tune's order."""
    folder.mkdir(parents=True)
    pd.DataFrame({"trial_id": ids, "status": "completed", "n_params": 100, "epochs": 2,
                  "train_loss": losses, "val_loss": losses, "best_val_loss": losses,
                  "lr": [0.01] * len(ids)}).to_parquet(folder / "trials.parquet")
    rows = [{"trial_id": t, "epoch": e, "train_loss": v, "val_loss": v}
            for t, v in zip(ids, losses) for e in (1, 2)]
    pd.DataFrame(rows).to_parquet(folder / "epochs.parquet")


def test_an_older_table_takes_the_journals_numbers_on_load(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    # Tune listed them z, a, m; Optuna numbered m first (0), then z (1), a (2)
    _older_table(folder, ["zzzz0001", "aaaa0002", "mmmm0003"], [0.4, 0.4, 0.4])
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    for tid in ("mmmm0003", "zzzz0001", "aaaa0002"):
        study.ask().set_user_attr("trial_id", tid)
    trials = load_tables(folder).trials
    assert dict(zip(trials["trial_id"], trials[TRIAL_ORDER])) == {
        "mmmm0003": 0, "zzzz0001": 1, "aaaa0002": 2}
    # the exact tie goes to Optuna's first, not to the first id ("aaaa0002")
    assert best_trial(trials, "val_loss", False)["trial_id"] == "mmmm0003"


def test_without_a_journal_the_rows_order_numbers_them(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    _older_table(folder, ["zzzz0001", "aaaa0002", "mmmm0003"], [0.5, 0.4, 0.4])
    trials = load_tables(folder).trials
    assert trials[TRIAL_ORDER].tolist() == [0, 1, 2]
    assert best_trial(trials, "val_loss", False)["trial_id"] == "aaaa0002"
    _older_table(tmp_path / "tie", ["zzzz0001", "aaaa0002"], [0.4, 0.4])
    assert best_trial(load_tables(tmp_path / "tie").trials, "val_loss",
                      False)["trial_id"] == "zzzz0001"  # Tune's first, not the first id


def test_a_numbered_table_loads_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    _older_table(folder, ["a", "b"], [0.4, 0.4])
    table = pd.read_parquet(folder / "trials.parquet").assign(**{TRIAL_ORDER: [5, 3]})
    table.to_parquet(folder / "trials.parquet")
    trials = load_tables(folder).trials
    assert trials[TRIAL_ORDER].tolist() == [5, 3]
    assert best_trial(trials, "val_loss", False)["trial_id"] == "b"


def test_rerun_of_an_older_study_pairs_rows_by_the_journals_numbers(tmp_path: Path) -> None:
    """The older study's table lacks the column, the rerun's has it. With the study's journal
    the rows pair by number and a differing trial is named; without one the rows are compared
    as a whole, and the number column alone is no difference (it said 'columns only in the
    rerun: trial_number', not reproduced)."""
    _older_table(tmp_path / "s", ["zzzz0001", "aaaa0002"], [0.5, 0.4])
    _older_table(tmp_path / "r", ["q", "p"], [0.4, 0.5])
    rerun = pd.read_parquet(tmp_path / "r" / "trials.parquet")
    rerun.assign(**{TRIAL_ORDER: [1, 0]}).to_parquet(tmp_path / "r" / "trials.parquet")
    assert compare_runs(tmp_path / "s", tmp_path / "r") == []  # no journal: whole rows
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME,
                                storage=optuna_storage(tmp_path / "s"))
    for tid in ("aaaa0002", "zzzz0001"):  # Optuna proposed aaaa0002 first
        study.ask().set_user_attr("trial_id", tid)
    differ = compare_runs(tmp_path / "s", tmp_path / "r")  # number 0: 0.4 there, 0.5 here
    assert differ and all("trial_number 0, 1" in d for d in differ), differ
    rerun.assign(**{TRIAL_ORDER: [0, 1]}).to_parquet(tmp_path / "r" / "trials.parquet")
    assert compare_runs(tmp_path / "s", tmp_path / "r") == []  # q (0) = aaaa0002 (0)


def test_older_trials_are_numbered_in_the_order_tune_created_them(tmp_path: Path) -> None:
    """Tune's list of trials (its experiment state, the rows of an older table) is in no
    particular order; the counter that begins each trial's experiment_tag is the order of
    proposal, and numbers the trials when no journal names them."""
    import json

    folder = tmp_path / "old"
    _older_table(folder, ["zzzz0001", "aaaa0002", "mmmm0003"], [0.4, 0.4, 0.4])
    (folder / "ray").mkdir()
    state = {"trial_data": [[json.dumps({"trial_id": t, "experiment_tag": f"{k}_depth=1"}),
                             "{}"] for t, k in (("zzzz0001", 3), ("mmmm0003", 1),
                                                ("aaaa0002", 2))]}
    (folder / "ray" / "experiment_state-2026-01-01_00-00-00.json").write_text(json.dumps(state))
    trials = load_tables(folder).trials
    assert dict(zip(trials["trial_id"], trials[TRIAL_ORDER])) == {
        "mmmm0003": 0, "aaaa0002": 1, "zzzz0001": 2}
    assert best_trial(trials, "val_loss", False)["trial_id"] == "mmmm0003"


def test_patience_counts_the_search_metric_in_its_direction() -> None:
    """``scheduler.type: patience`` stops on ``search.metric`` (the README said val_loss): a
    val_acc study whose accuracy still improves goes on while its val_loss rises."""
    from jetstudy.trainables.bookkeeping import EpochBook
    from jetstudy.trainables.objective import Objective

    book = EpochBook(Objective.of("val_acc"), max_epochs=10, checkpoint_every=5, patience=2)
    verdicts = [book.close({"epoch": e, "val_acc": acc, "val_loss": loss})
                for e, (acc, loss) in enumerate([(0.5, 1.0), (0.6, 1.1), (0.7, 1.2)], 1)]
    assert not any(v.converged for v in verdicts)
    verdicts = [book.close({"epoch": e, "val_acc": 0.65, "val_loss": 0.5}) for e in (4, 5)]
    assert [v.converged for v in verdicts] == [False, True]  # 2 epochs without a better acc
