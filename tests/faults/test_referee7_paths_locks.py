"""Referee round 7: two commands writing into one folder at once, and a lock ``kill -9`` left.

Two ``jetstudy fetch`` into one folder (the shared cache) both appended to the same
``<name>.part``: the OpenML table and the HDF5 archives have no published SHA-256, so the
spliced file was kept and recorded as the download. Now a fetch holds its folder (a ``flock``
of the folder itself, :func:`jetstudy.trainables.staging.folder_lock`, also taken by ``export``
for its output folder and, waiting its turn, by a report moving its files in): a second one is
refused at once, naming the folder and the fix, and the first one's ``.part`` is untouched.
The kernel releases the lock however its holder ends, so after ``kill -9`` the same command
works at once (no stale lock file to clear, none left behind).

A real HTTP server on 127.0.0.1 that stalls the first download halfway; the first fetch runs
in a process of its own (it is killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from jetstudy.study.fetch import Source, fetch_dataset
from jetstudy.trainables.errors import DataError, JetstudyError
from jetstudy.trainables.staging import folder_lock
from tests.faults.conftest import REPO
from tests.study.http_server import FileServer, QuietHandler, serving

BODY = bytes(range(256)) * 400  # 100 KiB


class _Server(FileServer):
    stall: threading.Event  # set: the first response goes on past its first half


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        wanted = self.headers.get("Range")
        server.requests.append({"range": wanted})
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
        rest = BODY[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if len(server.requests) == 1:  # the first download: half, then it hangs
            self.wfile.write(rest[:len(rest) // 2])
            self.wfile.flush()
            server.stall.wait(60)
            return
        self.wfile.write(rest)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.cut_first, srv.requests, srv.stall = 0, [], threading.Event()
    with serving(srv):
        try:
            yield srv
        finally:
            srv.stall.set()


def _wait_for(check, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the first process ended ({proc.returncode}): "
                                 f"{proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_a_second_fetch_into_the_same_folder_is_refused_and_kill_9_frees_it(
        server: _Server, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    url = f"http://127.0.0.1:{server.server_address[1]}/hls4ml.pq"
    first = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; "
         "from jetstudy.study.fetch import Source, fetch_dataset; "
         "fetch_dataset('hls4ml', sys.argv[1], sources=(Source(sys.argv[2], 't.pq'),))",
         str(folder), url], cwd=REPO, stderr=subprocess.PIPE, text=True)
    part = folder / "t.pq.part"
    try:
        _wait_for(lambda: part.exists() and len(server.requests) == 1,
                  "the first fetch's download under way", first)
        size = part.stat().st_size  # what arrived of the first half (reads come in blocks)
        source = (Source(url, "t.pq"),)
        with pytest.raises(DataError) as refused:
            fetch_dataset("hls4ml", folder, sources=source)
        text = str(refused.value)
        assert "another jetstudy fetch is downloading into" in text and str(folder) in text
        assert "run the same command again" in text, text
        assert part.stat().st_size == size  # not appended to
        assert len(server.requests) == 1  # refused before it asked the server anything
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    got = fetch_dataset("hls4ml", folder, sources=source)  # at once: no stale lock
    assert got == folder / "t.pq" and got.read_bytes() == BODY
    assert sorted(os.listdir(folder)) == [".jetstudy-fetch.json", "t.pq"]  # no lock file


def _holder(folder: Path) -> subprocess.Popen:
    """Another process holding ``folder`` with folder_lock until a line arrives on its stdin."""
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; "
         "from jetstudy.trainables.staging import folder_lock\n"
         "with folder_lock(Path(sys.argv[1]), RuntimeError):\n"
         " print('held', flush=True); sys.stdin.readline()\n"
         "print('released', flush=True); sys.stdin.readline()",
         str(folder)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_folder_lock_is_one_holder_at_a_time_and_leaves_nothing(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    try:
        with pytest.raises(JetstudyError, match="busy"):
            with folder_lock(tmp_path, lambda: JetstudyError("busy")):
                pass
        with pytest.raises(JetstudyError, match="busy"):  # a bounded wait, never forever
            with folder_lock(tmp_path, lambda: JetstudyError("busy"), wait_s=0.3):
                pass
    finally:
        holder.kill()  # SIGKILL: its lock goes with it
        holder.wait(30)
    with folder_lock(tmp_path, lambda: JetstudyError("busy")):
        (tmp_path / "mine.txt").write_text("written while held")
    assert os.listdir(tmp_path) == ["mine.txt"]


def test_a_waiter_gets_the_folder_once_its_holder_lets_go(tmp_path: Path) -> None:
    """A report moving its files in waits for another one (not refused, not interleaved)."""
    holder = _holder(tmp_path)
    got: list[str] = []

    def wait() -> None:
        with folder_lock(tmp_path, lambda: JetstudyError("busy"), wait_s=120):
            got.append("held")

    waiter = threading.Thread(target=wait)
    try:
        waiter.start()
        assert holder.stdin is not None and holder.stdout is not None
        assert not got  # still the holder's
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        waiter.join(120)
        assert got == ["held"]
    finally:
        holder.kill()
        holder.wait(30)
        waiter.join(120)
