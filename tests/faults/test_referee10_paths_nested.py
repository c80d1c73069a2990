"""Referee round 10: a study folder given as ``storage.results_dir`` of another study.

The inner study lives in the outer study's folder (``<outer>/<inner>``). When the outer study
resumed after a ``cp -al`` snapshot of the whole tree, its driver gave every hard-linked file
under its folder a copy of its own (:func:`unshare_linked_files`): the inner study's too,
renaming a copy over the ``optuna.journal`` the inner study's driver was appending to. Its
next lines went into the snapshot's file (changed) and were gone from the inner study. A
study inside the folder is now left to its own driver.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.faults.conftest import fake_study, hard_link_copy


def test_an_outer_studys_resume_leaves_a_running_inner_studys_files_alone(
        tmp_path: Path) -> None:
    from jetstudy.study.hardlinks import unshare_linked_files

    outer = fake_study(tmp_path / "results" / "outer", ("config.yaml", "optuna.journal"),
                       ("trials",))
    inner = fake_study(outer / "inner", ("config.yaml", "optuna.journal"), ("trials",))
    (inner / "trials" / "t1").mkdir()
    (inner / "trials" / "t1" / "epochs.jsonl").write_text('{"epoch": 1}\n')
    deeper = fake_study(outer / "mine" / "deeper", ("config.yaml",), ())  # results_dir outer/mine
    (deeper / "optuna.journal").write_text("deeper\n")
    backup = tmp_path / "backup"
    hard_link_copy(outer, backup)
    inodes = {p: os.stat(p).st_ino for p in (inner / "optuna.journal", deeper / "optuna.journal",
                                             inner / "trials" / "t1" / "epochs.jsonl")}
    with open(inner / "optuna.journal", "a") as journal:  # the inner study's driver, running
        unshared = {str(p.relative_to(outer)) for p in unshare_linked_files(outer)}
        journal.write("inner's next line\n")
    assert "optuna.journal" in unshared  # the outer study's own appended file: copied
    assert not [n for n in unshared if n.startswith(("inner", "mine/deeper"))], unshared
    assert {p: os.stat(p).st_ino for p in inodes} == inodes  # the inner studies untouched
    assert (inner / "optuna.journal").read_text().endswith("inner's next line\n")
