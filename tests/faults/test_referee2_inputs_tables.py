"""Result tables a colleague mailed or a user edited, round 2 (``jetstudy report TABLE``): exit
status 2 with one ``error:`` line naming the file, the value and the fix, and no report folder
left behind; or, for an optional input, the report is written and says what it skipped. Kinds
round 1 (test_referee_paths.py, test_report_out.py, tests/analysis/test_tables.py) missed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.faults.conftest import checksums, jetstudy_here, one_line_error


def _trials(n: int = 4) -> pd.DataFrame:
    """A small, plausible trials table (the required columns and a few more)."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "trial_id": [f"t{i:07d}" for i in range(n)],
        "status": ["completed"] * n,
        "depth": [1, 2, 3, 2][:n],
        "n_params": [100, 400, 900, 300][:n],
        "epochs": [3] * n,
        "max_epochs": [3] * n,
        "train_loss": 0.9 + rng.random(n) / 10,
        "val_loss": 1.0 + rng.random(n) / 10,
        "val_acc": 0.5 + rng.random(n) / 10,
    })


def _epochs(trials: pd.DataFrame) -> pd.DataFrame:
    rows = [{"trial_id": t, "epoch": e, "train_loss": 1.2 - e / 10, "val_loss": 1.3 - e / 10}
            for t in trials["trial_id"] for e in (1, 2, 3)]
    return pd.DataFrame(rows)


def semicolons(work: Path) -> str:
    """A table saved again from a spreadsheet in a comma-decimal locale: one column, reported
    as 'lacks the columns trial_id, status, n_params, ...'."""
    _trials().to_csv(work / "trials.csv", index=False, sep=";", decimal=",")
    return "trials.csv"


def latin1(work: Path) -> str:
    """Not UTF-8: the message said 'If the study is still writing it, run the report again'."""
    frame = _trials()
    frame["error"] = "café"
    (work / "trials.csv").write_bytes(frame.to_csv(index=False).encode("latin-1"))
    return "trials.csv"


def fractional_count(work: Path) -> str:
    """n_params 137.5 (a count) was taken as it is; a negative one was already refused."""
    frame = _trials()
    frame["n_params"] = frame["n_params"].astype(float)
    frame.loc[2, "n_params"] = 137.5
    frame.to_csv(work / "trials.csv", index=False)
    return "trials.csv"


def parquet_dataset_folder(work: Path) -> str:
    """A folder named trials.parquet (Spark and Dask write Parquet datasets as folders):
    '... trials.parquet holds no trials.parquet or trials.csv'."""
    (work / "trials.parquet").mkdir()
    _trials().to_parquet(work / "trials.parquet" / "part-0.parquet")
    return "trials.parquet"


#: case -> what the one error line must say
CASES = {
    semicolons: ["trials.csv", "one column holding semicolons", "sep=';'"],
    latin1: ["trials.csv", "is not UTF-8 text", "save it as UTF-8 CSV"],
    fractional_count: ["trials.csv", "n_params = 137.5 for trial t0000002",
                       "a whole number >= 0"],
    parquet_dataset_folder: ["trials.parquet is a folder, not a table file",
                             "pandas.read_parquet(folder)"],
}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_bad_trials_table_gets_one_clear_error(case, workdir: Path) -> None:
    source = case(workdir)
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("report", source, "-o", "out", cwd=workdir))
    for words in CASES[case]:
        assert words in err, (words, err)
    assert "np.float64" not in err and "run the report again" not in err
    assert checksums(workdir) == before  # no out/ folder, nothing changed


@pytest.mark.parametrize("edit, words", [
    (lambda e: e.assign(epoch=e["epoch"] - 1), "epochs count from 1"),
    (lambda e: e.assign(epoch=e["epoch"] + 0.5), "epoch = 1.5"),
    (lambda e: e.astype({"val_loss": object}).assign(val_loss="abc"), "val_loss = 'abc'"),
], ids=["epoch-0", "fractional-epoch", "text-loss"])
def test_a_bad_epochs_table_is_skipped_with_its_reason(edit, words: str,
                                                       workdir: Path) -> None:
    """The epochs table is optional: a hand-edited one (epoch 0, 1.5, a loss 'abc') is left
    out with the reason printed, instead of silently drawing curves from NaN or epoch 0."""
    trials = _trials()
    trials.to_csv(workdir / "trials.csv", index=False)
    edit(_epochs(trials)).to_csv(workdir / "epochs.csv", index=False)
    proc = jetstudy_here("report", "trials.csv", "-o", "out", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    skipped = [line for line in proc.stdout.splitlines()
               if line.startswith("skipped learning curves")]
    assert len(skipped) == 1 and "epochs.csv is unusable" in skipped[0], proc.stdout
    assert words in skipped[0], skipped


def test_a_config_with_a_list_for_its_metric_does_not_break_the_report(workdir: Path) -> None:
    """search.metric: [val_auc] in a hand-edited config.yaml ended in TypeError (exit 1)."""
    _trials().to_csv(workdir / "trials.csv", index=False)
    (workdir / "config.yaml").write_text("search: {metric: [val_auc]}\n")
    proc = jetstudy_here("report", "trials.csv", "-o", "out", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (workdir / "out" / "index.html").is_file()
