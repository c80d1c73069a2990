"""Referee, round 2: Ctrl-C and SIGTERM at the moments a command writes.

``synth``, ``report`` and ``export`` stopped by SIGTERM (a batch system's limit, ``kill PID``)
while their staging folder is filling exit 130 like Ctrl-C, leave no staging folder and no
half-written file under a final name, and the same command then works. (``jetstudy run``
interrupted in its data preparation and its final report: test_referee2_paths_run.py, its
own file so that it needs no shared study and runs beside the others.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.faults.conftest import REPO, checksums, jetstudy_here, plant


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", *map(str, args)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _signal_when(proc: subprocess.Popen, ready: Callable[[], bool], sig: int,
                 timeout: float = 240) -> tuple[int, str, str] | None:
    """Send ``sig`` as soon as ``ready()``; the exit status and output, or None when the
    command finished before ``ready()`` ever held (a machine too fast or too slow to catch
    the moment: the caller skips)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=180)
            return proc.returncode, out, err
        time.sleep(0.01)
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
    return None


def _staging(folder: Path, prefix: str) -> list[str]:
    try:
        return [n for n in os.listdir(folder) if n.startswith(prefix)]
    except FileNotFoundError:
        return []


def _visible(folder: Path) -> dict[str, str]:
    return {k: v for k, v in checksums(folder).items()
            if not any(part.startswith(".") for part in Path(k).parts)}


def _stopped(result: tuple[int, str, str] | None, what: str) -> str:
    if result is None:
        pytest.skip(f"{what} finished before its staging folder could be caught")
    code, out, err = result
    assert code == 130, (code, out[-2000:], err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    return err


def _finished_first(result: tuple[int, str, str] | None) -> bool:
    """The command's work was done before the signal landed (it exited 0, or was ended by
    the signal on its way out, after its last file): a try that caught nothing."""
    return result is None or (result[0] in (0, -signal.SIGTERM)
                              and "interrupted" not in result[2])


def test_synth_stopped_by_sigterm_cleans_up_and_reruns(workdir: Path) -> None:
    args = ["--jets", "60000", "--jets-per-file", "2000"]
    assert jetstudy_here("synth", "whole", *args, cwd=workdir).returncode == 0
    whole = checksums(workdir / "whole")
    mine = plant(workdir / "jets", ["my_plot.png"])  # data files of the user: refused (round 7)
    proc = _start(["synth", "jets", *args], workdir)
    err = _stopped(_signal_when(proc, lambda: bool(_staging(workdir / "jets",
                                                            ".jetstudy-synth-")),
                                signal.SIGTERM), "synth")
    assert "interrupted" in err
    assert not _staging(workdir / "jets", ".jetstudy-synth-")
    for name, digest in _visible(workdir / "jets").items():  # whole, or the user's own
        assert digest == whole.get(name, mine.get(name)), name
    assert jetstudy_here("synth", "jets", *args, cwd=workdir).returncode == 0
    assert _visible(workdir / "jets") == {**whole, **mine}


@pytest.mark.parametrize("command", ["report", "export"])
def test_report_and_export_stopped_by_sigterm_clean_up_and_rerun(command: str, finished_study,
                                                                 tmp_path: Path) -> None:
    from jetstudy.analysis.report_folder import MANIFEST as REPORT_MANIFEST
    from jetstudy.study.export import MANIFEST as EXPORT_MANIFEST

    prefix, manifest = ((".report-tmp-", REPORT_MANIFEST) if command == "report"
                        else (".export-tmp-", EXPORT_MANIFEST))
    for attempt in range(3):  # the staging folder lives a few seconds: catch it in one try
        out = tmp_path / f"out{attempt}"
        args = [command, finished_study["folder"], "-o", out]
        result = _signal_when(_start(args, tmp_path), lambda: bool(_staging(out, prefix)),
                              signal.SIGTERM)
        if not _finished_first(result):
            break
    err = _stopped(None if _finished_first(result) else result, command)
    assert "interrupted" in err
    assert not _staging(out, prefix)
    try:
        listed = json.loads((out / manifest).read_text())["files"]
    except FileNotFoundError:
        listed = {}
    for name, digest in _visible(out).items():  # never half a file under a final name
        assert digest in listed.get(name, []), name
    again = jetstudy_here(*args, "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not _staging(out, prefix)
