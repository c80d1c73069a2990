"""Shared-storage manners (issue 11, item 4): ``--address auto`` joins only a cluster that
``ray start`` made, never a stray Ray; a relative ``results_dir`` in a Ray job is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jetstudy.study.connect import _resolve_auto, connect
from jetstudy.study.launch import run_study
from jetstudy.study.paths import check_results_dir_in_job, in_ray_job
from jetstudy.trainables.errors import ConfigError

STRAY = """
import sys, ray
ray.init(address="local", num_cpus=1, include_dashboard=False)
print("up", flush=True)
sys.stdin.read()  # until the test closes our stdin
ray.shutdown()
"""


@pytest.fixture
def no_ray_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ``ray start`` record (Ray's temp dir is an empty folder) and no RAY_ADDRESS."""
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return tmp_path


@pytest.mark.slow
def test_auto_never_joins_a_stray_ray(no_ray_start: Path) -> None:
    import ray

    stray = subprocess.Popen([sys.executable, "-c", STRAY], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True,
                             env={k: v for k, v in __import__("os").environ.items()
                                  if k != "RAY_TMPDIR"})
    try:
        assert stray.stdout.readline().strip() == "up"
        with pytest.raises(ConfigError, match=r"ray start --head") as err:
            connect("auto", log_to_driver=False)
        assert "resources.address 'auto'" in str(err.value)
        assert "ray_current_cluster" in str(err.value)
        assert not ray.is_initialized()
    finally:
        stray.stdin.close()
        stray.wait(timeout=60)


def test_auto_takes_the_address_ray_start_recorded(no_ray_start: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (no_ray_start / "ray").mkdir()
    (no_ray_start / "ray" / "ray_current_cluster").write_text("10.1.2.3:6379\n")
    assert _resolve_auto() == "10.1.2.3:6379"
    monkeypatch.setenv("RAY_ADDRESS", "10.9.9.9:6380")  # a Ray job's driver gets this
    assert _resolve_auto() == "10.9.9.9:6380"


def test_in_ray_job() -> None:
    assert in_ray_job({"RAY_JOB_CONFIG_JSON_ENV_VAR": "{}"}, "/home/me")
    assert in_ray_job({}, "/tmp/ray/session_1/runtime_resources/working_dir_files/_ray_pkg_1")
    assert not in_ray_job({}, "/home/me/project")


def test_relative_results_dir_refused_in_a_ray_job(small_config, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    job = {"RAY_JOB_CONFIG_JSON_ENV_VAR": "{}"}
    with pytest.raises(ConfigError, match=r"storage.results_dir 'results' is relative.*"
                                          r"absolute path"):
        check_results_dir_in_job("results", job, "/tmp/ray/x/runtime_resources/w")
    check_results_dir_in_job(str(tmp_path), job, "/tmp/ray/x")  # absolute: fine
    check_results_dir_in_job("results", {}, "/home/me")  # not a job: fine
    # and run_study refuses before it makes any folder
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")
    cfg = small_config(Path("rel-results"), "s")
    with pytest.raises(ConfigError, match="rel-results"):
        run_study(cfg)
    assert not (tmp_path / "rel-results").exists()
