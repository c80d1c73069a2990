"""``provenance.json``: versions, commit, host and times, kept across a resume."""

from __future__ import annotations

import json
from pathlib import Path

from jetstudy.study.provenance import PROVENANCE, git_commit, mark_ended, write_provenance


def test_records_versions_commit_host_and_times(tmp_path: Path) -> None:
    write_provenance(tmp_path, "cpu")
    record = json.loads((tmp_path / PROVENANCE).read_text())
    for name in ("jetstudy", "torch", "ray", "optuna", "numpy"):
        assert record["versions"][name], name
    assert record["host"] and record["python"] and record["started"]
    assert record["ended"] is None  # still running
    assert record["device"]["requested"] == "cpu"
    assert record["git"] == git_commit()  # this test runs from the checkout
    assert len(record["git"]["commit"]) == 40
    mark_ended(tmp_path)
    ended = json.loads((tmp_path / PROVENANCE).read_text())
    assert ended["ended"] and ended["runs"][-1]["ended"] == ended["ended"]


def test_resume_keeps_the_first_start_and_lists_each_run(tmp_path: Path) -> None:
    (tmp_path / PROVENANCE).write_text(json.dumps(
        {"started": "2020-01-01T00:00:00+0000", "ended": "2020-01-01T01:00:00+0000",
         "runs": [{"started": "2020-01-01T00:00:00+0000", "ended": "2020-01-01T01:00:00+0000"}]}))
    write_provenance(tmp_path)
    record = json.loads((tmp_path / PROVENANCE).read_text())
    assert record["started"] == "2020-01-01T00:00:00+0000"
    assert len(record["runs"]) == 2 and record["runs"][1]["ended"] is None


def test_no_git_outside_a_checkout(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
