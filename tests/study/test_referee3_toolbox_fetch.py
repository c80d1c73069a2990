"""Referee 3 (toolbox): `jetstudy fetch hls4ml --hdf5` prints a data.path that loads.

The real archives (Zenodo 3602260) hold their HDF5 files in a subfolder (``train/``,
``val/``), and ``data.path`` naming a folder reads only the files directly in it: the printed
``data.path`` (the folder of the two archives, or the one unpacked folder) found no .h5 file.
Served here by a real HTTP server on 127.0.0.1 (``JETSTUDY_MIRROR``), two small archives of
real-format synthetic files, laid out as the real ones.
"""

from __future__ import annotations

import http.server
import io
import shlex
import tarfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from jetstudy.study.cli import main
from jetstudy.study.fetch import DATASETS, data_path
from jetstudy.trainables.formats import load_jets
from tests.faults.conftest import tar_gz
from tests.study.http_server import serving
from jetstudy.trainables.synth import write_synthetic


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


_PORT: list[int] = []


def mirror_port() -> int:
    return _PORT[-1]


@pytest.fixture
def mirror(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bytes]]:
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Files,), {"files": files})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    with serving(srv):
        _PORT.append(srv.server_address[1])
        monkeypatch.setenv("JETSTUDY_MIRROR", f"http://127.0.0.1:{srv.server_address[1]}")
        yield files


def _archive(tmp: Path, sub: str, jets: int, seed: int) -> bytes:
    """A tar.gz holding ``sub/jetImage_*.h5``, as the real archives hold ``train/`` or
    ``val/``."""
    files = write_synthetic(tmp / f"src{seed}" / sub, jets, seed=seed)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for f in files:
            tar.add(f, arcname=f"{sub}/{f.name}")
    return buffer.getvalue()


def _printed_path(out: str) -> str:
    line = next(x for x in out.splitlines() if x.startswith("use it with: --set data.path="))
    return shlex.split(line.removeprefix("use it with: --set "))[0].removeprefix("data.path=")


def test_fetch_hdf5_prints_a_data_path_that_reads_both_archives(
        mirror: dict[str, bytes], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, val = DATASETS["hls4ml"]["hdf5"]
    from urllib.parse import urlsplit

    mirror[urlsplit(train.url).path] = _archive(tmp_path, "train", 150, seed=1)
    mirror[urlsplit(val.url).path] = _archive(tmp_path, "val", 100, seed=2)
    dest = tmp_path / "my data"  # a space: the printed value must survive the shell
    assert main(["fetch", "hls4ml", str(dest), "--hdf5"]) == 0
    path = _printed_path(capsys.readouterr().out)
    table = load_jets(path)
    assert len(table.y) == 250  # both archives' jets, none twice
    assert np.bincount(table.y, minlength=5).min() > 0
    # files of the user's beside the unpacked folders, in a folder or directly in DIR, are
    # not read
    write_synthetic(dest / "mine", 50, seed=3)
    write_synthetic(dest, 60, seed=4)
    assert len(load_jets(data_path(dest)).y) == 250


def test_one_unpacked_archive_and_a_table_give_loadable_paths(tmp_path: Path) -> None:
    one = tmp_path / "hls4ml_LHCjet_150p_val"
    write_synthetic(one / "val", 120, seed=4)
    (one / ".jetstudy-unpacked").write_text("0" * 64 + "\n")
    assert len(load_jets(data_path(one)).y) == 120
    flat = tmp_path / "flat"  # no unpacked archive: the folder itself
    write_synthetic(flat, 80, seed=5)
    assert data_path(flat) == str(flat)
    table = tmp_path / "jets.parquet"
    table.write_bytes(b"x")
    assert data_path(table) == str(table)


@pytest.mark.parametrize("python_filter", [True, False])
def test_an_archive_that_escapes_or_is_damaged_is_one_error(
        mirror: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        python_filter: bool) -> None:
    """Python's tar 'data' filter refused a member outside the folder with a FilterError
    traceback, and before Python 3.10.12/3.11.4 (no filter: requires-python is >=3.10) every
    unpack was a TypeError."""
    from jetstudy.study.fetch import Source, fetch_dataset
    from jetstudy.trainables.errors import DataError

    if not python_filter:
        monkeypatch.delattr(tarfile, "data_filter")
    port = mirror_port()
    mirror["/good.tar.gz"] = tar_gz({"train/jetImage_0.h5": b"h5" * 100})
    mirror["/evil.tar.gz"] = tar_gz({"train/ok.h5": b"x", "../../escaped.h5": b"evil"})
    mirror["/broken.tar.gz"] = b"\x1f\x8b" + bytes(range(200))
    url = f"http://127.0.0.1:{port}"
    out = fetch_dataset("hls4ml", tmp_path / "d", sources=(
        Source(f"{url}/good.tar.gz", "good.tar.gz", unpack=True),))
    assert (out / "train" / "jetImage_0.h5").read_bytes() == b"h5" * 100
    for name in ("evil", "broken"):
        with pytest.raises(DataError, match=f"{name}.tar.gz cannot be unpacked"):
            fetch_dataset("hls4ml", tmp_path / "d", sources=(
                Source(f"{url}/{name}.tar.gz", f"{name}.tar.gz", unpack=True),))
    assert not any(p.name == "escaped.h5" for p in tmp_path.rglob("*"))
