"""Fail fast, never hang: resource requests no node can hold, unreachable or malformed cluster
addresses and a missing Ray extra each end in one ``error:`` line (exit 2) naming the field,
the value, what the cluster has and the fix, within seconds rather than never.

Run as ``jetstudy`` subprocesses with real Ray; the pure fit rules are also checked against
made-up clusters (an autoscaling one among them), which needs no Ray.
"""

from __future__ import annotations

import importlib.util
import re
import socket
import time
from pathlib import Path

import pytest

from jetstudy.study.config import from_dict
from jetstudy.study.connect import CONNECT_TIMEOUT_ENV, RayAddress, check_address, parse_address
from jetstudy.study.resources import NodeShape, _from_bootstrap, check_local_request, check_request
from jetstudy.trainables.errors import ConfigError

from tests.faults.conftest import REPO, jetstudy, jetstudy_here, one_line_error, study_yaml


def _timed(*args: str, **kwargs) -> tuple[object, float]:
    start = time.monotonic()
    proc = jetstudy(*args, **kwargs)
    return proc, time.monotonic() - start


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _no_study_left(results: Path, name: str) -> None:  # the same command, fixed, runs again
    assert not (results / name / "config.yaml").exists(), "a refused study left its config"


def test_cpus_per_trial_above_the_cluster_fails_fast(workdir: Path) -> None:
    """resources.num_cpus is known before Ray starts: refused before any work (an input
    error: checked in this process, as a subprocess would only add its imports)."""
    config = study_yaml(workdir / "s.yaml", workdir / "results", "big",
                        resources={"num_cpus": 2, "cpus_per_trial": 4})
    start = time.monotonic()
    proc = jetstudy_here("run", config, "--no-report", cwd=workdir)
    took = time.monotonic() - start
    line = one_line_error(proc)
    assert "resources.cpus_per_trial is 4" in line and "2 CPUs" in line, line
    assert "set resources.cpus_per_trial to 2 or less" in line, line
    assert "or resources.num_cpus to 4 or more" in line, line
    assert took < 100, f"took {took:.0f} s"
    assert not (workdir / "results" / "big").exists(), "the refused study left its folder"


def test_local_cpus_checked_once_ray_runs() -> None:
    """Without resources.num_cpus the CPUs are Ray's count: checked after it starts (the GPU
    case below runs that path with real Ray); with it, before."""
    cfg = from_dict({"resources": {"num_cpus": 2, "cpus_per_trial": 3}})
    with pytest.raises(ConfigError, match=r"resources.cpus_per_trial is 3, but the largest "
                                          r"node .* has 2 CPUs"):
        check_local_request(cfg)
    check_local_request(from_dict({"resources": {"cpus_per_trial": 3}}))  # num_cpus: null
    check_local_request(from_dict({"resources": {"num_cpus": 2, "gpus_per_trial": 1}}))


@pytest.mark.slow
def test_gpu_per_trial_without_a_gpu_fails_fast(workdir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    config = study_yaml(workdir / "s.yaml", workdir / "results", "gpu",
                        resources={"num_cpus": 2, "gpus_per_trial": 1})
    proc, took = _timed("run", config, "--no-report", cwd=workdir, timeout=120)
    line = one_line_error(proc)
    assert "resources.gpus_per_trial is 1" in line and "no GPU" in line, line
    assert "set resources.gpus_per_trial to 0" in line, line
    assert took < 100, f"took {took:.0f} s"


def test_unreachable_address_fails_within_the_timeout(workdir: Path) -> None:
    config = study_yaml(workdir / "s.yaml", workdir / "results", "far")
    address = f"127.0.0.1:{_closed_port()}"
    proc, took = _timed("run", config, "--address", address, cwd=workdir,
                        env={"JETSTUDY_CONNECT_TIMEOUT_S": "5"}, timeout=60)
    line = one_line_error(proc)
    assert f"resources.address '{address}'" in line and "nothing answers" in line, line
    assert "leave resources.address unset" in line, line
    assert took < 60, f"took {took:.0f} s"
    _no_study_left(workdir / "results", "far")


def test_silent_address_fails_at_the_deadline(workdir: Path) -> None:
    """A port that accepts connections but never speaks Ray: the deadline ends the wait."""
    config = study_yaml(workdir / "s.yaml", workdir / "results", "mute")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        proc, took = _timed("run", config, "--address", address, cwd=workdir,
                            env={"JETSTUDY_CONNECT_TIMEOUT_S": "3"}, timeout=60)
    line = one_line_error(proc)
    assert "did not answer within 3 s" in line and "JETSTUDY_CONNECT_TIMEOUT_S" in line, line
    assert took < 60, f"took {took:.0f} s"


def test_malformed_address_is_refused_before_any_work(workdir: Path) -> None:
    """An input error: checked in this process (a subprocess would only add its imports)."""
    config = study_yaml(workdir / "s.yaml", workdir / "results", "bad")
    line = one_line_error(jetstudy_here("run", config, "--address", "head node", cwd=workdir))
    assert "resources.address 'head node' is not a Ray address" in line, line
    assert "'auto'" in line and "ray://HOST:PORT" in line, line
    assert not (workdir / "results" / "bad").exists(), "the refused study left its folder"


@pytest.mark.parametrize("address, words", [
    ("headnode", "is not a Ray address"),
    ("10.0.0.1:99999", "is not a Ray address"),
    ("ray://", "is not a Ray address"),
    ("http://127.0.0.1:8265", "ray job submit"),
])
def test_address_forms(address: str, words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)) as info:
        check_address(address)
    assert f"resources.address {address!r}" in str(info.value)


