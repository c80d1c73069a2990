"""Referee 6 (toolbox): ``jetstudy fetch`` resumes only a partial download of the same file.

The OpenML table and the HDF5 archives have no published SHA-256, so nothing checks a resumed
file afterwards. A broken download was resumed with a bare ``Range`` request: when the file
changed on the server (a new upload, another mirror) between the break and the next run, its
rest was appended to the old file's start, and the spliced file was kept and recorded; a part
longer than the file now served got a 416 and was taken as complete. Now the part's record
holds the file's version (``ETag``, else ``Last-Modified``), sent as ``If-Range`` (a changed
file comes whole), and a 416 whose ``Content-Range`` names another size starts over.

A real HTTP server on 127.0.0.1 (Range, If-Range, ETag as servers send them); no study runs.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Iterator

import pytest

from jetstudy.study.fetch import RECORD, Source, download
from jetstudy.trainables.errors import DataError
from tests.study.http_server import FileServer, QuietHandler, serving

OLD = bytes(range(256)) * 200  # 50 KiB
NEW = bytes(range(255, -1, -1)) * 200


def _etag(body: bytes) -> str:
    return f'"v{zlib.crc32(body):08x}"'


class _Server(FileServer):
    body: bytes


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        body, etag = server.body, _etag(server.body)
        wanted, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        server.requests.append({"range": wanted, "if_range": if_range})
        start = int(wanted.removeprefix("bytes=").rstrip("-")) if wanted else 0
        if wanted and if_range not in (None, etag):  # RFC 9110: a changed file, sent whole
            start = 0
        if start >= len(body) > 0:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        rest = body[start:]
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.send_rest(rest)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.body, srv.cut_first, srv.requests = OLD, 1, []
    with serving(srv):
        yield srv


def _broken_download(server: _Server, folder: Path) -> Source:
    """A download of OLD cut halfway (no retries): its .part, as a dropped connection left it."""
    source = Source(f"http://127.0.0.1:{server.server_address[1]}/t.pq", "t.bin")
    with pytest.raises(DataError, match="run the same command again to resume"):
        download(source, folder, retries=0)
    assert (folder / "t.bin.part").stat().st_size == len(OLD) // 2
    return source


def test_a_file_changed_since_the_break_is_downloaded_whole(server: _Server,
                                                            tmp_path: Path) -> None:
    source = _broken_download(server, tmp_path)
    server.body = NEW  # a new upload between the two runs
    assert download(source, tmp_path).read_bytes() == NEW  # not OLD's start + NEW's rest
    assert server.requests[-1] == {"range": f"bytes={len(OLD) // 2}-", "if_range": _etag(OLD)}
    assert json.loads((tmp_path / RECORD).read_text())["t.bin"]["size"] == len(NEW)


def test_the_same_file_is_still_resumed(server: _Server, tmp_path: Path) -> None:
    source = _broken_download(server, tmp_path)
    assert download(source, tmp_path).read_bytes() == OLD
    assert server.requests[-1]["range"] == f"bytes={len(OLD) // 2}-"  # only the rest


def test_a_part_longer_than_the_file_now_served_starts_over(server: _Server,
                                                            tmp_path: Path) -> None:
    source = _broken_download(server, tmp_path)
    server.body = NEW[:1000]  # shorter than the part: the Range is past its end (416)
    assert download(source, tmp_path).read_bytes() == NEW[:1000]
