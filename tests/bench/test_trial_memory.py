"""The trial-memory and many-packs benchmarks run end to end at a tiny size and their JSON holds
together; their pure parts are checked on hand-made numbers.

Both run as their commands (``python -m bench...``) in a subprocess, as a user runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.driver_clock import result_rates
from bench.many_packs import TARGETS, ResultClock, extrapolate, line_fit, plan

from tests.bench.conftest import run_bench


def _bench(module: str, tmp_path: Path, *args: str, timeout: float = 400) -> dict:
    return run_bench(module, tmp_path, *args, timeout=timeout)


@pytest.mark.slow
def test_trial_memory_measures_a_light_trial(tmp_path: Path) -> None:
    r = _bench("bench.trial_memory", tmp_path, "--trials", "2", "--concurrent", "2",
               "--pack-size", "2", "--epochs", "8", "--jets", "3000")
    for role in ("trial", "pack", "bare_actor", "bare_tune"):
        assert r[role]["processes"] >= 1, role
        assert 0 < r[role]["uss_mib"] <= r[role]["rss_mib"], role
    assert "torch" in r["pack"]["libs"]  # the pack trains: the measurement sees torch ...
    assert "torch" not in r["trial"]["libs"]  # ... and none in a trial
    assert r["trial_modules_reports"] >= 2 and "torch" not in r["trial_modules"]
    # a trial holds what any Tune trial holds (it held +126 MiB when it imported torch)
    assert r["trial"]["uss_mib"] < r["bare_tune"]["uss_mib"] + 30
    assert r["trial_minus_floor_mib"]["bare_tune"] == pytest.approx(
        r["trial"]["uss_mib"] - r["bare_tune"]["uss_mib"], abs=0.11)


@pytest.mark.slow
def test_many_packs_smoke_on_a_simulated_cluster(tmp_path: Path) -> None:
    r = _bench("bench.many_packs", tmp_path, "--concurrent", "4", "--nodes", "1",
               "--gpus-per-node", "2", "--epochs", "20")
    assert r["measured"] == "runs" and r["skipped"] == []
    (run,) = r["runs"]
    assert (run["concurrent"], run["packs"], run["pack_size"]) == (4, 2, 2)
    assert run["trials_failed"] == 0 and run["results"] == 4 * 20
    assert 1 <= run["running_max"] <= 4 and 1 <= run["trial_processes_max"] <= 4
    assert run["trial_uss_mib"] > 0 and run["trials_uss_total_peak_mib"] >= run["trial_uss_mib"]
    assert run["driver_rss_peak_mib"] >= run["driver_rss_start_mib"] > 0
    assert run["driver_cpu_s"] > 0 and run["results_per_s"] > 0
    assert run["packs_pss_total_peak_mib"] > 0 and run["all_pss_peak_gib"] > 0
    assert {"trial", "pack", "raylet"} <= set(run["pss_total_peak_mib"])
    assert run["processes_max"]["pack"] == 2 and run["processes_max"]["raylet"] == 2  # head + 1
    # Tune's snapshots, timed in the driver (the period jetstudy picks for 4 trials: 1 s)
    assert run["tune_snapshot_period_s"] == "1"
    assert run["tune_snapshots"] >= 1 and run["tune_snapshot_cpu_s"] > 0
    assert run["tune_snapshot_calls_cpu_s"] >= run["tune_snapshot_cpu_s"]
    assert run["tune_snapshots_full"]["count"] <= run["tune_snapshots"]
    # open descriptors: the driver's (files among them), and the most one raylet held
    assert run["driver_fds_peak"] > run["driver_files_peak"] >= 0
    assert run["fds_max"]["raylet"] > 0
    ex = r["extrapolated"]
    for n in TARGETS:
        assert ex[str(n)]["trials_uss_gib"] == round(n * ex["trial_uss_mib"] / 1024, 1)


def test_plan_puts_one_pack_on_each_fake_gpu() -> None:
    assert plan(32, nodes=2, gpus_per_node=4) == {"pack_size": 4, "packs": 8, "node_cpus": 6}
    assert plan(30, nodes=2, gpus_per_node=4)["packs"] == 8  # 4 per pack, the last one short
    assert plan(3, nodes=2, gpus_per_node=4) == {"pack_size": 1, "packs": 3, "node_cpus": 6}


def test_line_fit_and_extrapolation() -> None:
    assert line_fit([16, 32], [400.0, 432.0]) == pytest.approx((368.0, 2.0))
    assert line_fit([16], [400.0]) == (400.0, 0.0)
    runs = [{"concurrent": 16, "trial_uss_mib": 100.0, "trial_pss_mib": 110.0,
             "driver_rss_peak_mib": 400.0, "driver_cpu_ms_per_result": 4.0},
            {"concurrent": 32, "trial_uss_mib": 102.0, "trial_pss_mib": 112.0,
             "driver_rss_peak_mib": 432.0, "driver_cpu_ms_per_result": 5.0}]
    ex = extrapolate(runs)
    assert ex["512"]["trials_uss_gib"] == round(512 * 101.0 / 1024, 1)
    assert ex["512"]["driver_rss_mib"] == 368 + 2 * 512
    assert ex["128"]["driver_cpu_ms_per_result"] == pytest.approx(3.0 + 128 / 16)
    assert ex["128"]["results_per_s_one_driver_core"] == round(1000 / 11.0)
    assert extrapolate([]) == {}


def test_rates_count_results_while_the_trials_ran_at_once() -> None:
    clock = ResultClock()
    clock.times = [0.0, 1.0, 2.0, 3.0, 4.0]
    clock.running = [1, 4, 4, 4, 2]
    clock.cpu = [0.0, 0.1, 0.2, 0.3, 0.4]
    r = result_rates(clock, concurrent=4)
    assert r["results"] == 5 and r["running_max"] == 4 and r["ramp_s"] == 1.0
    assert r["results_per_s"] == 1.0 and r["results_full_s"] == 2.0
    assert r["results_per_s_full"] == 1.0
    assert r["driver_cpu_ms_per_result_full"] == pytest.approx(100.0)
    assert r["driver_cpu_share_full"] == pytest.approx(0.1)
