"""No room to write (a full disk, a used-up quota, a file-size limit): one ``error:`` line
naming the file and the fix, exit 2, no traceback, no half-written file under its final
name, and what was there before intact. The limit is ``RLIMIT_FSIZE`` set in the
subprocess (Python ignores SIGXFSZ, so writes fail with EFBIG, as on a full disk)."""

from __future__ import annotations

import errno
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jetstudy.trainables.atomic import no_room
from tests.faults.conftest import REPO, checksums, one_line_error, plant

LIMIT = 20_000  # bytes: a synthetic jet file, a checkpoint, a model or a figure is larger


def _limited(*args: str, cwd: Path, limit: int = LIMIT, module: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``python -m jetstudy.study.cli ARGS`` (or ``python -c ARGS[0]``) under a file-size
    limit of ``limit`` bytes."""
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = ["-m", "jetstudy.study.cli", *args] if module else ["-c", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, *command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, preexec_fn=cap)


def test_no_room_is_found_behind_library_errors() -> None:
    """h5py raises a RuntimeError on close, naming errno 27 only in its text."""
    cut = RuntimeError("Can't decrement id ref count (unable to extend file properly, "
                       "errno = 27, error message = 'File too large')")
    assert no_room(cut) == errno.EFBIG
    try:
        try:
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        except OSError:
            raise ValueError("write failed")
    except ValueError as chained:
        assert no_room(chained) == errno.EDQUOT
    assert no_room(OSError(errno.ENOSPC, "x")) == errno.ENOSPC
    assert no_room(OSError(errno.ENOENT, "No such file or directory")) is None
    assert no_room(ValueError("bad value")) is None


def test_each_no_room_errno_is_explained_with_its_fix() -> None:
    from jetstudy.study.os_errors import os_problem as _os_problem

    for code, words in ((errno.EFBIG, "ulimit -f"), (errno.ENOSPC, "free some space"),
                        (errno.EDQUOT, "quota")):
        text = _os_problem(OSError(code, os.strerror(code), "res/st/trials.parquet"))
        assert "res/st/trials.parquet" in text and words in text, text
        assert "exists" not in text, text  # not the fallback "check that the path exists"


_WRITERS = r"""
import json, sys, torch
from pathlib import Path
from jetstudy.trainables.atomic import write_atomic
from jetstudy.trainables.checkpoint import save_state
out = {}
for name, write in (
        ("table.parquet", lambda p: write_atomic(p, lambda t: Path(t).write_bytes(b"x" * 50000))),
        ("state.pt", lambda p: save_state({"w": torch.zeros(20000)}, p))):
    path = Path(name)
    try:
        write(path)
        out[name] = "written"
    except OSError as exc:
        out[name] = [exc.errno, exc.filename]
print(json.dumps(out))
"""


def test_atomic_writes_and_checkpoints_fail_cleanly_keeping_the_old_file(tmp_path: Path) -> None:
    """A table or checkpoint write past the limit: an OSError (EFBIG) naming the final file,
    not an abort of the process (torch.save to a path ends in a C++ terminate), the earlier
    file intact and no temporary left."""
    old = plant(tmp_path, ["table.parquet", "state.pt"])
    proc = _limited(_WRITERS, cwd=tmp_path, module=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got == {n: [errno.EFBIG, n] for n in old}, got
    assert checksums(tmp_path) == old  # the earlier files, and nothing else (no temporary)


def test_synth_past_a_file_size_limit(tmp_path: Path) -> None:
    out = tmp_path / "jets"
    before = plant(out, ["notes.txt"])
    err = one_line_error(_limited("synth", "--jets", "2000", "--jets-per-file", "1000",
                                  str(out), cwd=tmp_path))
    assert "jetImage_synth_1_0_1000.h5" in err and "ulimit -f" in err, err
    assert checksums(out) == before  # no staging folder, no part of the set


def test_export_past_a_file_size_limit(finished_study: dict[str, Any], tmp_path: Path) -> None:
    """export used to abort inside torch (exit -6, a C++ backtrace, its staging folder left).
    Now one line with the fix; a folder it made is removed again, the study unchanged."""
    assert finished_study["proc"].returncode == 0, finished_study["proc"].stderr[-2000:]
    study = finished_study["folder"]
    study_before = checksums(study)
    err = one_line_error(_limited("export", str(study), "-o", str(tmp_path / "exp"),
                                  cwd=tmp_path, limit=4000))
    assert "ulimit -f" in err and str(tmp_path / "exp") in err, err
    # the file the export was writing, by its final name: not the removed staging folder's
    assert any(f"{tmp_path / 'exp' / name}" in err for name in ("model.onnx", "model.pt",
                                                                 "model.json", "README.md")), err
    assert ".export-tmp" not in err, err
    assert not (tmp_path / "exp").exists()
    assert checksums(study) == study_before


def test_report_names_the_fix_when_there_is_no_room(tmp_path: Path) -> None:
    from jetstudy.analysis.report import _unwritable

    text = str(_unwritable(tmp_path / "rep", OSError(errno.EFBIG, os.strerror(errno.EFBIG))))
    assert str(tmp_path / "rep") in text and "ulimit -f" in text, text
    text = str(_unwritable(tmp_path / "rep", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    assert "free some space" in text, text


def test_run_under_a_limit_ray_cannot_start_with() -> None:
    """Ray's object store is one large file: under a small limit ray.init timed out after
    30 s with a traceback. Now refused at once, naming the limit and the fix (the limit is
    set for this process only while Ray would start: a soft limit, raised back after)."""
    from jetstudy.study.connect import start_local
    from jetstudy.trainables.errors import ConfigError

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, hard))
    try:
        with pytest.raises(ConfigError) as refused:
            start_local(num_cpus=1, include_dashboard=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "2000000 bytes" in str(refused.value), refused.value
    assert "ulimit -f unlimited" in str(refused.value), refused.value


def test_fetch_past_a_file_size_limit_is_not_a_broken_download(tmp_path: Path) -> None:
    """fetch retried 4 times and said the download 'broke off': run again (it cannot help).
    Now: the file and the limit's fix; nothing under the final name, the user's files kept."""
    mirror = tmp_path / "mirror" / "datasets" / "0004" / "42468"
    mirror.mkdir(parents=True)
    (mirror / "dataset_42468.pq").write_bytes(os.urandom(3 * LIMIT))
    out = tmp_path / "cache"
    mine = plant(out, ["notes.txt"])
    proc = _limited("fetch", "hls4ml", str(out), cwd=tmp_path,
                    env={"JETSTUDY_MIRROR": str(tmp_path / "mirror")})
    err = one_line_error(proc)
    assert "hls4ml_lhc_jets_hlf.parquet" in err and "ulimit -f" in err, err
    assert "broke off" not in err and "broke off" not in proc.stderr, proc.stderr[-2000:]
    assert not (out / "hls4ml_lhc_jets_hlf.parquet").exists()
    assert all(checksums(out).get(n) == d for n, d in mine.items())


def test_other_refusals_of_the_file_system_are_not_called_missing_paths() -> None:
    """A too-long name, a link loop, a folder where a file goes, EPERM: each its own fix,
    not the fallback 'check that the path exists'."""
    from jetstudy.study.os_errors import os_problem as _os_problem

    for code, words in ((errno.ENAMETOOLONG, "255 bytes"), (errno.ELOOP, "loop"),
                        (errno.EISDIR, "a folder stands"), (errno.EPERM, "does not allow")):
        text = _os_problem(OSError(code, os.strerror(code), "res/x"))
        assert "res/x" in text and words in text and "exists" not in text, text
