"""A Ctrl-C or SIGTERM that lands while a staging folder or an atomic write's temporary is
being made leaves neither behind (CI caught a ``synth`` stopped by SIGTERM between
``mkdtemp`` and the ``try`` that removes its staging folder).

The stop is sent from inside the making (the process signals itself from a function the
maker calls), the one moment the old code could not clean up. Each case runs in its own
process, with SIGTERM turned into KeyboardInterrupt as the CLI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import REPO

PRELUDE = """
import os, signal, sys
from pathlib import Path
def stop(*_):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, stop)
out = Path(sys.argv[1])
SIG = getattr(signal, sys.argv[2])
def send_then(real):
    def wrapped(*args, **kwargs):
        os.kill(os.getpid(), SIG)   # lands inside the making
        return real(*args, **kwargs)
    return wrapped
"""

CASES = {
    "staging folder": """
import jetstudy.trainables.staging as staging
staging.process_start = send_then(staging.process_start)   # called while the mark is written
try:
    with staging.staging_folder(out, ".jetstudy-synth-", "jetstudy synth") as stage:
        print("inside", flush=True)   # never: the stop is raised before the block runs
except KeyboardInterrupt:
    print("stopped", flush=True)
""",
    "atomic temporary": """
import jetstudy.trainables.atomic as atomic
atomic.current_umask = send_then(atomic.current_umask)   # called once the temporary exists
try:
    atomic.write_atomic(out / "table.json", lambda tmp: Path(tmp).write_text("{}"))
except KeyboardInterrupt:
    print("stopped", flush=True)
""",
    "recorded temporary": """
import jetstudy.trainables.atomic as atomic
atomic.current_umask = send_then(atomic.current_umask)
try:
    atomic.write_atomic(out / "jets.h5", lambda tmp: Path(tmp).write_text("x"),
                        tmp_name="jets.h5.tmp")
except KeyboardInterrupt:
    print("stopped", flush=True)
""",
}


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stop_while_making_leaves_nothing(case: str, sig: str, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("the user's")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PRELUDE + CASES[case], str(tmp_path), sig],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout.split() == ["stopped"], (done.stdout, done.stderr[-2000:])
    assert sorted(os.listdir(tmp_path)) == ["mine.txt"]
    assert (tmp_path / "mine.txt").read_text() == "the user's"
