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
