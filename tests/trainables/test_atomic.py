"""The one atomic writer gives result files the user's umask, never mkstemp's 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.tables import write_json, write_table
from jetstudy.trainables.atomic import current_umask, write_atomic
from jetstudy.trainables.checkpoint import save_state


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request: pytest.FixtureRequest):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    assert current_umask() == umask
    want = 0o666 & ~umask
    write_table(pd.DataFrame({"a": [1]}), tmp_path, "trials")
    write_json({"a": 1}, tmp_path / "scaler.json")
    save_state({"epoch": 1}, tmp_path / "state.pt")
    for name in ("trials.parquet", "trials.csv", "scaler.json", "state.pt"):
        assert _mode(tmp_path / name) == want, (name, oct(_mode(tmp_path / name)))
    reference = tmp_path / "plain.txt"
    reference.write_text("x")  # what any other file of the user gets
    assert _mode(reference) == want
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    def fail(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(tmp_path / "x.json", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_fixed_temporary_name(tmp_path: Path) -> None:
    seen = []
    write_atomic(tmp_path / "a.h5", lambda tmp: seen.append(Path(tmp).name), tmp_name="a.h5.tmp")
    assert seen == ["a.h5.tmp"] and (tmp_path / "a.h5").is_file()
