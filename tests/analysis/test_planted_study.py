"""Planted regimes in a real (small) study: the regime rules must find them in real curves.

Four configurations, each trained for 20 epochs on 60,000 synthetic jets (36,000 to train): a
1-layer, 2-unit tagger cannot fit the jets (underfit against the Bayes-optimal loss of
``reference.json``); a 4 x 256 unregularised MLP memorises them (overfit: its validation loss
turns up after ~10 epochs); a 3 x 128 one with dropout 0.25 and L2 ends ~12% above the Bayes
loss, 5% above its training loss (good); a 2 x 32 one at a learning rate of 3 diverges (unstable).
Fewer jets would not do: on 3,000 jets no tagger gets within 30% of the Bayes loss, so a
"good" one cannot exist. The configurations are fed to Optuna as the study's initial points,
so the study is a real Ray Tune + Optuna run; the losses carry the trial loop's standard
errors.
"""

from __future__ import annotations

import pandas as pd
import pytest

from jetstudy.analysis import load_tables
from jetstudy.analysis.regimes import assess_regimes, known_reference
from jetstudy.analysis.report import write_report
from jetstudy.study.config import from_dict
from jetstudy.study.launch import run_study

pytestmark = pytest.mark.slow

LR = 3e-3
TINY = {"depth": 1, "width_0": 2, "dropout": 0.0, "l2": 0.0, "lr": LR}
BIG = {"depth": 4, "width_0": 256, "width_1": 256, "width_2": 256, "width_3": 256,
       "dropout": 0.0, "l2": 0.0, "lr": LR}
MODEST = {"depth": 3, "width_0": 128, "width_1": 128, "width_2": 128, "dropout": 0.25,
          "l2": 1e-4, "lr": LR}
DIVERGING = {"depth": 2, "width_0": 32, "width_1": 32, "dropout": 0.0, "l2": 0.0, "lr": 3.0}
PLANTED = {"2": "underfit", "256-256-256-256": "overfit", "128-128-128": "good"}


@pytest.fixture(scope="module")
def planted(ray_cluster, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("planted")
    cfg = from_dict({
        "data": {"synthetic_jets": 60_000, "synthetic_seed": 4},
        "space": {"depth": [1, 4], "width": [2, 256], "dropout": [0, 0.3], "l1": [0, 0],
                  "l2": [0, 1e-3], "lr": [LR, 3.0]},
        "search": {"num_trials": 4, "max_concurrent": 2,
                   "initial_points": [TINY, BIG, MODEST, DIVERGING]},
        "scheduler": {"type": "fifo", "max_epochs": 20},
        "training": {"batch_size": 256},
        "resources": {"num_cpus": 2},
        "storage": {"results_dir": str(root), "name": "planted"},
    })
    outcome = run_study(cfg)
    return outcome.folder


def _verdicts(folder) -> pd.DataFrame:
    tables = load_tables(folder)
    assert tables.reference is not None and tables.reference["bayes_val_loss"] > 0
    v = assess_regimes(tables.trials, tables.epochs, reference=known_reference(tables.reference))
    assert v.reference.source == "bayes"
    return tables.trials[["trial_id", "widths", "lr", "status"]].merge(v.table, on="trial_id")


def test_initial_points_are_the_trials(planted) -> None:
    trials = pd.read_parquet(planted / "trials.parquet")
    assert sorted(trials["widths"]) == sorted(["2", "256-256-256-256", "128-128-128", "32-32"])
    assert {"train_loss_se", "val_loss_se"} <= set(trials.columns)
    assert (trials.loc[trials["lr"] < 1, "status"] == "completed").all()


@pytest.mark.parametrize("widths", list(PLANTED))
def test_planted_regime_is_found(planted, widths: str) -> None:
    v = _verdicts(planted)
    row = v[(v["widths"] == widths) & (v["lr"] < 1)]
    assert len(row) == 1, v[["widths", "lr", "regime", "reason"]]
    assert row["regime"].iloc[0] == PLANTED[widths], row["reason"].iloc[0]


def test_diverging_learning_rate_is_unstable(planted) -> None:
    v = _verdicts(planted)
    row = v[v["lr"] > 1]
    assert row["regime"].tolist() == ["unstable"], row["reason"].tolist()


def test_big_unregularised_model_really_memorises(planted) -> None:
    epochs = pd.read_parquet(planted / "epochs.parquet")
    trials = pd.read_parquet(planted / "trials.parquet").set_index("trial_id")
    big = epochs[epochs["trial_id"] == trials.index[trials["widths"] == "256-256-256-256"][0]]
    # the real curve shows it: training loss keeps falling while validation loss, flat for a
    # while, climbs at the end. Adam at this learning rate spikes now and then on memorised
    # data, so the trend is read from the halves of the curve and the last five epochs.
    train = big["train_loss"].to_numpy()
    val = big["val_loss"].to_numpy()
    half = len(train) // 2
    assert train[half:].min() < train[:half].min() - 0.04
    assert val.argmin() < len(val) - 5
    assert pd.Series(val[-5:]).median() > val.min() + 0.02


def test_report_of_the_real_study(planted, tmp_path) -> None:
    outcome = write_report(planted, tmp_path / "report")
    regimes = pd.read_csv(tmp_path / "report" / "regimes.csv")
    assert sorted(regimes["regime"]) == ["good", "overfit", "underfit", "unstable"]
    html = outcome.index_html.read_text()
    assert "Bayes-optimal validation loss" in html
    assert len(outcome.figures) >= 5
