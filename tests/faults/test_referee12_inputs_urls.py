"""Round 12 referee of bad input: a URL where jetstudy takes a path. ``jetstudy synth
s3://bucket/jets`` and ``init s3://bucket/x`` wrote into a local folder called ``s3:`` (exit 0:
the user believed the bucket held the files); ``storage.results_dir: s3://...`` would put the
study there too (docs/cluster.md: object stores are not supported); ``data.path: https://...``
and every path argument of report, rerun, export said "does not exist" for a file that may well
exist at that URL. Each is now one error naming the URL and the fix; ``file://`` URLs name the
plain path to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import ConfigError
from jetstudy.study.config_file import load_config
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from tests.faults.conftest import checksums, jetstudy_here, one_line_error, plant


@pytest.mark.parametrize("field", ["data.path", "storage.results_dir"])
@pytest.mark.parametrize("url, scheme", [
    ("s3://bucket/jets", "s3"), ("https://example.org/hls4ml/jets.h5?dl=1", "https"),
    ("gs://bucket/results", "gs"), ("root://eospublic.cern.ch//eos/jets.h5", "root")])
def test_a_url_in_the_config_is_refused_naming_it(field: str, url: str, scheme: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"{field}={url}"])
    text = str(refused.value)
    assert text.startswith(f"{field} is {url!r}, a URL ({scheme}://)"), text
    fix = ("download the files first" if field == "data.path" else
           "object stores are not supported as the results folder")
    assert fix in text, text


@pytest.mark.parametrize("field", ["data.path", "storage.results_dir"])
def test_a_file_url_is_told_the_plain_path(field: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(None, [f"{field}=file:///data/my%20jets"])
    assert "a URL (file://); jetstudy takes plain paths: write '/data/my jets'" in str(
        refused.value)


def test_load_jets_names_a_url_before_reading_its_question_mark_as_a_glob() -> None:
    """'https://x/jets.h5?dl=1' was 'no files match this pattern' (the '?' read as a glob)."""
    with pytest.raises(DataError) as refused:
        load_jets("https://example.org/jets.h5?dl=1")
    text = str(refused.value)
    assert "a URL (https://)" in text and "jetstudy fetch hls4ml" in text, text
    assert "pattern" not in text, text


def test_a_path_that_exists_is_read_whatever_it_looks_like(tmp_path: Path) -> None:
    """A local folder really called 'x:' holding 'y' is a path, not a URL: only a name that
    is not there is read as one."""
    (tmp_path / "s3:" / "b").mkdir(parents=True)
    with pytest.raises(DataError) as refused:
        load_jets(tmp_path / "s3:" / "b")
    assert "folder has no" in str(refused.value) and "URL" not in str(refused.value)


@pytest.mark.parametrize("args, flag", [
    (["synth", "s3://bucket/jets", "--jets", "1000"], "DIR"),
    (["init", "s3://bucket/study"], "DIR"),
    (["run", "https://example.org/jetstudy.yaml"], "CONFIG"),
    (["report", "s3://bucket/study"], "RESULTS"),
    (["report", "results/x", "-o", "gs://bucket/report"], "-o"),
    (["rerun", "s3://bucket/study"], "RESULTS"),
    (["export", "s3://bucket/study"], "RESULTS"),
])
def test_a_url_as_a_path_argument_is_one_error_and_writes_nothing(
        args: list[str], flag: str, tmp_path: Path) -> None:
    """synth and init wrote into ./s3:/bucket/... and said 'wrote ... to s3://bucket/jets'."""
    plant(tmp_path, ["notes.txt"])
    before = checksums(tmp_path)
    line = one_line_error(jetstudy_here(*args, cwd=tmp_path))
    url = next(a for a in args if "://" in a)
    assert line.startswith(f"error: {flag} {url!r} is a URL ("), line
    assert checksums(tmp_path) == before
    assert not (tmp_path / (url.split(":")[0] + ":")).exists()
