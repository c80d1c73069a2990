"""Result tables, round 3 (``jetstudy report TABLE``, in-process): exit status 2 with one
``error:`` line naming the file, the problem and the fix, and nothing written; kinds rounds
1-2 (test_referee2_inputs_tables.py, tests/analysis/test_tables.py) missed. Hand-made tables."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.faults.conftest import checksums, jetstudy_here, one_line_error
from tests.faults.test_referee2_inputs_tables import _trials


def _write(path: Path, data: bytes | str) -> None:
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def csv_named_parquet(work: Path) -> str:
    _write(work / "trials.parquet", _trials().to_csv(index=False))
    return "trials.parquet"


def parquet_named_csv(work: Path) -> str:
    _trials().to_parquet(work / "trials.csv")
    return "trials.csv"


def truncated_parquet(work: Path) -> str:
    _trials().to_parquet(work / "whole.parquet")
    _write(work / "trials.parquet", (work / "whole.parquet").read_bytes()[:400])
    (work / "whole.parquet").unlink()
    return "trials.parquet"


def empty_parquet_file(work: Path) -> str:
    _write(work / "trials.parquet", b"")
    return "trials.parquet"


def empty_csv_file(work: Path) -> str:
    _write(work / "trials.csv", b"")
    return "trials.csv"


def binary_csv(work: Path) -> str:
    _write(work / "trials.csv", b"trial_id\x00\x01\x02" * 50)
    return "trials.csv"


def column_twice_in_csv(work: Path) -> str:
    """pandas renamed the second val_loss to val_loss.1: the report used one of the two."""
    text = _trials().to_csv(index=False).replace("val_acc", "val_loss", 1)
    _write(work / "trials.csv", text)
    return "trials.csv"


def two_level_columns(work: Path) -> str:
    """A table saved with two levels of column names ended in AttributeError (exit 1)."""
    frame = _trials()
    frame.columns = pd.MultiIndex.from_tuples([(c, "x") for c in frame.columns])
    frame.to_parquet(work / "trials.parquet")
    return "trials.parquet"


def accuracy_above_one(work: Path) -> str:
    _trials().assign(val_acc=[0.5, 0.6, 62.0, 0.7]).to_parquet(work / "trials.parquet")
    return "trials.parquet"


def negative_standard_error(work: Path) -> str:
    _trials().assign(val_loss_se=[0.01, -0.02, 0.01, 0.01]).to_parquet(work / "trials.parquet")
    return "trials.parquet"


def bools_in_a_loss_column(work: Path) -> str:
    """true/false where a loss goes were read as 1.0 and 0.0."""
    _trials().assign(train_loss=[True, False, True, True]).to_parquet(work / "trials.parquet")
    return "trials.parquet"


def compressed_csv(work: Path) -> str:
    _trials().to_csv(work / "trials.csv.gz", index=False)
    return "trials.csv.gz"


#: case -> what the one error line must say
CASES = {
    csv_named_parquet: ["trials.parquet is not a Parquet file", "a CSV named .parquet",
                        "rename it to trials.csv"],
    parquet_named_csv: ["trials.csv is a Parquet file named .csv", "rename it to trials.parquet"],
    truncated_parquet: ["trials.parquet is cut short (400 bytes", "copy it again"],
    empty_parquet_file: ["trials.parquet is empty (0 bytes)", "copy it again"],
    empty_csv_file: ["trials.csv is empty (0 bytes)"],
    binary_csv: ["trials.csv is not a text file", "NUL"],
    column_twice_in_csv: ["trials.csv has the column val_loss 2 times", "keep one column"],
    two_level_columns: ["column names on 2 levels", "get_level_values(0)"],
    accuracy_above_one: ["val_acc = 62.0 for trial t0000002", "from 0 to 1"],
    negative_standard_error: ["val_loss_se = -0.02 for trial t0000001", ">= 0"],
    bools_in_a_loss_column: ["train_loss = True for trial t0000000", "must be a number"],
    compressed_csv: ["suffix '.gz'", "unpack it first"],
}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_a_bad_trials_file_gets_one_clear_error(case, tmp_path: Path) -> None:
    source = case(tmp_path)
    before = checksums(tmp_path)
    error = one_line_error(jetstudy_here("report", source, "-o", "out", cwd=tmp_path))
    for words in CASES[case]:
        assert words in error, (words, error)
    assert "ArrowInvalid" not in error and "run the report again" not in error
    assert checksums(tmp_path) == before  # no out/, nothing changed


def test_a_cut_short_parquet_falls_back_to_the_csv_beside_it(tmp_path: Path, caplog) -> None:
    """A study folder keeps both; the reason for the fallback is said."""
    study = tmp_path / "study"
    study.mkdir()
    _trials().to_parquet(study / "whole.parquet")
    _write(study / "trials.parquet", (study / "whole.parquet").read_bytes()[:400])
    (study / "whole.parquet").unlink()
    _trials().to_csv(study / "trials.csv", index=False)
    from jetstudy.analysis.tables import load_tables

    with caplog.at_level(logging.WARNING, logger="jetstudy.analysis.tables"):
        tables = load_tables(study)
    assert tables.inputs[0].name == "trials.csv" and len(tables.trials) == 4
    assert any("is cut short" in r.getMessage() for r in caplog.records)


def test_tables_of_a_newer_jetstudy_say_the_report_may_be_incomplete(tmp_path: Path,
                                                                       caplog) -> None:
    """A table with a column this jetstudy does not know (written by a later version) was
    reported as if complete."""
    _trials().assign(new_metric=np.arange(4.0)).to_parquet(tmp_path / "trials.parquet")
    (tmp_path / "provenance.json").write_text(json.dumps({"versions": {"jetstudy": "99.1"}}))
    with caplog.at_level(logging.WARNING, logger="jetstudy.analysis.tables"):
        proc = jetstudy_here("report", "trials.parquet", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warned = [r.getMessage() for r in caplog.records if "newer than" in r.getMessage()]
    assert len(warned) == 1 and "written by jetstudy 99.1, newer than this jetstudy" in warned[0]
    assert "pip install -U jetstudy" in warned[0]
    assert (tmp_path / "out" / "index.html").is_file()


def test_tables_of_this_or_an_older_jetstudy_load_without_that_warning(tmp_path: Path,
                                                                      caplog) -> None:
    from jetstudy.analysis.tables import load_tables

    _trials().to_parquet(tmp_path / "trials.parquet")
    for written in ("0.0.1", "not a version", None):
        (tmp_path / "provenance.json").write_text(json.dumps({"versions": {"jetstudy": written}}))
        with caplog.at_level(logging.WARNING, logger="jetstudy.analysis.tables"):
            load_tables(tmp_path / "trials.parquet")
    assert not [r for r in caplog.records if "newer than" in r.getMessage()]


@pytest.mark.parametrize("name, content, words", [
    ("reference.json", {"prior_entropy": 1.609, "bayes_val_loss": -1.0},
     "bayes_val_loss is -1.0, but must be a number >= 0"),
    ("reference.json", {"prior_entropy": "1.6"}, "prior_entropy is '1.6'"),
    ("data_summary.json", {"n_jets": {"total": 100, "val": 20.5}},
     "n_jets.val is 20.5, but must be a whole number >= 0"),
    ("data_summary.json", {"class_counts": {"val": {"g": -3}}}, "class_counts.val.g is -3"),
    ("best/test_metrics.json", {"trial_id": "t0000000", "model": {"accuracy": 2.0}},
     "model.accuracy is 2.0, but must be a number from 0 to 1"),
    ("best/test_metrics.json", {"model": {"auc": {"g": 1.5}}}, "model.auc.g is 1.5"),
    ("best/test_metrics.json", {"model": {"accuracy_se": -0.1}}, "model.accuracy_se is -0.1"),
], ids=["negative-loss", "text-entropy", "fractional-count", "negative-count", "accuracy-2",
        "class-auc", "negative-se"])
def test_a_hand_edited_study_file_is_set_aside_with_its_reason(name: str, content: dict,
                                                               words: str,
                                                               tmp_path: Path) -> None:
    """An accuracy of 2 in test_metrics.json or a negative Bayes loss in reference.json was
    shown (or used as the yardstick L*) as if measured."""
    from jetstudy.analysis.tables import load_tables

    _trials().to_parquet(tmp_path / "trials.parquet")
    (tmp_path / name).parent.mkdir(exist_ok=True)
    (tmp_path / name).write_text(json.dumps(content))
    tables = load_tables(tmp_path)
    reasons = [why for _, why in tables.missing if "is unusable" in why]
    assert len(reasons) == 1 and words in reasons[0], tables.missing
    assert "edited by hand" in reasons[0]


def test_a_study_files_plain_values_still_load(tmp_path: Path) -> None:
    """Nulls, NaN AUCs (a class missing from a split), seeds and fractions are no errors."""
    from jetstudy.analysis.tables import load_tables

    _trials().to_parquet(tmp_path / "trials.parquet")
    (tmp_path / "reference.json").write_text(json.dumps(
        {"prior_entropy": 1.6, "n_classes": 5, "bayes_val_loss": None, "bayes_val_acc": None}))
    (tmp_path / "data_summary.json").write_text(json.dumps(
        {"n_jets": {"total": 10, "val": 2}, "seed": 3, "val_fraction": 0.2, "sources": ["a"]}))
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "test_metrics.json").write_text(
        '{"trial_id": "t0000000", "epoch": 3, "n_test": 20, "model": {"accuracy": 0.5, '
        '"auc": {"g": NaN, "q": 0.7}, "log_loss": 1.2, "accuracy_se": 0.1}, "bayes": null}')
    tables = load_tables(tmp_path)
    assert not [why for _, why in tables.missing if "unusable" in why], tables.missing
    assert tables.reference is not None and tables.test_metrics is not None


@pytest.mark.parametrize("edit, words", [
    (lambda p: p.assign(label=[7] + [0] * 9), "label = 7 in row 0 (1 rows like it)"),
    (lambda p: p.assign(p_g=[1.5] + [0.2] * 9), "p_g = 1.5 in row 0"),
    (lambda p: p.assign(p_q=[0.2] * 9 + [float("nan")]), "p_q = nan in row 9"),
], ids=["label-7", "probability-above-1", "probability-nan"])
def test_bad_test_predictions_are_set_aside_not_partly_dropped(edit, words: str,
                                                               tmp_path: Path) -> None:
    """Rows with a label outside 0..4 were dropped without a word (the ROC curve then drew
    part of the test split); a probability of 1.5 or NaN was drawn."""
    from jetstudy.analysis.tables import load_tables

    _trials().to_parquet(tmp_path / "trials.parquet")
    (tmp_path / "best").mkdir()
    predictions = pd.DataFrame({"label": np.arange(10) % 5,
                                **{f"p_{c}": [0.2] * 10 for c in "gqWZt"}})
    edit(predictions).to_parquet(tmp_path / "best" / "test_predictions.parquet")
    tables = load_tables(tmp_path)
    assert tables.test_predictions is None
    reasons = [why for what, why in tables.missing if what == "test predictions"]
    assert len(reasons) == 1 and words in reasons[0], tables.missing


@pytest.mark.parametrize("drop", [[], ["val_acc"]], ids=["no-best-columns", "no-accuracy"])
def test_a_lone_table_without_its_optional_columns_breaks_no_report_part(drop: list[str],
                                                                         tmp_path: Path) -> None:
    """A trials table without best_val_acc (only the required columns and a few more): the
    Pareto part 'failed unexpectedly (KeyError: 'best_val_acc'); this is a bug'."""
    _trials().drop(columns=drop).to_parquet(tmp_path / "trials.parquet")
    proc = jetstudy_here("report", "trials.parquet", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "failed unexpectedly" not in proc.stdout and "bug" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("edit, words", [
    (lambda t: t.assign(dropout=[0.1, 2.0, 0.1, 0.1]), "dropout = 2.0 for trial t0000001"),
    (lambda t: t.assign(lr=[1e-3, 1e-3, -0.01, 1e-3]), "lr = -0.01 for trial t0000002"),
    (lambda t: t.assign(batch_norm=["true", "maybe", "false", "no"]),
     "batch_norm = 'maybe' for trial t0000001, but batch_norm must be true or false"),
], ids=["dropout-2", "negative-lr", "batch-norm-maybe"])
def test_hyperparameters_outside_their_meaning_are_refused(edit, words: str,
                                                           tmp_path: Path) -> None:
    """A dropout of 2, a negative learning rate, batch_norm 'maybe' (read as false) were
    drawn in the maps as if trained."""
    edit(_trials()).to_csv(tmp_path / "trials.csv", index=False)
    error = one_line_error(jetstudy_here("report", "trials.csv", "-o", "out", cwd=tmp_path))
    assert words in error, error
    assert not (tmp_path / "out").exists()
