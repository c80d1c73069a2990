"""Referee round 7, environment: JETSTUDY_CONNECT_TIMEOUT_S of 1e-9 s (every connect fails as
'unreachable') or 1e20 s (as good as a hang: round 5 refused only inf) was taken; '10s' got no
word about the unit."""

from __future__ import annotations

import pytest

from jetstudy.study.connect import CONNECT_TIMEOUT_ENV, connect_timeout_s
from jetstudy.trainables.errors import ConfigError


@pytest.mark.parametrize("value, words", [("1e-9", "too short"), ("0.5", "too short"),
                                          ("1e9", "more than a day"),
                                          ("99999999999999999999", "more than a day")])
def test_a_connect_timeout_outside_reason_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                     value: str, words: str) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, value)
    with pytest.raises(ConfigError) as caught:
        connect_timeout_s()
    error = str(caught.value)
    assert error.startswith(f"{CONNECT_TIMEOUT_ENV} is {value!r}") and words in error, error
    assert "set 1 to 86400" in error, error


@pytest.mark.parametrize("value, seconds", [("1", 1.0), ("86400", 86400.0), (" 45 ", 45.0)])
def test_a_connect_timeout_within_bounds_is_read(monkeypatch: pytest.MonkeyPatch, value: str,
                                                 seconds: float) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, value)
    assert connect_timeout_s() == seconds


@pytest.mark.parametrize("value, words", [("10s", "10 for '10s'"), ("2min", "120 for '2min'")])
def test_a_connect_timeout_with_a_unit_names_the_seconds(monkeypatch: pytest.MonkeyPatch,
                                                         value: str, words: str) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, value)
    with pytest.raises(ConfigError, match=words):
        connect_timeout_s()


@pytest.mark.parametrize("name", ["JETSTUDY_DATA", "JETSTUDY_MIRROR"])
@pytest.mark.parametrize("value, words", [
    ("~nosuchuser7/cache", "no such user exists"),  # was a raw RuntimeError traceback
    ("$HOME/cache", "does not expand environment variables"),  # was a folder called '$HOME'
    ("cache\nmore", "control character"),
])
def test_a_data_folder_variable_that_cannot_be_meant_is_named(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str) -> None:
    from jetstudy.study.fetch import DATASETS, _mirrored, cache_dir
    from jetstudy.trainables.errors import DataError

    monkeypatch.setenv(name, value)
    with pytest.raises(DataError) as caught:
        cache_dir() if name == "JETSTUDY_DATA" else _mirrored(DATASETS["hls4ml"]["table"][0].url)
    error = str(caught.value)
    assert error.startswith(f"{name} is {value!r}") and words in error, error
    assert f"unset {name}" in error, error


def test_fetch_with_an_unknown_users_cache_is_one_error(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path) -> None:
    from tests.faults.conftest import checksums, jetstudy_here, one_line_error

    monkeypatch.setenv("JETSTUDY_DATA", "~nosuchuser7/cache")
    err = one_line_error(jetstudy_here("fetch", "hls4ml", cwd=tmp_path))
    assert "JETSTUDY_DATA" in err and "nosuchuser7" in err, err
    assert checksums(tmp_path) == {}


@pytest.mark.parametrize("value", ["~/jetstudy-cache", "/srv/cache"])
def test_a_plain_data_folder_variable_is_read(monkeypatch: pytest.MonkeyPatch,
                                              value: str) -> None:
    import os
    from pathlib import Path

    from jetstudy.study.fetch import cache_dir

    monkeypatch.setenv("JETSTUDY_DATA", value)
    assert cache_dir() == Path(os.path.expanduser(value))


@pytest.mark.parametrize("address, words", [
    ("AUTO", "did you mean 'auto'?"),
    ("localhost", "localhost:6379 is Ray's default GCS port"),
    ("ray://head", "ray://head:10001 is Ray's default Ray Client port"),
    ("10.0.0.1:99999", "port 99999 is outside 1..65535"),
    ("ray://head:10001/", "write ray://head:10001"),
    ("ray://me@head:10001", "write ray://head:10001"),
    ("h1:6379,h2:6379", "one address: the head's"),
    ("local", "write null"),
])
def test_a_near_miss_ray_address_says_what_was_meant(address: str, words: str) -> None:
    """--address / resources.address: each was only 'is not a Ray address'."""
    from jetstudy.study.connect import parse_address

    with pytest.raises(ConfigError) as caught:
        parse_address(address)
    error = str(caught.value)
    assert f"{address!r} is not a Ray address" in error and words in error, error


@pytest.mark.parametrize("address, port", [("auto", 0), ("10.0.0.5:6379", 6379),
                                           ("ray://127.0.0.1:10001", 10001)])
def test_the_ray_address_forms_are_read(address: str, port: int) -> None:
    from jetstudy.study.connect import parse_address

    assert parse_address(address).port == port
