"""Referee round 11: a study folder that turns read-only while its driver runs.

The results folder is bind-mounted (``unshare -m``, skipped where not allowed) and remounted
read-only once the study's ``config.yaml`` is written (Ray started, its session recorded in
``ray_session.json``), as a share remounted read-only or a snapshot swapped in mid-run.

The driver's clean-up removes ``pack_data.npz``, its Ray record and its lock as it ends; on a
read-only folder each removal failed (unlinking even a missing file fails there), and the
error, raised in the clean-up, replaced the one that ended the study: the user read
"driver.lock: Read-only file system" (a file they never wrote; the write that failed,
``provenance.json``, unsaid), and the ``pack_data.npz`` one skipped Ray's shutdown. Now the
clean-up's failures are warnings: the error that stopped the study is the one printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import REPO, study_yaml
from tests.faults.test_referee10_paths_readonly import _read_only_mounts

pytestmark = pytest.mark.skipif(not _read_only_mounts(),
                                reason="cannot bind-mount read-only (unshare -m) here")

#: $1 the results folder, $2 where it is mounted, $3 the file of the study (st) whose
#: appearance turns the mount read-only; then the command runs.
_MOUNT_THEN_RO = ('mount --bind "$1" "$2" || exit 9; '
                  '(while [ ! -e "$2/st/$3" ]; do sleep 0.02; done; '
                  'mount -o remount,bind,ro "$2") & shift 3; exec "$@"')


def test_a_study_folder_turned_read_only_mid_run_says_what_stopped_it(tmp_path: Path) -> None:
    results, mnt = tmp_path / "results", tmp_path / "mnt"
    results.mkdir()
    mnt.mkdir()
    study_yaml(tmp_path / "study.yaml", mnt, "st")
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", _MOUNT_THEN_RO, "sh", str(results), str(mnt),
         "config.yaml", "env", f"PYTHONPATH={REPO}", sys.executable, "-m",
         "jetstudy.study.cli", "run", "study.yaml", "--no-report"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert "Read-only file system" in errors[0], errors[0]
    for cleanup in ("driver.lock", "ray_session.json", "pack_data.npz"):  # not the clean-up's
        assert cleanup not in errors[0], errors[0]
    assert f"{mnt}/st/" in errors[0], errors[0]  # the study's file whose write failed
    assert "study lock" in proc.stderr and "ray_session.json" in proc.stderr  # warned, kept