def test_address_forms_accepted() -> None:
    assert parse_address("auto").kind == "auto"
    assert parse_address("10.0.0.5:6379") == RayAddress("10.0.0.5:6379", "gcs", "10.0.0.5", 6379)
    assert parse_address("ray://head.example:10001").kind == "client"
    assert parse_address("[::1]:6379").host == "::1"


def test_ray_client_without_its_extra_names_the_pip_command() -> None:
    if importlib.util.find_spec("grpc") is not None:
        pytest.skip("ray[client] is installed here")
    with pytest.raises(ConfigError, match=r'pip install "ray\[client\]==') as info:
        check_address("ray://127.0.0.1:10001")
    assert "resources.address 'ray://127.0.0.1:10001' needs Ray Client" in str(info.value)


def test_connect_timeout_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONNECT_TIMEOUT_ENV, "soon")
    with pytest.raises(ConfigError, match="JETSTUDY_CONNECT_TIMEOUT_S must be a number of "
                                          "seconds > 0, got 'soon'"):
        check_address("10.0.0.5:6379")


# --- the fit rules on made-up clusters (no Ray) ---

def _cfg(**resources) -> object:
    return from_dict({"search": {"max_concurrent": resources.pop("max_concurrent", 4)},
                      "resources": resources})


def _refusal(cfg, shapes, local=False) -> str:
    with pytest.raises(ConfigError) as info:
        check_request(cfg, shapes, local)
    return str(info.value)


CPU_HEAD = NodeShape(8, 0)
GPU_NODE = NodeShape(8, 1)


def test_a_trial_must_fit_one_node_not_the_sum() -> None:
    two_small = [NodeShape(2, 0), NodeShape(2, 0)]
    msg = _refusal(_cfg(cpus_per_trial=3), two_small)
    assert "resources.cpus_per_trial is 3" in msg and "largest node" in msg
    assert "2 nodes: 2 CPUs, no GPU; 2 CPUs, no GPU" in msg
    check_request(_cfg(cpus_per_trial=2), two_small, False)


def test_cpus_and_gpus_must_fit_the_same_node() -> None:
    msg = _refusal(_cfg(cpus_per_trial=4, gpus_per_trial=1), [CPU_HEAD, NodeShape(2, 1)])
    assert "no node of the Ray cluster has both the 4 CPUs" in msg and "1 GPU" in msg
    check_request(_cfg(cpus_per_trial=2, gpus_per_trial=1), [CPU_HEAD, NodeShape(2, 1)], False)


def test_more_gpus_than_a_node_has() -> None:
    msg = _refusal(_cfg(gpus_per_trial=2), [CPU_HEAD, GPU_NODE])
    assert "resources.gpus_per_trial is 2" in msg and "largest node" in msg
    assert "set resources.gpus_per_trial to 1 or less" in msg


def test_split_gpus_are_below_one_or_whole() -> None:
    with pytest.raises(ConfigError) as info:  # the config itself refuses it (referee round 7)
        _cfg(gpus_per_trial=1.5)
    msg = str(info.value)
    assert "resources.gpus_per_trial is 1.5" in msg and "set 1 or 2" in msg


def test_packs_must_all_fit() -> None:
    cfg = _cfg(pack_size=4, gpus_per_trial=1, max_concurrent=16)
    msg = _refusal(cfg, [CPU_HEAD, GPU_NODE, GPU_NODE])
    assert "starts 4 packs" in msg and "holds only 2" in msg, msg
    assert "search.max_concurrent to 8 or less" in msg and "resources.pack_size to 8" in msg
    check_request(_cfg(pack_size=8, gpus_per_trial=1, max_concurrent=16),
                  [CPU_HEAD, GPU_NODE, GPU_NODE], False)


def test_packs_leave_room_for_their_trials() -> None:
    msg = _refusal(_cfg(pack_size=4, cpus_per_trial=1, max_concurrent=4), [NodeShape(1, 0)],
                   local=True)
    assert "leaves none for the trials" in msg and "resources.num_cpus" in msg, msg


def test_an_autoscaling_cluster_may_add_gpu_nodes() -> None:
    """The repository's cluster.yaml: a CPU head now, GPU workers on demand."""
    scalable = _from_bootstrap((REPO / "cluster.yaml").read_text())
    assert scalable and {s.name for s in scalable} == {"gpu_1x_a10g", "gpu_4x_a10g"}
    full = from_dict({"resources": {"cpus_per_trial": 2, "gpus_per_trial": 0.25},
                      "search": {"max_concurrent": 64}})
    check_request(full, [CPU_HEAD, *scalable], False)  # no GPU yet: still accepted
    msg = _refusal(_cfg(gpus_per_trial=8), [CPU_HEAD, *scalable])
    assert "may add 8 x gpu_1x_a10g" in msg and "JETSTUDY_SKIP_RESOURCE_CHECK" in msg
