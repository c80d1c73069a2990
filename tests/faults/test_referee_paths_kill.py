"""Referee: a command killed (SIGKILL) while it writes leaves no half-written file that looks
finished, loses nothing of the user's, and the same command run again works.

``synth``, ``report`` and ``export`` are killed at a few random moments each (seeded, so a
failure repeats); after every kill each file under its final name is whole (the bytes an
uninterrupted run writes, or a digest the folder's manifest lists), and the user's files
beside it are byte for byte as they were."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from tests.faults.conftest import REPO, checksums, jetstudy, jetstudy_here, plant

TRIES = 4


def _killed(args: list[str], cwd: Path, delay: float) -> None:
    """Start ``jetstudy ARGS`` and SIGKILL it after ``delay`` seconds (if still running)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", *args], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.kill()
    proc.wait(timeout=30)


def _visible(folder: Path) -> dict[str, str]:
    """Checksums of the files a user sees (not jetstudy's hidden temporaries)."""
    return {k: v for k, v in checksums(folder).items()
            if not any(part.startswith(".") for part in Path(k).parts)}


def _listed(folder: Path, manifest: str) -> dict[str, list[str]]:
    try:
        return json.loads((folder / manifest).read_text())["files"]
    except FileNotFoundError:
        return {}


def _kill_repeatedly(args: list[str], cwd: Path, seed: int, delays: tuple[float, float],
                     out: Path, manifest: str, mine: dict[str, str], beside: Path,
                     not_listed: tuple[str, ...] = ()) -> None:
    """Kill ``jetstudy ARGS`` :data:`TRIES` times at seeded random moments; after each kill
    every visible file in ``out`` (but those ``not_listed``: the user's, a folder) is one the
    manifest lists with that digest, and the user's files ``mine`` under ``beside`` are
    intact."""
    rng = random.Random(seed)
    for _ in range(TRIES):
        _killed(args, cwd, rng.uniform(*delays))
        listed = _listed(out, manifest)
        for name, digest in _visible(out).items():
            if name not in not_listed:
                assert digest in listed.get(name, []), name  # never half a page or file
        assert all(checksums(beside).get(n) == d for n, d in mine.items())


def test_synth_killed_midway_leaves_whole_files_and_reruns(workdir: Path) -> None:
    args = ["--jets", "60000", "--jets-per-file", "2000"]
    assert jetstudy_here("synth", "whole", *args, cwd=workdir).returncode == 0
    whole = checksums(workdir / "whole")
    mine = plant(workdir / "jets", ["my_plot.png", "notes.txt"])  # data files of the user: refused (round 7)
    rng = random.Random(7)
    for _ in range(TRIES):
        _killed(["synth", "jets", *args], workdir, rng.uniform(0.5, 2.0))
        seen = _visible(workdir / "jets")
        for name, digest in seen.items():  # each file there is whole, or the user's own
            assert digest == whole.get(name, mine.get(name)), name
        assert all(seen.get(n) == d for n, d in mine.items())
    done = jetstudy("synth", "jets", *args, cwd=workdir, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _visible(workdir / "jets") == {**whole, **mine}


def test_report_killed_midway_leaves_whole_files_and_reruns(finished_study,
                                                            tmp_path: Path) -> None:
    from jetstudy.analysis.report_folder import MANIFEST

    out = tmp_path / "out"
    mine = plant(out, ["my_notes.md", "plots/mine.png"])
    study = finished_study["folder"]
    _kill_repeatedly(["report", str(study), "-o", str(out), "--force"], tmp_path, 11,
                     (1.0, 4.0), out, MANIFEST, mine, beside=out,
                     not_listed=(*mine, "plots"))
    done = jetstudy("report", study, "-o", out, "--force", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = _listed(out, MANIFEST)
    assert "index.html" in listed
    now = checksums(out)
    assert all(now.get(n) == d for n, d in mine.items())
    assert all(now[n] == d for n, (d,) in listed.items())


def test_export_killed_midway_leaves_whole_files_and_reruns(finished_study,
                                                            tmp_path: Path) -> None:
    from jetstudy.study.export import MANIFEST

    mine = plant(tmp_path, ["model.onnx", "README.md"])  # the user's, beside the export
    out = tmp_path / "export"
    study = finished_study["folder"]
    _kill_repeatedly(["export", str(study), "-o", str(out), "--force"], tmp_path, 13,
                     (1.0, 3.5), out, MANIFEST, mine, beside=tmp_path)
    done = jetstudy("export", study, "-o", out, "--force", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = _listed(out, MANIFEST)
    assert set(_visible(out)) == set(listed) and "model.onnx" in listed
    assert all(checksums(tmp_path).get(n) == d for n, d in mine.items())
