"""The benchmarks run end to end and their JSON holds together (CPU smoke test; a GPU run).

The throughput benchmark runs as its command (``python -m bench.throughput``) in a subprocess,
as a user or CI runs it, at the smallest size that still gives ASHA a rung.
"""

from __future__ import annotations

import json
import math
import sys
import time
import types
from pathlib import Path

import pytest

from bench.driver_memory import growth_per_1000, to_json

from tests.bench.conftest import run_bench

RUNS = ("plain", "jetstudy")


def _throughput(tmp_path: Path, *args: str, timeout: float = 300) -> dict:
    return run_bench("bench.throughput", tmp_path, *args, timeout=timeout)


@pytest.fixture(scope="module")
def cpu_smoke(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One CPU run of the three recipes (plain, jetstudy packed 2 to a pack, jetstudy unpacked
    for comparison) on the same jets: one process and one data set for both smoke tests."""
    r = _throughput(tmp_path_factory.mktemp("bench"), "--jets", "4000", "--trials", "3",
                    "--epochs", "2", "--concurrent", "2", "--pack-size", "2",
                    "--compare-unpacked", "--pack-groups", "2")
    if r["cuda"]:
        pytest.skip("CUDA visible: the GPU test covers this machine")
    return r


@pytest.mark.slow
def test_throughput_smoke_on_cpu(cpu_smoke: dict) -> None:
    r = cpu_smoke
    assert (r["jets"], r["train_jets"], r["trials"], r["max_epochs"]) == (4000, 2400, 3, 2)
    assert r["date"] and r["device"]
    for name in (*RUNS, "jetstudy_unpacked"):
        run = r[name]
        assert run["trials_run"] == 3 and run["trials_failed"] == 0
        # every trial trains to ASHA's first rung (grace period 2 = max_epochs here)
        assert run["trial_epochs"] == 3 * 2
        assert run["wall_s"] > 0 and run["trial_epochs_per_s"] > 0
        assert run["trial_epochs_per_s"] == pytest.approx(run["trial_epochs"] / run["wall_s"],
                                                          rel=1e-3)
        phases = [run["setup_s"], run["trials_s"], run["finish_s"]]
        assert all(p is not None and p >= 0 for p in phases)
        assert sum(phases) == pytest.approx(run["wall_s"], abs=0.05)
        for key in ("gpu_util_mean", "gpu_util_max", "gpu_mem_peak_mib",
                    "gpu_mem_per_process_peak_mib"):
            assert run[key] is None, f"{name}.{key} must be null on CPU"
        assert run["gpus_per_trial"] == 0
    rate = r["jetstudy"]["trial_epochs_per_s"] / r["plain"]["trial_epochs_per_s"]
    assert r["ratio"] == pytest.approx(rate, rel=1e-3)


@pytest.mark.slow
def test_throughput_packed_smoke_on_cpu(cpu_smoke: dict) -> None:
    packed, unpacked = cpu_smoke["jetstudy"], cpu_smoke["jetstudy_unpacked"]
    assert packed["pack_size"] == 2 and packed["max_concurrent"] == 2
    assert unpacked["max_concurrent"] == 2
    assert packed["pack_groups"] == 2 and packed["matmul_precision"] == "auto"
    assert packed["matmul_precision_used"] == "highest"  # auto is exact fp32 on the CPU
    assert packed["peak_tflops"] is None and packed["peak_kind"] == "unknown"
    assert packed["useful_tflop"] > 0 and packed["padding_factor"] >= 1
    assert unpacked["pack_size"] == 0 and unpacked["packs"] is None
    (pack,) = packed["packs"]
    assert pack["trial_epochs"] == packed["trial_epochs"] and pack["device"] == "cpu"
    assert pack["mean_round"] == pytest.approx(pack["trial_epochs"] / pack["rounds"], rel=0.01)
    assert 0 < pack["train_s"] < packed["trials_s"]


def test_skip_plain_runs_only_jetstudy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--skip-plain: no plain run and no ratio (the recipes themselves run in the smoke test
    above; here they are stand-ins that record their calls)."""
    from bench import throughput

    calls: list[str] = []

    def plain(*args: object, **kwargs: object) -> dict:
        calls.append("plain")
        return {"trial_epochs_per_s": 1.0}

    def jetstudy(*args: object, **kwargs: object) -> dict:
        calls.append(f"jetstudy pack {kwargs.get('pack_size', 0)}")
        return {"trial_epochs_per_s": 2.0}

    monkeypatch.setattr(throughput, "run_plain", plain)
    monkeypatch.setattr(throughput, "run_jetstudy", jetstudy)
    assert throughput._parse(["--skip-plain"], False).skip_plain
    assert not throughput._parse([], False).skip_plain
    kwargs = dict(jets=200, trials=1, epochs=1, concurrent=1, cuda=False, pack_size=2,
                  work_dir=str(tmp_path))
    r = throughput.run_benchmark(skip_plain=True, compare_unpacked=True, **kwargs)
    assert r["plain"] is None and r["ratio"] is None
    assert calls == ["jetstudy pack 0", "jetstudy pack 2"]
    calls.clear()
    assert throughput.run_benchmark(**kwargs)["ratio"] == 2.0
    assert calls == ["plain", "jetstudy pack 2"]


@pytest.mark.slow
@pytest.mark.gpu
def test_throughput_reports_gpu_figures(tmp_path: Path) -> None:
    # --pack-size 0: jetstudy's trials train themselves, sharing the GPU at 1/2 each (on CUDA
    # the bench runs jetstudy packed by default; test_packed_throughput_on_gpu covers that)
    r = _throughput(tmp_path, "--jets", "20000", "--trials", "4", "--epochs", "2",
                    "--concurrent", "2", "--pack-size", "0", timeout=600)
    assert r["cuda"] is True
    for name in RUNS:
        run = r[name]
        assert run["trial_epochs"] > 0 and run["trial_epochs_per_s"] > 0
        assert isinstance(run["gpu_util_mean"], (int, float)) and math.isfinite(
            run["gpu_util_mean"])
        assert run["gpu_mem_peak_mib"] > 0
    assert r["plain"]["gpus_per_trial"] == 1
    assert r["jetstudy"]["gpus_per_trial"] == pytest.approx(0.5)
    assert r["jetstudy"]["matmul_precision_used"] == "high"  # auto: TF32 on CUDA
    assert r["jetstudy"]["useful_tflops_per_s"] > 0


@pytest.mark.slow
@pytest.mark.gpu
def test_packed_throughput_on_gpu(tmp_path: Path) -> None:
    r = _throughput(tmp_path, "--jets", "20000", "--trials", "8", "--epochs", "2",
                    "--skip-plain", "--pack-size", "8", timeout=600)
    run = r["jetstudy"]
    assert r["cuda"] is True and run["trials_failed"] == 0 and run["trial_epochs"] >= 8 * 2
    (pack,) = run["packs"]
    assert pack["device"] == "cuda" and pack["gpu_mem_peak_mib"] > 0
    assert pack["trial_epochs"] == run["trial_epochs"] and pack["largest_round"] >= 2
    assert pack["matmul_precision"] == "high" and run["padding_factor"] >= 1
    assert sum(int(k) * v for k, v in pack["round_sizes"].items()) == pack["trial_epochs"]


def test_card_peaks_by_name_and_precision() -> None:
    from bench.throughput import card_peak_tflops

    assert card_peak_tflops("NVIDIA H200", "high") == 494.7
    assert card_peak_tflops("NVIDIA H100 80GB HBM3", "highest") == 67.0
    assert card_peak_tflops("NVIDIA H100 PCIe", "highest") == 51.2  # not the SXM figure
    assert card_peak_tflops("Some Future GPU", "high") is None and card_peak_tflops(None, "high") is None


def test_useful_flops_count_training_and_evaluation() -> None:
    import pandas as pd

    from bench.throughput import flop_figures, useful_flops

    table = pd.DataFrame({"flops": [100, 200], "epochs": [3, 1]})
    # 1000 jets: 600 train, 200 val; train loss on 50 of the training jets
    total = useful_flops(table, 1000, 50)
    assert total == (100 * 3 + 200 * 1) * (3 * 600 + 50 + 200)
    assert useful_flops(table, 1000, None) == 500 * (3 * 600 + 600 + 200)
    figures = flop_figures(total, [{"padded_flops": 4 * total}], wall=2.0, trials_s=1.0,
                           use_gpu=False, matmul_precision="highest")
    assert figures["padding_factor"] == 4.0
    assert figures["useful_tflops_per_s_trials"] == pytest.approx(total / 1e12, rel=1e-3)
    assert figures["share_of_peak_trials"] is None  # no GPU: no peak


def test_growth_per_1000_ignores_start_up() -> None:
    flat = [(0, 0.0, 300.0), *[(n, n / 10, 400.0) for n in range(100, 1100, 100)]]
    assert growth_per_1000(flat) == 0.0
    rising = [(n, n / 10, 400.0 + 0.05 * n) for n in range(0, 2100, 100)]
    assert growth_per_1000(rising) == pytest.approx(50.0)
    assert growth_per_1000([]) is None and growth_per_1000([(5, 0.0, 1.0)]) is None


def test_samples_print_one_per_line() -> None:
    text = to_json({"samples": [[0, 0.0, 1.5], [40, 2.5, 1.75]], "rss_mib": {"before": 1.0}})
    assert "[0, 0.0, 1.5]" in text and "[40, 2.5, 1.75]" in text
    assert json.loads(text)["samples"][1] == [40, 2.5, 1.75]


FAKE_SMI = """#!/bin/sh
case "$1" in
  --query-gpu=*) echo "80, 1000"; echo "60, 3000" ;;
  --query-compute-apps=*) echo "123, 700"; echo "456, 1500" ;;
esac
"""


def test_gpu_monitor_reads_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smi = tmp_path / "nvidia-smi"
    smi.write_text(FAKE_SMI)
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # force the nvidia-smi path
    from bench.throughput import GpuMonitor

    with GpuMonitor(interval_s=0.01) as gpu:
        assert gpu.enabled
        assert gpu.sample() == (70.0, 4000.0, 1500.0)  # mean util, summed MiB, largest process
        while len(gpu.samples) < 3:
            time.sleep(0.01)
    s = gpu.summary()
    assert (s["gpu_util_mean"], s["gpu_util_max"], s["gpu_mem_peak_mib"]) == (70.0, 70.0, 4000.0)
    assert s["gpu_mem_per_process_peak_mib"] == 1500.0 and s["gpu_mem_before_mib"] == 4000.0
    assert gpu.summary(start=time.time() + 60)["gpu_util_mean"] is None  # empty window


def test_gpu_monitor_reads_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.SimpleNamespace(
        nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=90),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=2 * 2**30),
        nvmlDeviceGetComputeRunningProcesses=lambda h: [
            types.SimpleNamespace(usedGpuMemory=512 * 2**20),
            types.SimpleNamespace(usedGpuMemory=None)])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    from bench.throughput import GpuMonitor

    assert GpuMonitor().sample() == (90.0, 2048.0, 512.0)


