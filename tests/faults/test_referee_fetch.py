"""``jetstudy fetch`` around the user's own files, with no network (a mirror on 127.0.0.1:9
refuses at once): a file the user put where the download goes (as the offline error tells
them to) is used and never replaced, and a failed fetch leaves no empty folder behind."""

from __future__ import annotations

from pathlib import Path

from tests.faults.conftest import checksums, jetstudy, one_line_error, plant

OFFLINE = {"JETSTUDY_MIRROR": "http://127.0.0.1:9"}
TABLE = "hls4ml_lhc_jets_hlf.parquet"


def test_a_file_put_there_by_hand_is_used_and_never_replaced(workdir: Path) -> None:
    planted = plant(workdir / "cache", [TABLE])
    proc = jetstudy("fetch", "hls4ml", "cache", cwd=workdir, env=OFFLINE, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"data.path=cache/{TABLE}" in proc.stdout
    assert checksums(workdir / "cache")[TABLE] == planted[TABLE]
    # the next fetch reuses it (it is recorded now), still offline, still unchanged
    again = jetstudy("fetch", "hls4ml", "cache", cwd=workdir, env=OFFLINE, timeout=60)
    assert again.returncode == 0, again.stderr[-2000:]
    assert checksums(workdir / "cache")[TABLE] == planted[TABLE]


def test_a_folder_under_the_download_name_is_refused(workdir: Path) -> None:
    plant(workdir / "cache" / TABLE, ["mine.txt"])
    before = checksums(workdir)
    err = one_line_error(jetstudy("fetch", "hls4ml", "cache", cwd=workdir, env=OFFLINE,
                                  timeout=60))
    assert TABLE in err and "never replaces your files" in err
    assert checksums(workdir) == before


def test_a_failed_fetch_leaves_no_empty_folder(workdir: Path) -> None:
    err = one_line_error(jetstudy("fetch", "hls4ml", "new/cache", cwd=workdir, env=OFFLINE,
                                  timeout=60))
    assert "cannot download" in err and f"new/cache/{TABLE}" in err
    assert checksums(workdir) == {}  # neither new/ nor new/cache/ stays
