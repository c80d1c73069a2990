"""Loading result tables: folders, lone tables, CSV round trips, and clear errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.tables import load_tables, search_metric, validate_trials


def test_full_folder_loads_every_input(study_dir):
    t = load_tables(study_dir)
    assert len(t.trials) == 40 and t.epochs is not None and not t.epochs.empty
    assert t.reference is not None and t.reference["bayes_val_loss"] == 0.60
    for table in (t.trials, t.epochs):
        assert table["train_loss_se"].dtype == float and table["val_loss_se"].notna().all()
    assert t.config is not None and t.config["search"]["metric"] == "val_loss"
    assert t.test_metrics is not None and t.test_predictions is not None
    assert t.missing == []
    assert t.synthetic is True
    assert t.name == "demo"


def test_lone_parquet_records_what_is_missing(tmp_path, make_study):
    trials, _ = make_study(n_trials=5)
    trials.to_parquet(tmp_path / "mailed.parquet")
    t = load_tables(tmp_path / "mailed.parquet")
    assert t.epochs is None and t.config is None and t.test_predictions is None
    assert {what for what, _ in t.missing} == {"config", "epochs", "data summary", "reference",
                                              "test metrics", "test predictions"}
    assert t.reference is None
    assert t.synthetic is None
    assert t.folder == tmp_path


def test_csv_round_trip_restores_types(tmp_path, make_study):
    trials, _ = make_study(n_trials=6)
    trials["trial_id"] = [str(100 + i) for i in range(6)]  # numeric-looking ids become ints in CSV
    trials.loc[0, "status"] = " Completed "
    trials.to_csv(tmp_path / "trials.csv", index=False)
    t = load_tables(tmp_path / "trials.csv")
    assert t.trials["trial_id"].tolist() == [str(100 + i) for i in range(6)]
    assert t.trials.loc[0, "status"] == "completed"
    assert t.trials["error"].map(type).eq(str).all()  # NaN from empty CSV cells becomes ""
    assert t.trials["batch_norm"].tolist() == [False] * 6


def test_folder_falls_back_to_csv_when_parquet_is_broken(tmp_path, make_study):
    trials, _ = make_study(n_trials=4)
    (tmp_path / "trials.parquet").write_bytes(b"PAR1 half written")
    trials.to_csv(tmp_path / "trials.csv", index=False)
    assert len(load_tables(tmp_path).trials) == 4


@pytest.mark.parametrize("drop", [["val_loss"], ["trial_id", "n_params"]])
def test_missing_columns_are_named(tmp_path, make_study, drop):
    trials, _ = make_study(n_trials=3)
    trials.drop(columns=drop).to_parquet(tmp_path / "trials.parquet")
    with pytest.raises(AnalysisError) as info:
        load_tables(tmp_path)
    for col in drop:
        assert col in str(info.value)
    assert "docs/results_layout.md" in str(info.value)


def test_empty_table_says_no_trial_reported(tmp_path, make_study):
    trials, _ = make_study(n_trials=3)
    trials.iloc[:0].to_parquet(tmp_path / "trials.parquet")
    with pytest.raises(AnalysisError, match="no rows"):
        load_tables(tmp_path)


def test_no_table_and_bad_suffix_are_explained(tmp_path):
    with pytest.raises(AnalysisError, match="no trials.parquet or trials.csv"):
        load_tables(tmp_path)
    with pytest.raises(AnalysisError, match="does not exist"):
        load_tables(tmp_path / "nope")
    (tmp_path / "trials.xlsx").write_text("x")
    with pytest.raises(AnalysisError, match="must be .parquet or .csv"):
        load_tables(tmp_path / "trials.xlsx")


def test_unusable_optional_inputs_are_listed_not_fatal(tmp_path, make_study):
    trials, epochs = make_study(n_trials=4)
    trials.to_parquet(tmp_path / "trials.parquet")
    epochs.drop(columns=["val_loss"]).to_parquet(tmp_path / "epochs.parquet")
    (tmp_path / "config.yaml").write_text("just a string")
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "test_metrics.json").write_text("{not json")
    t = load_tables(tmp_path)
    reasons = dict(t.missing)
    assert t.epochs is None and "val_loss" in reasons["epochs"]
    assert t.config is None and "YAML mapping" in reasons["config"]
    assert t.test_metrics is None and "test_metrics.json is unusable" in reasons["test metrics"]


def test_duplicate_trials_and_foreign_epochs_are_dropped(tmp_path, make_study):
    trials, epochs = make_study(n_trials=4)
    snapshot = pd.concat([trials, trials.iloc[[0]].assign(status="completed")], ignore_index=True)
    snapshot.to_parquet(tmp_path / "trials.parquet")
    extra = epochs.iloc[[0]].assign(trial_id="ghost")
    pd.concat([epochs, extra, epochs.iloc[[1]]]).to_parquet(tmp_path / "epochs.parquet")
    t = load_tables(tmp_path)
    assert len(t.trials) == 4
    assert "ghost" not in set(t.epochs["trial_id"])
    assert not t.epochs.duplicated(["trial_id", "epoch"]).any()


def test_search_metric_from_config_with_fallback(make_study):
    trials, _ = make_study(n_trials=3)
    assert search_metric({"search": {"metric": "val_auc"}}, trials) == ("val_auc", True)
    assert search_metric(None, trials) == ("val_loss", False)
    assert search_metric({"search": {"metric": "val_auc"}}, trials.drop(columns="val_auc")) == ("val_loss", False)


def test_synthetic_flag_sources(tmp_path, make_study):
    trials, _ = make_study(n_trials=3)
    trials.to_parquet(tmp_path / "trials.parquet")
    (tmp_path / "config.yaml").write_text("data: {path: /data/jets}\n")
    assert load_tables(tmp_path).synthetic is False
    (tmp_path / "data_summary.json").write_text(json.dumps({"synthetic": True}))
    assert load_tables(tmp_path).synthetic is True


def test_validate_trials_coerces_numbers():
    df = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "failed"],
                       "n_params": ["10", "nan"], "train_loss": [0.5, None],
                       "val_loss": ["0.6", " inf "]})
    out = validate_trials(df)
    # counts are nullable whole numbers (Int64), as the writer stores them
    assert str(out["n_params"].dtype) == "Int64"
    assert out["n_params"].tolist()[0] == 10 and out["n_params"].isna().tolist()[1]
    assert out["val_loss"].tolist() == [0.6, np.inf]


@pytest.mark.parametrize("column, value, words", [
    ("n_params", "x", "n_params = 'x' for trial b, but n_params must be a whole number >= 0"),
    ("n_params", -5, "n_params = -5 for trial b"),
    ("depth", -1, "depth = -1 for trial b"),
    ("val_loss", "low", "val_loss = 'low' for trial b, but val_loss must be a number"),
])
def test_a_hand_edit_gone_wrong_is_named(column, value, words):
    df = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "completed"],
                       "n_params": [10, 20], "depth": [1, 2], "train_loss": [0.5, 0.6],
                       "val_loss": [0.6, 0.7]})
    df[column] = df[column].astype(object)
    df.loc[1, column] = value
    with pytest.raises(AnalysisError, match=re.escape(words)):
        validate_trials(df)


def test_an_empty_path_is_not_the_current_folder():
    with pytest.raises(AnalysisError, match="the results path is empty"):
        load_tables("")


def test_a_study_without_tables_yet_says_so(tmp_path):
    (tmp_path / "config.yaml").write_text("storage: {name: s}\n")
    with pytest.raises(AnalysisError, match="has no trials table yet"):
        load_tables(tmp_path)


def test_tables_from_before_standard_errors_still_load(tmp_path, make_study):
    """No *_se columns, SE and stop_reason as text in a CSV: loaded, SE simply unknown."""
    trials, epochs = make_study(n_trials=4)
    trials.drop(columns=["train_loss_se", "val_loss_se"]).to_parquet(tmp_path / "trials.parquet")
    epochs.drop(columns=["train_loss_se", "val_loss_se"]).to_parquet(tmp_path / "epochs.parquet")
    t = load_tables(tmp_path)
    assert "train_loss_se" not in t.trials.columns and len(t.epochs) == len(epochs)
    text = trials.assign(val_loss_se="0.007", stop_reason=np.nan)
    text.to_csv(tmp_path / "new.csv", index=False)
    t = load_tables(tmp_path / "new.csv")
    assert t.trials["val_loss_se"].tolist() == [0.007] * 4
    assert t.trials["stop_reason"].tolist() == [""] * 4
