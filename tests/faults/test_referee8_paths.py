"""Referee round 8: what a study keeps of files it shares or does not own.

* ``unshare_linked_files`` copied every hard-linked file of a study before a driver wrote,
  the synthetic jets in ``data/`` (gigabytes), tables and checkpoints included, though
  jetstudy only ever replaces those whole: a ``cp -al`` snapshot then cost the study's size
  again on every resume. Only the files written in place get copies now; the snapshot's
  bytes stay as they were either way.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.faults.conftest import checksums, fake_study


def _snapshot(folder: Path, backup: Path) -> None:
    """What ``cp -al folder backup`` makes: every file hard-linked, links (symbolic) skipped."""
    for dirpath, _, names in os.walk(folder):
        for name in names:
            src = Path(dirpath) / name
            dst = backup / src.relative_to(folder)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not src.is_symlink():
                os.link(src, dst)


def test_a_snapshots_big_data_stays_linked_and_appended_files_get_copies(
        tmp_path: Path) -> None:
    from jetstudy.study.hardlinks import unshare_linked_files
    from jetstudy.trainables.trialfiles import append_epoch

    folder = fake_study(tmp_path / "results" / "st",
                        ("config.yaml", "scaler.json", "trials.parquet", "optuna.journal"),
                        ("trials", "data", "best", "ray"))
    jets = folder / "data" / "jetImage_synth_0.h5"
    with open(jets, "wb") as out:  # big: 8 MiB of jets
        out.write(os.urandom(1 << 20) * 8)
    whole = {"data/jetImage_synth_0.h5": jets, "trials.parquet": folder / "trials.parquet",
             "best/model.pt": folder / "best" / "model.pt",
             "trials/t1/state.pt": folder / "trials" / "t1" / "state.pt"}
    (folder / "trials" / "t1").mkdir()
    for path in list(whole.values())[2:]:
        path.write_bytes(b"tensors\n")
    (folder / "trials" / "t1" / "epochs.jsonl").write_text('{"epoch": 1}\n')
    (folder / "ray" / "run").mkdir()
    (folder / "ray" / "run" / "progress.csv").write_text("epoch\n1\n")
    (folder / "notes.txt").write_text("a file jetstudy does not know: copied, to be safe\n")
    backup = tmp_path / "backup"
    _snapshot(folder, backup)
    before = checksums(backup)
    unshared = {str(p.relative_to(folder)) for p in unshare_linked_files(folder)}
    assert unshared == {"trials/t1/epochs.jsonl", "optuna.journal", "ray/run/progress.csv",
                        "notes.txt", ".jetstudy-study"}  # config.yaml, scaler.json: replaced whole, still linked
    for rel, path in whole.items():  # replaced whole, never written into: still shared
        assert os.stat(path).st_ino == os.stat(backup / rel).st_ino, rel
        assert os.stat(path).st_nlink == 2, rel
    append_epoch(str(folder / "trials"), "t1", {"epoch": 2})  # refused while linked
    assert checksums(backup) == before
