"""Referee 6 (toolbox): ``jetstudy fetch``'s checksum of a cached file, from a mirror folder.

- The cached table, replaced by another file (a copy cut short, a backup restored, an edit
  saved as a new file: another inode), was adopted as "placed by hand" without a word: exit 0,
  ``data.path`` printed, and the SHA-256 recorded at the download overwritten with the broken
  file's. The README says the digest is checked whenever the cached file is reused. Now it is
  refused (exit 2) naming both digests; the file stays as it is.
- A download that is not a Parquet file (an error page) was warned about once, at its
  download; the next ``fetch`` reused it silently. A file put there by hand was never checked.
  Now both are warned about at every fetch.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.cli import main

SOURCE_PATH = "datasets/0004/42468/dataset_42468.pq"  # the OpenML URL's path
TABLE = "hls4ml_lhc_jets_hlf.parquet"


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "mirror"
    (root / SOURCE_PATH).parent.mkdir(parents=True)
    pd.DataFrame({"zlogz": [-2.5, -3.1] * 50, "class": ["g", "t"] * 50}).to_parquet(
        root / SOURCE_PATH)
    monkeypatch.setenv("JETSTUDY_MIRROR", str(root))
    return root / SOURCE_PATH


def test_a_cached_file_replaced_by_another_is_refused_naming_both_digests(
        mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    assert main(["fetch", "hls4ml", str(cache)]) == 0
    recorded = json.loads((cache / ".jetstudy-fetch.json").read_text())[TABLE]["sha256"]
    cut = mirror.read_bytes()[:300]
    (cache / "copy").write_bytes(cut)
    (cache / "copy").replace(cache / TABLE)  # a new inode: not the file jetstudy wrote
    capsys.readouterr()
    assert main(["fetch", "hls4ml", str(cache)]) == 2
    err = capsys.readouterr().err
    assert "changed since jetstudy downloaded it" in err and recorded in err, err
    assert "delete it" in err and "Traceback" not in err
    assert (cache / TABLE).read_bytes() == cut  # never replaced
    # the record still holds the download's digest, not the broken file's
    assert json.loads((cache / ".jetstudy-fetch.json").read_text())[TABLE]["sha256"] == recorded
    (cache / TABLE).unlink()  # as the message says: then it is downloaded afresh
    assert main(["fetch", "hls4ml", str(cache)]) == 0
    assert (cache / TABLE).read_bytes() == mirror.read_bytes()


def test_a_wrong_file_is_warned_about_at_every_fetch(
        mirror: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    mirror.write_bytes(b"<html><body>Please log in to the proxy</body></html>")
    for _ in range(2):  # the download, then the cache hit
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="jetstudy.study"):
            assert main(["fetch", "hls4ml", str(tmp_path / "cache")]) == 0
        assert "is not a parquet file" in caplog.text, caplog.text


def test_a_file_put_there_by_hand_is_checked_for_its_format(
        mirror: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / TABLE).write_bytes(mirror.read_bytes()[:-10])  # cut short
    with caplog.at_level(logging.WARNING, logger="jetstudy.study"):
        assert main(["fetch", "hls4ml", str(tmp_path / "cache")]) == 0
    assert "is not a parquet file" in caplog.text and "cut short" in caplog.text, caplog.text
    assert "put there by hand" in caplog.text
