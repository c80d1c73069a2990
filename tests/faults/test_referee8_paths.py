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

import pytest

from tests.faults.conftest import checksums, fake_study, hard_link_copy


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
    hard_link_copy(folder, backup)
    before = checksums(backup)
    unshared = {str(p.relative_to(folder)) for p in unshare_linked_files(folder)}
    assert unshared == {"trials/t1/epochs.jsonl", "optuna.journal", "ray/run/progress.csv",
                        "notes.txt", ".jetstudy-study"}  # config.yaml, scaler.json: replaced whole, still linked
    for rel, path in whole.items():  # replaced whole, never written into: still shared
        assert os.stat(path).st_ino == os.stat(backup / rel).st_ino, rel
        assert os.stat(path).st_nlink == 2, rel
    append_epoch(str(folder / "trials"), "t1", {"epoch": 2})  # refused while linked
    assert checksums(backup) == before


# ---- a journal line cut by a full disk -----------------------------------------------------------

def _journal_with_a_cut_line(folder: Path) -> bytes:
    """A study's Optuna journal with one trial, then half of Optuna's next line (what a full
    disk left: 4096 of its bytes written); returns the whole lines' bytes."""
    import optuna

    from jetstudy.study.optuna_files import OPTUNA_JOURNAL, OPTUNA_STUDY_NAME, optuna_storage

    study = optuna.create_study(storage=optuna_storage(folder), study_name=OPTUNA_STUDY_NAME)
    study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    whole = (folder / OPTUNA_JOURNAL).read_bytes()
    with open(folder / OPTUNA_JOURNAL, "ab") as journal:
        journal.write(b'{"op_code":5,"worker_id":"w","trial_id":1,"param_name":"lr","param_va')
    return whole


def test_a_journal_line_cut_by_a_full_disk_is_dropped_so_the_study_resumes(
        tmp_path: Path) -> None:
    """``--resume`` after a full disk cut the journal mid-line ended in a traceback: Optuna
    glued its next line to the fragment and could not read the journal again. The run drops
    the fragment (an operation Optuna never applied) under the study's lock first."""
    import optuna

    from jetstudy.study.optuna_files import (OPTUNA_JOURNAL, OPTUNA_STUDY_NAME,
                                             drop_cut_journal_line, optuna_storage)

    def resume_and_ask(folder: Path) -> int:
        study = optuna.load_study(storage=optuna_storage(folder), study_name=OPTUNA_STUDY_NAME)
        study.ask()
        again = optuna.load_study(storage=optuna_storage(folder), study_name=OPTUNA_STUDY_NAME)
        return len(again.trials)

    as_it_was = tmp_path / "not-mended"
    as_it_was.mkdir()
    _journal_with_a_cut_line(as_it_was)
    with pytest.raises(Exception):  # the hazard: what --resume met
        resume_and_ask(as_it_was)

    folder = tmp_path / "st"
    folder.mkdir()
    whole = _journal_with_a_cut_line(folder)
    assert drop_cut_journal_line(folder)
    assert (folder / OPTUNA_JOURNAL).read_bytes() == whole
    assert not drop_cut_journal_line(folder)  # whole lines: left as they are
    assert (folder / OPTUNA_JOURNAL).read_bytes() == whole
    assert resume_and_ask(folder) == 2


def test_a_link_or_a_users_folder_under_the_journals_name_is_never_cut(tmp_path: Path) -> None:
    from jetstudy.study.optuna_files import OPTUNA_JOURNAL, drop_cut_journal_line

    mine = tmp_path / "mine.txt"
    mine.write_bytes(b"line one\nno newline at the end")
    (tmp_path / "st").mkdir()
    (tmp_path / "st" / OPTUNA_JOURNAL).symlink_to(mine)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / OPTUNA_JOURNAL).mkdir()
    before = checksums(tmp_path)
    assert not drop_cut_journal_line(tmp_path / "st")
    assert not drop_cut_journal_line(tmp_path / "other")
    assert checksums(tmp_path) == before


# ---- jetstudy report DIR on a folder that is no study ----------------------------------------

def test_report_on_a_users_folder_never_reads_or_removes_a_record_like_file(
        tmp_path: Path) -> None:
    """``jetstudy report DIR`` stops the Ray a dead driver of the study DIR left; on a folder
    that is no study of jetstudy's it read a ``ray_session.json`` of the user's as a record,
    stopped the processes it named and deleted the file (``run`` had checked for a study,
    ``report`` had not)."""
    import json
    import socket
    import subprocess
    import sys

    from jetstudy.study.raysession import RECORD
    from jetstudy.trainables.processes import boot_id, process_start
    from tests.faults.conftest import jetstudy_here

    folder = tmp_path / "my-notes"
    folder.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (folder / RECORD).write_text(json.dumps({
            "host": socket.gethostname(), "boot_id": boot_id(), "driver_pid": 0,
            "driver_start": "1", "node_id": "",
            "processes": [{"pid": sleeper.pid, "start": process_start(sleeper.pid)}]}))
        (folder / "trials.csv").write_text("not,a,study\n")
        before = checksums(tmp_path)
        jetstudy_here("report", folder, "-o", tmp_path / "rep", cwd=tmp_path)
        assert sleeper.poll() is None, "the user's process was stopped"
        assert {k: v for k, v in checksums(tmp_path).items() if not k.startswith("rep")} \
            == before
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_full_disk_at_the_end_never_hides_the_studys_own_outcome(tmp_path: Path) -> None:
    """The driver records its end in provenance.json in a ``finally``: on a full disk that
    write raised, replacing the error or the Ctrl-C (exit 130, the --resume command) the study
    was ending with; on a tiny tmpfs the run ended naming provenance.json instead of the table
    that failed first. Now a warning, the record left whole."""
    import json
    import subprocess
    import sys

    from jetstudy.study.provenance import PROVENANCE

    (tmp_path / PROVENANCE).write_text(json.dumps({"started": "then", "ended": None,
                                                   "runs": [{"ended": None}]}))
    before = checksums(tmp_path)
    code = ("import resource, sys\n"
            "from pathlib import Path\n"
            "from jetstudy.study.provenance import mark_ended\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))\n"
            "try:\n"
            "    raise KeyboardInterrupt\n"
            "finally:\n"
            "    mark_ended(Path(sys.argv[1]))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr, proc.stderr[-2000:]
    assert "OSError" not in proc.stderr and "File too large" in proc.stderr
    assert checksums(tmp_path) == before  # whole, no temporary left
