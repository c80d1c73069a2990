"""Referee 11 (driver): the extrapolation of ``bench.many_packs`` never gives the driver a
negative share of a core.

The lead's idle-VM split of 2026-11-29 (``--concurrent 16 40 --jets 2000 12000 --epochs 30``)
found the part per second falling with the trials (0.084 of a core at 16, 0.041 at 40); drawn
straight to 512 it reached -0.805, and ``(1 - a) / b`` promised one driver core 172 results/s
at 512 where the part per result alone (10.5 ms) allows 95. A share of a core is now no lower
than 0. A pure function on hand-made runs.
"""

from __future__ import annotations

import pytest

from bench.many_packs_fit import extrapolate


def _run(n: int, jets: int, span: float, rate: float, used: float) -> dict:
    return {"concurrent": n, "jets": jets, "results_full_s": span, "results_per_s_full": rate,
            "driver_cpu_used_s_full": used, "driver_cpu_ms_per_result_full": 2.5,
            "trial_uss_mib": 110.1, "trial_pss_mib": 113.5, "driver_rss_peak_mib": 450.0}


def test_a_falling_part_per_second_stops_at_zero() -> None:
    # the idle split's figures: a, b = 0.084, 1.723 ms at 16 and 0.041, 2.147 ms at 40
    runs = [_run(16, 2000, 10.0, 100.0, 0.084 * 10 + 1.723e-3 * 1000),
            _run(16, 12000, 10.0, 60.0, 0.084 * 10 + 1.723e-3 * 600),
            _run(40, 2000, 10.0, 120.0, 0.041 * 10 + 2.147e-3 * 1200),
            _run(40, 12000, 10.0, 75.0, 0.041 * 10 + 2.147e-3 * 750)]
    ex = extrapolate(runs)
    assert ex["split"]["40"]["cpu_share_per_s"] == pytest.approx(0.041, abs=1e-3)
    for n in ("128", "256", "512"):
        row = ex[n]
        assert row["driver_cpu_share_per_s"] == 0.0
        b = row["driver_cpu_ms_per_result_marginal"]
        assert row["results_per_s_one_driver_core"] == round(1000 / b)
    assert ex["512"]["driver_cpu_ms_per_result_marginal"] == pytest.approx(10.49, abs=0.02)
    assert ex["512"]["results_per_s_one_driver_core"] == 95
