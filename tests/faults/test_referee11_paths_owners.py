"""Referee round 11: files under jetstudy's own names (or their names in another case) that
jetstudy did not write.

* ``report A -o B/REPORT``: the "a study's own report folder" check compared the name exactly,
  so ``REPORT`` (``Report``) passed; on a case-insensitive file system (macOS's, Windows') it
  *is* B's ``report/``, whose files B's manifest lists: A's report replaced B's without a
  word. Any case of ``report`` in a study folder is now refused (on a file system that tells
  them apart the two folders merge once the study is copied onto one that does not).
* A user's file under the synthetic jets' record's name in a study's ``data/`` (or their
  ``.JetStudy-Synthetic.json``, the same file where case is ignored) was deleted by the record's
  clean-up (it unlinked the manifest's name whatever it held) and a record written in its
  place; now refused, naming it, the file untouched.
* A Ray session record (``ray_session.json``) planted in a study folder by another user (a
  study on shared storage) named this user's own processes by pid and start time (readable to
  anyone in ``/proc``): ``jetstudy report`` of that folder killed them. Only a plain record
  file of this user's is now read.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.report_folder import MANIFEST, plan_report_folder, report_names
from jetstudy.study.paths import STUDY_MARK
from tests.faults.conftest import checksums, jetstudy, one_line_error, study_yaml


def _tables_study(folder: Path) -> Path:
    """A marked study of tables (3 trials) with its own report listed in its manifest."""
    import hashlib

    from tests.analysis.conftest import _make_study, _write_study

    study = _write_study(folder, *_make_study(n_trials=3, max_epochs=2))
    (study / STUDY_MARK).write_text("made by jetstudy\n")
    (study / "report").mkdir()
    (study / "report" / "index.html").write_text(f"study {folder.name}'s own report\n")
    digest = hashlib.sha256((study / "report" / "index.html").read_bytes()).hexdigest()
    (study / "report" / MANIFEST).write_text(json.dumps(
        {"written_by": "jetstudy report", "files": {"index.html": [digest]}}))
    return study


@pytest.mark.parametrize("spelt", ["REPORT", "Report"])
def test_report_into_another_studys_report_folder_in_another_case_is_refused(
        tmp_path: Path, spelt: str) -> None:
    from jetstudy.analysis.report import write_report

    a, b = _tables_study(tmp_path / "a"), _tables_study(tmp_path / "b")
    before = checksums(tmp_path)
    with pytest.raises(AnalysisError) as refused:
        write_report(a, b / spelt, force=True, figures=False)
    text = str(refused.value)
    assert f"the study {b}'s own report folder ({spelt}/ is report/ on a file system" in text
    assert f"jetstudy report {b}" in text, text
    assert checksums(tmp_path) == before  # not even an empty REPORT/ made
    # the exact name as before, and a folder merely named like it elsewhere is still fine
    with pytest.raises(AnalysisError, match="own report folder, replaced"):
        plan_report_folder(b / "report", set(report_names()), force=True)
    assert plan_report_folder(tmp_path / spelt, set(report_names()), force=False).ours == set()


def _unstarted_study(results: Path, name: str, record: bytes) -> Path:
    """A study folder jetstudy marked whose study never started (a stop before its first
    trial), with a file of the user's under the synthetic record's name in its data/."""
    folder = results / name
    (folder / "data").mkdir(parents=True)
    (folder / STUDY_MARK).write_text("made by jetstudy\n")
    (folder / "data" / ".jetstudy-synthetic.json").write_bytes(record)
    return folder


@pytest.mark.parametrize("record", [b"my notes on the jets, keep\n", b'{"note": "mine"}\n'])
def test_a_users_file_under_the_synthetic_record_name_is_never_deleted(
        tmp_path: Path, record: bytes) -> None:
    folder = _unstarted_study(tmp_path / "results", "st", record)
    config = study_yaml(tmp_path / "study.yaml", tmp_path / "results", "st")
    before = checksums(tmp_path / "results")
    err = one_line_error(jetstudy("run", config.name, "--no-report", cwd=tmp_path,
                                  timeout=180))
    assert f"{folder / 'data' / '.jetstudy-synthetic.json'} is not a record jetstudy wrote" \
        in err, err
    assert "move it out of" in err and "run the same command again" in err, err
    assert checksums(tmp_path / "results") == before


def test_a_record_jetstudy_wrote_is_still_replaced(tmp_path: Path) -> None:
    """The refusal is only for files jetstudy did not write: its own record (this version's,
    or an older one's without ``written_by``) is replaced as before."""
    from jetstudy.study.paths import FileRecord

    for old in ({"written_by": "jetstudy", "files": ["jetImage_synth_1_0_10.h5"]},
                {"seed": 1, "n_jets": 10, "files": ["jetImage_synth_1_0_10.h5"]}):
        (tmp_path / ".jetstudy-synthetic.json").write_text(json.dumps(old))
        record = FileRecord(tmp_path, ".jetstudy-synthetic.json")
        record.remove_recorded()
        record.record(["x.h5"], seed=2)
        assert json.loads((tmp_path / ".jetstudy-synthetic.json").read_text())["seed"] == 2


def _planted_record(study: Path, victim: subprocess.Popen) -> None:
    from jetstudy.trainables.processes import boot_id, process_start

    (study / "ray_session.json").write_text(json.dumps({
        "host": socket.gethostname(), "boot_id": boot_id(), "driver_pid": 2 ** 22 + 11,
        "driver_start": "1", "node_id": "cd" * 28, "session_dir": "/tmp/ray/gone",
        "processes": [{"pid": victim.pid, "start": process_start(victim.pid)}],
        "written": time.time()}))


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to plant another user's file")
def test_a_ray_record_another_user_planted_never_stops_this_users_processes(
        tmp_path: Path) -> None:
    study = _tables_study(tmp_path / "theirs")
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _planted_record(study, victim)
        os.chown(study / "ray_session.json", 65534, 65534)  # nobody's file
        before = checksums(study)
        proc = jetstudy("report", study, "-o", tmp_path / "out", "--no-figures", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        time.sleep(0.3)
        assert victim.poll() is None, "the planted record's process was stopped"
        assert checksums(study) == before  # the record stays: not this user's to remove
    finally:
        victim.kill()
        victim.wait()


def test_a_ray_record_that_is_a_link_is_never_read(tmp_path: Path) -> None:
    from jetstudy.study.raysession import reap_dead_session

    study = _tables_study(tmp_path / "s")
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _planted_record(tmp_path, victim)  # the record elsewhere, a link to it in the study
        (study / "ray_session.json").symlink_to(tmp_path / "ray_session.json")
        assert reap_dead_session(study) == 0
        time.sleep(0.3)
        assert victim.poll() is None
        assert (tmp_path / "ray_session.json").is_file()
    finally:
        victim.kill()
        victim.wait()


def test_the_users_own_dead_drivers_record_is_still_reaped(tmp_path: Path) -> None:
    """A record of this user's names Ray processes their dead driver left: still stopped."""
    from jetstudy.study.raysession import reap_dead_session

    study = _tables_study(tmp_path / "s")
    left = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _planted_record(study, left)
        assert reap_dead_session(study) == 1
        assert left.wait(timeout=10) is not None
        assert not (study / "ray_session.json").exists()
    finally:
        left.kill()
        left.wait()


@pytest.mark.parametrize("spelt", ["EXPORT/t1", "Export/new"])
def test_export_into_another_studys_export_folder_in_another_case_is_refused(
        tmp_path: Path, spelt: str) -> None:
    """``export A -o B/EXPORT/<id> --force``: the own-export-folder check compared the name
    exactly; where case is ignored ``EXPORT`` is B's ``export/`` (study/export.py, one word)."""
    from tests.faults.conftest import fake_study, jetstudy_here

    for name in ("a", "b"):
        fake_study(tmp_path / "results" / name, ("config.yaml", "scaler.json", "trials.parquet"),
                   ("trials", "data", "best"))
    (tmp_path / "results" / "b" / "export" / "t1").mkdir(parents=True)
    (tmp_path / "results" / "b" / "export" / "t1" / "model.onnx").write_bytes(b"b's model\n")
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("export", "results/a", "-o", f"results/b/{spelt}",
                                       "--force", cwd=tmp_path))
    assert "inside the study" in err and "results/b's own export/ folder" in err, err
    assert checksums(tmp_path) == before