def test_gpu_monitor_without_a_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    monkeypatch.setitem(sys.modules, "pynvml", None)
    from bench.throughput import GpuMonitor

    with GpuMonitor() as gpu:
        assert not gpu.enabled
    assert set(gpu.summary().values()) == {None, 0}  # every figure null, no samples


def test_reference_study_on_cuda(tmp_path: Path) -> None:
    """On CUDA the defaults are the issue's reference study, trials sharing the GPU."""
    from bench.throughput import _parse, jetstudy_config
    from jetstudy.study.config import SpaceConfig

    args = _parse([], cuda=True)
    assert (args.jets, args.trials, args.epochs, args.concurrent) == (1_000_000, 64, 30, 8)
    assert args.jets * 0.6 >= 600_000
    cfg = jetstudy_config(tmp_path / "data", tmp_path, trials=args.trials, epochs=args.epochs,
                          concurrent=args.concurrent, use_gpu=True)
    assert cfg.resources.gpus_per_trial == pytest.approx(1 / 8)
    assert cfg.training.device == "auto" and cfg.training.batch_size == 1024
    assert cfg.space == SpaceConfig() and cfg.scheduler.type == "asha"
    cpu = _parse([], cuda=False)
    assert (cpu.jets, cpu.trials, cpu.epochs) == (20_000, 6, 3) and cpu.plain_budget_s is None
