"""Referee round 4 (task B): what a rerun of the same study reproduces, without Ray: the
study's own searcher (``make_searcher``) asked for configurations in two folders, and the
trials table built from them (``collect.build_tables``) with hand-written epoch logs.

Found and fixed here: trials.parquet had no stable order of its trials (``trial_id`` is Ray's,
random), so nothing joined a rerun's trials with the first run's and a tie of the best went by
the random id. Each trial now carries ``trial_number`` (its Optuna trial number) in its config
(``trials/<id>/config.json``) and in ``trials.parquet``, equal to the journal's number; a rerun
proposes the same configuration and seed under each number, so a tie of the best names the same
trial number.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from jetstudy.analysis.summary import best_trial
from jetstudy.study.collect import build_tables
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.trialfiles import CONFIG_FILE, EPOCHS_FILE, SEED_KEY


def _run(root: Path, name: str, ids: list[str]):
    """Three trials proposed one after the other, each 'trained' to the same loss (a tie)."""
    from tests.conftest import make_small_config

    cfg = make_small_config(root, name, space={"depth": [1, 2], "width": [4, 16]},
                            search={"num_trials": 3, "max_concurrent": 1, "seed": 5},
                            scheduler={"type": "fifo", "max_epochs": 1})
    folder = root / name
    (folder / "trials").mkdir(parents=True)
    searcher = make_searcher(cfg, folder)
    known = {}
    for trial_id in ids:
        config = searcher.suggest(trial_id)
        trial = folder / "trials" / trial_id
        trial.mkdir()
        (trial / CONFIG_FILE).write_text(json.dumps(config))
        record = {"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_acc": 0.8,
                  "n_params": 100, "time_s": 1.0, "flops": 200}  # every trial ties
        (trial / EPOCHS_FILE).write_text(json.dumps(record) + "\n")
        searcher.on_trial_complete(trial_id, {**record, "config": config})
        known[trial_id] = (config, "", "")
    trials, _ = build_tables(known, cfg, str(folder / "trials"))
    return folder, trials


def test_a_rerun_numbers_the_same_configurations_and_names_the_same_best(tmp_path) -> None:
    # Ray's ids: the first run's sort in proposal order, the rerun's the other way round
    folder, first = _run(tmp_path, "first", ["aa000001", "bb000002", "cc000003"])
    _, again = _run(tmp_path, "again", ["zz000001", "yy000002", "xx000003"])
    assert first[TRIAL_ORDER].tolist() == again[TRIAL_ORDER].tolist() == [0, 1, 2]
    keys = ["depth", "widths", "lr", "l1", "l2", "dropout"]
    assert first[keys].equals(again[keys])
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    assert {t.user_attrs["trial_id"]: t.number for t in study.trials} == dict(
        zip(first["trial_id"], first[TRIAL_ORDER]))
    seeds = [[json.loads((f / "trials" / i / CONFIG_FILE).read_text())[SEED_KEY] for i in ids]
             for f, ids in ((folder, first["trial_id"]),
                            (tmp_path / "again", again["trial_id"]))]
    assert seeds[0] == seeds[1]
    # the three tie on value, status and size (forced equal here): the lowest number wins
    first, again = (t.assign(n_params=100) for t in (first, again))
    assert best_trial(first, "val_loss", False)[TRIAL_ORDER] == 0
    assert best_trial(again, "val_loss", False)[TRIAL_ORDER] == 0
    assert best_trial(again, "val_loss", False)["trial_id"] == "zz000001"
