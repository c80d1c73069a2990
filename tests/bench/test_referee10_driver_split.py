"""Referee 10 (driver): ``bench.many_packs`` splits the driver's CPU into a part per second and
a part per result, and extrapolates from the split.

Its CPU per result mixed the two: the driver's share of a core stayed ~0.42 at 16, 32 and 40
trials while results/s fell (90, 77, 56: the packs share 2 cores), so the "ms per result" rose
with the falling rate, and a straight line through it to 512 read as the driver's limit. Runs of
one size at different result rates (``--jets``) now solve ``CPU = a x seconds + b x results``.
Pure functions on hand-made runs.
"""

from __future__ import annotations

import pytest

from bench.many_packs import extrapolate, split_cpu


def _run(n: int, jets: int, span: float, rate: float, per_s: float, ms: float) -> dict:
    return {"concurrent": n, "jets": jets, "results_full_s": span, "results_per_s_full": rate,
            "driver_cpu_used_s_full": per_s * span + ms / 1000 * rate * span,
            "driver_cpu_ms_per_result_full": per_s * 1000 / rate + ms,
            "trial_uss_mib": 110.0, "trial_pss_mib": 112.0, "driver_rss_peak_mib": 450.0}


def test_runs_at_two_rates_give_the_part_per_second_and_per_result() -> None:
    runs = [_run(16, 2000, 20.0, 90.0, 0.10, 3.5), _run(16, 12000, 60.0, 30.0, 0.10, 3.5),
            _run(40, 2000, 70.0, 56.0, 0.20, 4.0), _run(40, 12000, 90.0, 20.0, 0.20, 4.0)]
    split = split_cpu(runs)
    assert split["16"]["cpu_share_per_s"] == pytest.approx(0.10, abs=1e-3)
    assert split["16"]["ms_per_result"] == pytest.approx(3.5, abs=1e-3)
    assert split["40"]["cpu_share_per_s"] == pytest.approx(0.20, abs=1e-3)
    assert split["40"]["ms_per_result"] == pytest.approx(4.0, abs=1e-3)
    assert split["40"]["max_abs_residual_s"] == pytest.approx(0.0, abs=1e-3)
    ex = extrapolate(runs)
    # a and b straight through 16 and 40: at 128, a = 0.1 + 112 x 0.1/24, b = 3.5 + 112 x 0.5/24
    a, b = 0.1 + 112 * 0.1 / 24, 3.5 + 112 * 0.5 / 24
    assert ex["128"]["driver_cpu_share_per_s"] == pytest.approx(a, abs=1e-3)
    assert ex["128"]["driver_cpu_ms_per_result_marginal"] == pytest.approx(b, abs=0.01)
    assert ex["128"]["results_per_s_one_driver_core"] == round(1000 * (1 - a) / b)
    # the per-second part passes a whole core by 512: no rate is carried there
    assert ex["512"]["driver_cpu_share_per_s"] > 1
    assert ex["512"]["results_per_s_one_driver_core"] is None


def test_no_split_from_one_rate_or_one_run() -> None:
    same_rate = [_run(16, 2000, 20.0, 90.0, 0.1, 3.5), _run(16, 4000, 21.0, 80.0, 0.1, 3.5)]
    assert split_cpu(same_rate) == {}  # 90 and 80 results/s: too close to separate a and b
    assert split_cpu(same_rate[:1]) == {}
    ex = extrapolate(same_rate[:1])
    assert "split" not in ex and ex["128"]["results_per_s_one_driver_core"] > 0


def test_the_mixed_line_uses_the_fastest_runs_only() -> None:
    runs = [_run(16, 2000, 20.0, 90.0, 0.1, 3.5), _run(16, 12000, 60.0, 30.0, 0.1, 3.5)]
    ex = extrapolate(runs)
    # 0.1 core-s/s at 90 results/s: 1.11 + 3.5 ms; the slow run (3.33 + 3.5) left out
    assert ex["driver_cpu_ms_per_result_fit"][0] == pytest.approx(1000 * 0.1 / 90 + 3.5, abs=1e-3)


def test_thread_cpu_names_the_main_thread_and_counts_a_busy_one() -> None:
    import threading
    import time

    from bench.many_packs import thread_cpu_s

    stop, busy = threading.Event(), threading.Event()

    def spin() -> None:
        start = time.thread_time()
        while time.thread_time() - start < 0.3:
            pass
        busy.set()
        stop.wait(5)

    before = thread_cpu_s()
    worker = threading.Thread(target=spin)
    worker.start()
    busy.wait(5)
    after = thread_cpu_s()
    stop.set()
    worker.join()
    others = sum(v for k, v in after.items() if k != "main") - sum(
        v for k, v in before.items() if k != "main")
    assert "main" in after and others >= 0.2  # the spinning thread, not the main one


def test_the_loggers_bench_sees_tensorboardxs_threads_and_none_now(tmp_path) -> None:
    from bench.loggers import measure

    now = measure(2, 3, tmp_path / "now")
    assert now["results"] == 6 and now["threads_added"] == 0
    assert set(now["ms_per_result"]) == {"EpochCSVLogger", "EpochJsonLogger", "EpochTBXLogger"}
    assert len(list((tmp_path / "now" / "staging").glob("*/events.out.tfevents.*"))) == 2
    before = measure(2, 3, tmp_path / "before", tensorboardx=True)
    assert before["threads_added"] == 4  # a writer thread and a queue feeder per trial
