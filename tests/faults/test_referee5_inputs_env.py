"""Referee round 5, environment variables jetstudy reads, each with a bad value: an endless
JETSTUDY_CONNECT_TIMEOUT_S (inf, 1e400) waited forever on an unreachable cluster;
JETSTUDY_SKIP_RESOURCE_CHECK=false (or no/off) *skipped* the check, and a typo such as
'maybe' did too; JETSTUDY_DATA naming a file failed in `fetch` with 'Not a directory' on a
path the user never wrote. Each now reads as meant or is one error naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.connect import CONNECT_TIMEOUT_ENV, connect_timeout_s
from jetstudy.study.fetch import CACHE_ENV, cache_dir
from jetstudy.study.resources import SKIP_ENV, check_local_request
from jetstudy.trainables.errors import ConfigError, DataError


@pytest.mark.parametrize("value", ["inf", "1e400", "Infinity", "nan", "-3", "abc"])
def test_a_connect_timeout_that_never_ends_is_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, value)
    with pytest.raises(ConfigError, match=f"{CONNECT_TIMEOUT_ENV} must be .*{value!r}"):
        connect_timeout_s()


def test_a_connect_timeout_with_spaces_is_read(monkeypatch) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, " 12.5 ")
    assert connect_timeout_s() == 12.5


_TOO_BIG = {"resources": {"num_cpus": 2, "cpus_per_trial": 3}}


@pytest.mark.parametrize("value", ["false", "no", "off", "0", "", "False"])
def test_skip_resource_check_false_still_checks(monkeypatch, value: str) -> None:
    monkeypatch.setenv(SKIP_ENV, value)
    with pytest.raises(ConfigError, match="cpus_per_trial"):
        check_local_request(from_dict(_TOO_BIG))


@pytest.mark.parametrize("value", ["1", "true", "yes", "on"])
def test_skip_resource_check_true_skips(monkeypatch, value: str) -> None:
    monkeypatch.setenv(SKIP_ENV, value)
    check_local_request(from_dict(_TOO_BIG))  # no error: the user asked not to check


def test_skip_resource_check_typo_is_refused(monkeypatch) -> None:
    monkeypatch.setenv(SKIP_ENV, "maybe")
    with pytest.raises(ConfigError, match=f"{SKIP_ENV} is 'maybe'.*1.*0"):
        check_local_request(from_dict(_TOO_BIG))


def test_jetstudy_data_naming_a_file_is_named(monkeypatch, tmp_path: Path) -> None:
    file = tmp_path / "jets.h5"
    file.write_bytes(b"user data")
    monkeypatch.setenv(CACHE_ENV, str(file))
    with pytest.raises(DataError, match=f"{CACHE_ENV} is .*jets.h5.*a file, not a folder"):
        cache_dir()
    assert file.read_bytes() == b"user data"
    monkeypatch.setenv(CACHE_ENV, "  ")  # blank: the default cache
    assert cache_dir() == Path.home() / ".cache" / "jetstudy"


def test_a_bad_switch_stops_run_before_any_work(monkeypatch, tmp_path: Path) -> None:
    """Through the user's path, on a local study without resources.num_cpus (the check it
    switches comes later, after Ray started): one error line, nothing written."""
    from tests.faults.conftest import checksums, jetstudy_here, one_line_error, study_yaml

    study_yaml(tmp_path / "s.yaml", "results", "s")
    before = checksums(tmp_path)
    monkeypatch.setenv(SKIP_ENV, "maybe")
    error = one_line_error(jetstudy_here("run", "s.yaml", "--set", "resources.num_cpus=null",
                                         cwd=tmp_path))
    assert SKIP_ENV in error and "'maybe'" in error, error
    assert checksums(tmp_path) == before and not (tmp_path / "results").exists()


@pytest.mark.parametrize("value", ["htp://nowhere", "https://", "gopher://x.org", "https:x.org"])
def test_a_mirror_that_is_no_url_jetstudy_reads_is_named(monkeypatch, value: str) -> None:
    from jetstudy.study.fetch import MIRROR_ENV, _mirrored

    monkeypatch.setenv(MIRROR_ENV, value)
    with pytest.raises(DataError, match=f"{MIRROR_ENV} is {value!r}, not a mirror"):
        _mirrored("https://openml.example/datasets/x.pq")


@pytest.mark.parametrize("value, expected", [
    ("https://m.example.org/", "https://m.example.org/datasets/x.pq"),
    ("FILE:///srv/m", "FILE:///srv/m/datasets/x.pq"),
    ("/srv/m", "file:///srv/m/datasets/x.pq")])
def test_a_mirror_url_or_folder_is_used(monkeypatch, value: str, expected: str) -> None:
    from jetstudy.study.fetch import MIRROR_ENV, _mirrored

    monkeypatch.setenv(MIRROR_ENV, value)
    assert _mirrored("https://openml.example/datasets/x.pq") == expected


def test_a_trial_imports_folder_that_is_missing_fails_no_trial(monkeypatch, tmp_path: Path,
                                                               caplog) -> None:
    from jetstudy.trainables.packed_trial import IMPORTS_ENV, _report_imports

    monkeypatch.setenv(IMPORTS_ENV, str(tmp_path / "missing"))
    _report_imports()  # no exception: the trial goes on
    assert IMPORTS_ENV in caplog.text and "missing" in caplog.text, caplog.text
    assert not (tmp_path / "missing").exists()
