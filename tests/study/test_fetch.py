"""``jetstudy fetch`` against a real HTTP server on 127.0.0.1 serving small fixtures: a
clean download, a cache hit, a connection broken mid-file (resumed with a Range request, in
the same run and in the next), a wrong checksum, a server that is not there, and a tar of
HDF5-named files."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
from pathlib import Path
from typing import Iterator

import pytest

from jetstudy.study.cli import main
from jetstudy.study.fetch import RECORD, Source, cache_dir, download, fetch_dataset
from jetstudy.trainables.errors import DataError
from tests.study.http_server import FileServer, QuietHandler, serving

PAYLOAD = bytes(range(256)) * 400  # 100 KiB


class _Server(FileServer):
    files: dict[str, bytes]


class _Handler(QuietHandler):
    def do_GET(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        body = server.files.get(self.path)
        server.requests.append({"path": self.path, "range": self.headers.get("Range")})
        if body is None:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.send_rest(rest)


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut_first, srv.requests = {}, 0, []
    with serving(srv):
        yield srv


def _url(srv: _Server, path: str) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_checksum_record_and_cache_hit(server: _Server, tmp_path: Path) -> None:
    server.files["/jets.pq"] = PAYLOAD
    seen: list[tuple[int, int | None]] = []
    source = Source(_url(server, "/jets.pq"), "jets.parquet", sha256=_sha(PAYLOAD))
    path = fetch_dataset("hls4ml", tmp_path, sources=(source,),
                         progress=lambda name, done, total: seen.append((done, total)))
    assert path == tmp_path / "jets.parquet" and path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))  # the progress reached the end
    record = json.loads((tmp_path / RECORD).read_text())
    assert record["jets.parquet"]["sha256"] == _sha(PAYLOAD)
    fetch_dataset("hls4ml", tmp_path, sources=(source,))
    assert len(server.requests) == 1  # the cached file was reused
    path.write_bytes(b"changed")  # a changed cached file is downloaded afresh
    fetch_dataset("hls4ml", tmp_path, sources=(source,))
    assert path.read_bytes() == PAYLOAD and len(server.requests) == 2


def test_a_broken_connection_is_resumed_in_the_same_run(server: _Server,
                                                        tmp_path: Path) -> None:
    server.files["/jets.pq"] = PAYLOAD
    server.cut_first = 1
    path = download(Source(_url(server, "/jets.pq"), "jets.parquet", _sha(PAYLOAD)), tmp_path)
    assert path.read_bytes() == PAYLOAD
    assert server.requests[0]["range"] is None
    assert server.requests[1]["range"] == f"bytes={len(PAYLOAD) // 2}-"  # only the rest
    assert not (tmp_path / "jets.parquet.part").exists()


def test_a_broken_download_resumes_in_the_next_run(server: _Server, tmp_path: Path) -> None:
    server.files["/jets.pq"] = PAYLOAD
    server.cut_first = 1
    source = Source(_url(server, "/jets.pq"), "jets.parquet", _sha(PAYLOAD))
    with pytest.raises(DataError, match="run the same command again to resume"):
        download(source, tmp_path, retries=0)
    part = tmp_path / "jets.parquet.part"
    assert part.stat().st_size == len(PAYLOAD) // 2 and not (tmp_path / "jets.parquet").exists()
    assert download(source, tmp_path).read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == f"bytes={len(PAYLOAD) // 2}-"


def test_a_wrong_checksum_is_refused_and_deleted(server: _Server, tmp_path: Path) -> None:
    server.files["/jets.pq"] = PAYLOAD
    source = Source(_url(server, "/jets.pq"), "jets.parquet", sha256="0" * 64)
    with pytest.raises(DataError, match=r"checksum mismatch for jets.parquet.*expected 0{64}"):
        download(source, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-trusted is left


def test_offline_is_one_clear_error(tmp_path: Path, capsys, monkeypatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = Source(f"http://127.0.0.1:{port}/jets.pq", "jets.parquet")
    with pytest.raises(DataError, match=r"cannot download http://127.0.0.1:\d+/jets.pq .*"
                                        r"put it at .*jets.parquet"):
        download(source, tmp_path)
    # the command line: one error line, exit status 2, through a mirror that is down
    monkeypatch.setenv("JETSTUDY_MIRROR", f"http://127.0.0.1:{port}")
    assert main(["fetch", "hls4ml", str(tmp_path / "cli")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot download") and "Traceback" not in err


def test_missing_file_names_the_status(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="answered 404"):
        download(Source(_url(server, "/nothing"), "x.parquet"), tmp_path)


def test_cli_through_a_mirror_and_the_cache_env(server: _Server, tmp_path: Path, capsys,
                                                monkeypatch) -> None:
    server.files["/datasets/0004/42468/dataset_42468.pq"] = PAYLOAD
    monkeypatch.setenv("JETSTUDY_MIRROR", _url(server, ""))
    monkeypatch.setenv("JETSTUDY_DATA", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    assert main(["fetch", "hls4ml"]) == 0
    path = tmp_path / "cache" / "hls4ml" / "hls4ml_lhc_jets_hlf.parquet"
    assert path.read_bytes() == PAYLOAD
    assert f"data.path={path}" in capsys.readouterr().out


def test_hdf5_archives_are_unpacked(server: _Server, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("train/jetImage_0.h5")
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    server.files["/train.tar.gz"] = buffer.getvalue()
    out = fetch_dataset("hls4ml", tmp_path, sources=(
        Source(_url(server, "/train.tar.gz"), "train.tar.gz", unpack=True),))
    assert (out / "train" / "jetImage_0.h5").read_bytes() == PAYLOAD
