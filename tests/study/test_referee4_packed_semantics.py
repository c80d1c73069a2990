"""The packed path answers as the self-training path does (round 4 of the referee): the same
tiny study and seed run with ``resources.pack_size: 0`` and with a pack larger than the study
(``pack_size`` 8 for 3 trials, which differ in learning rate, L1 and L2 on and off, and
dropout, all in one pack).

Checked: the same columns and dtypes in ``trials.parquet`` and ``epochs.parquet``, the same
statuses and stop reasons, one Optuna trial per row; every packed trial's ``best.pt`` loads into
the plain model (``study.evaluate.load_best_model``) and gives back the validation loss and
accuracy the pack recorded for that epoch; ``best/`` holds the plain model's test predictions,
and the export of the packed best trial checks itself against it."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest
import torch

from jetstudy.study.evaluate import load_best_model
from jetstudy.study.launch import run_study
from jetstudy.study.prepare import prepare_data
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.trainables.schema import CLASSES

pytestmark = pytest.mark.slow

N_TRIALS, MAX_EPOCHS, PACK = 3, 2, 8
#: one pack holds them all: L1 on and L2 off, the reverse, both on (the sampler's third)
POINTS = [{"depth": 2, "width_0": 16, "width_1": 4, "lr": 0.003, "l1": 1e-4, "l2": 0.0,
           "dropout": 0.2},
          {"depth": 1, "width_0": 4, "lr": 0.001, "l1": 0.0, "l2": 1e-4, "dropout": 0.0}]


@pytest.fixture(scope="module")
def both(ray_cluster, small_config, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("semantics")
    out = {}
    for size in (0, PACK):
        cfg = small_config(root, f"pack{size}", data={"synthetic_jets": 1000},
                           space={"depth": [1, 2], "width": [4, 16], "l1": [0, 1e-3],
                                  "l2": [0, 1e-3], "dropout": [0, 0.3]},
                           search={"num_trials": N_TRIALS, "max_concurrent": N_TRIALS,
                                   "initial_points": POINTS},
                           scheduler={"type": "fifo", "max_epochs": MAX_EPOCHS},
                           training={"batch_size": 64, "train_eval_jets": 200},
                           resources={"num_cpus": 2, "pack_size": size, "max_failures": 0})
        out[size] = (cfg, run_study(cfg))
    return out


def _tables(outcome) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.read_parquet(outcome.folder / "trials.parquet"),
            pd.read_parquet(outcome.folder / "epochs.parquet"))


def test_same_columns_dtypes_and_statuses(both) -> None:
    (plain_t, plain_e), (packed_t, packed_e) = (_tables(both[s][1]) for s in (0, PACK))
    assert list(packed_t.columns) == list(plain_t.columns)
    assert list(packed_e.columns) == list(plain_e.columns)
    assert dict(packed_t.dtypes) == dict(plain_t.dtypes)
    assert dict(packed_e.dtypes) == dict(plain_e.dtypes)
    for trials in (plain_t, packed_t):
        assert len(trials) == N_TRIALS and (trials["status"] == "completed").all()
        assert (trials["stop_reason"] == "max_epochs").all() and (trials["error"] == "").all()
    # the same configurations (seeded sampler, the points first), L1/L2 each on and off
    key = ["depth", "widths", "lr", "l1", "l2", "dropout"]
    assert packed_t[key].sort_values("lr").to_numpy().tolist() == \
        plain_t[key].sort_values("lr").to_numpy().tolist()
    assert (packed_t["l1"] == 0).any() and (packed_t["l1"] > 0).any()
    assert (packed_t["l2"] == 0).any() and (packed_t["l2"] > 0).any()


def test_one_pack_larger_than_the_study_trained_every_trial(both) -> None:
    _, outcome = both[PACK]
    (stats,) = json.loads((outcome.folder / "packs.json").read_text())
    # built for the 3 trials it can hold at once, not the 8 asked for (slots are preallocated)
    assert stats["capacity"] == N_TRIALS and stats["registered"] == N_TRIALS
    assert stats["trial_epochs"] == N_TRIALS * MAX_EPOCHS and stats["members"] == 0
    provenance = json.loads((outcome.folder / "provenance.json").read_text())["packing"]
    assert (provenance["resolved"], provenance["packs"]) == (PACK, 1)
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(outcome.folder))
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * N_TRIALS
    assert all(sorted(t.intermediate_values) == [1, 2] for t in study.trials)


def test_packed_best_weights_load_into_the_plain_model(both) -> None:
    cfg, outcome = both[PACK]
    trials, epochs = _tables(outcome)
    splits = prepare_data(cfg, outcome.folder).splits
    x, y = torch.tensor(splits.x_val), torch.tensor(splits.y_val)
    for row in trials.itertuples():
        model, _, epoch = load_best_model(outcome.folder / "trials" / row.trial_id / "best.pt",
                                          row.best_epoch)
        with torch.no_grad():
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        acc = float((logits.argmax(1) == y).float().mean())
        recorded = epochs[(epochs["trial_id"] == row.trial_id) & (epochs["epoch"] == epoch)]
        assert loss == pytest.approx(recorded["val_loss"].item(), abs=1e-5), row.trial_id
        assert acc == pytest.approx(recorded["val_acc"].item(), abs=1e-6), row.trial_id  # float32 mean


def test_best_folder_and_export_hold_the_plain_models_predictions(both) -> None:
    from jetstudy.study.export import export_model

    cfg, outcome = both[PACK]
    best = json.loads((outcome.folder / "best" / "test_metrics.json").read_text())
    predictions = pd.read_parquet(outcome.folder / "best" / "test_predictions.parquet")
    model, _, _ = load_best_model(outcome.folder / "trials" / best["trial_id"] / "best.pt")
    splits = prepare_data(cfg, outcome.folder).splits
    with torch.no_grad():
        probs = torch.softmax(model(torch.tensor(splits.x_test)), dim=1).numpy()
    stored = predictions[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert np.abs(probs - stored).max() < 1e-6
    exported = export_model(outcome.folder)
    assert exported.trial_id == best["trial_id"] and exported.max_difference < 1e-5
