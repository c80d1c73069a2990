"""Referee 4 (toolbox): ``jetstudy fetch`` from a local mirror folder.

- ``JETSTUDY_MIRROR=/shared/mirror`` (a folder on a cluster without internet access) ended in
  a Python traceback, exit 1 (``ValueError: unknown url type``); now a folder (absolute,
  relative or ``~``) is read as its ``file://`` URL, and a file missing there is one error
  naming the path the mirror must hold.
- The OpenML table has no known SHA-256, so an error page saved as
  ``hls4ml_lhc_jets_hlf.parquet`` passed unremarked; now a file that is not of the format its
  name says is warned about where it is fetched.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.cli import main

SOURCE_PATH = "datasets/0004/42468/dataset_42468.pq"  # the OpenML URL's path
TABLE = "hls4ml_lhc_jets_hlf.parquet"


def _mirror(root: Path, body: bytes | None = None) -> bytes:
    (root / SOURCE_PATH).parent.mkdir(parents=True)
    if body is None:
        pd.DataFrame({"zlogz": [-2.5, -3.1], "class": ["g", "t"]}).to_parquet(root / SOURCE_PATH)
    else:
        (root / SOURCE_PATH).write_bytes(body)
    return (root / SOURCE_PATH).read_bytes()


@pytest.mark.parametrize("spelled", ["absolute", "relative", "file-url"])
def test_a_mirror_folder_is_read_like_a_server(
        spelled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    body = _mirror(tmp_path / "mirror")
    monkeypatch.chdir(tmp_path)
    mirror = {"absolute": str(tmp_path / "mirror"), "relative": "mirror/",
              "file-url": (tmp_path / "mirror").as_uri()}[spelled]
    monkeypatch.setenv("JETSTUDY_MIRROR", mirror)
    with caplog.at_level(logging.WARNING, logger="jetstudy.study"):
        assert main(["fetch", "hls4ml", "cache"]) == 0
    assert (tmp_path / "cache" / TABLE).read_bytes() == body
    assert "not a parquet" not in caplog.text  # a real Parquet file: no warning
    assert f"data.path=cache/{TABLE}" in capsys.readouterr().out


def test_a_file_missing_from_the_mirror_folder_names_where_it_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mirror").mkdir()
    monkeypatch.setenv("JETSTUDY_MIRROR", str(tmp_path / "mirror"))
    assert main(["fetch", "hls4ml", str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "mirror" / SOURCE_PATH) in err and "Traceback" not in err
    assert not (tmp_path / "cache" / TABLE).exists()


def test_an_error_page_saved_as_the_table_is_warned_about(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    _mirror(tmp_path / "mirror", b"<html><body>Please log in to the proxy</body></html>")
    monkeypatch.setenv("JETSTUDY_MIRROR", str(tmp_path / "mirror"))
    with caplog.at_level(logging.WARNING, logger="jetstudy.study"):
        assert main(["fetch", "hls4ml", str(tmp_path / "cache")]) == 0
    assert "is not a parquet file" in caplog.text and "<html>" in caplog.text
    # cut short (a server closing early): the Parquet footer is missing
    caplog.clear()
    body = (tmp_path / "mirror" / SOURCE_PATH)
    _mirror(tmp_path / "m2")
    body.write_bytes((tmp_path / "m2" / SOURCE_PATH).read_bytes()[:-10])
    with caplog.at_level(logging.WARNING, logger="jetstudy.study"):
        assert main(["fetch", "hls4ml", str(tmp_path / "cache2")]) == 0
    assert "is not a parquet file" in caplog.text
