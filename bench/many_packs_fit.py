"""The arithmetic of :mod:`bench.many_packs` on its measured runs: the driver's CPU split into a
part per second and a part per result (:func:`split_cpu`), and what the measured sizes say about
128-512 concurrent trials (:func:`extrapolate`: arithmetic, not measurement). Pure functions on
the ``runs`` entries, tested on hand-made ones."""

from __future__ import annotations

import statistics
from typing import Any, Sequence

__all__ = ["TARGETS", "SPLIT_MIN_RATIO", "line_fit", "split_cpu", "extrapolate"]

#: Concurrent trials the extrapolation is for (an 8-GPU node: 16-64 trials per GPU).
TARGETS = (128, 256, 512)


def line_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares ``(intercept, slope)``; one point: slope 0 (a flat line through it)."""
    if len(xs) < 2:
        return float(ys[0]), 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
    return my - slope * mx, slope


#: Two runs of one size split the driver's CPU only if their result rates differ this much.
SPLIT_MIN_RATIO = 1.3


def split_cpu(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The driver's CPU at each size split into a part per second and a part per result.

    Over the window at full concurrency, run ``i`` used ``C_i`` CPU-s over ``T_i`` s with
    ``R_i`` results; least squares (no intercept) of ``C = a T + b R`` over the runs of one
    size whose result rates differ (``--jets``: more jets, slower epochs, the same result per
    epoch): ``a`` is the share of a core the driver burns with trials running and none
    reporting (Tune's loop, timers), ``b`` the CPU of one result. Sizes with fewer than two
    such runs are left out; each entry: ``cpu_share_per_s`` (a), ``ms_per_result`` (1000 b),
    the ``rates`` fitted, and ``max_abs_residual_s``."""
    out: dict[str, dict[str, Any]] = {}
    for n in sorted({r["concurrent"] for r in runs}):
        rows = [(r["results_full_s"], r["results_per_s_full"] * r["results_full_s"],
                 r["driver_cpu_used_s_full"], r["results_per_s_full"]) for r in runs
                if r["concurrent"] == n and r.get("results_full_s")
                and r.get("results_per_s_full") and r.get("driver_cpu_used_s_full") is not None]
        rates = [row[3] for row in rows]
        if len(rows) < 2 or max(rates) < SPLIT_MIN_RATIO * min(rates):
            continue
        stt = sum(t * t for t, _, _, _ in rows)
        srr = sum(k * k for _, k, _, _ in rows)
        str_ = sum(t * k for t, k, _, _ in rows)
        stc = sum(t * c for t, _, c, _ in rows)
        src = sum(k * c for _, k, c, _ in rows)
        det = stt * srr - str_ * str_
        if not det:
            continue
        a, b = (stc * srr - src * str_) / det, (src * stt - stc * str_) / det
        out[str(n)] = {"cpu_share_per_s": round(a, 3), "ms_per_result": round(1000 * b, 3),
                       "rates": sorted(round(x, 1) for x in rates),
                       "max_abs_residual_s": round(max(abs(c - a * t - b * k)
                                                       for t, k, c, _ in rows), 3)}
    return out


def extrapolate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the measured sizes say about :data:`TARGETS` concurrent trials (not measured).

    With a split (:func:`split_cpu`, two sizes or more), the driver's part per second ``a``
    (no lower than 0) and per result ``b`` are each a straight line through the sizes, and one
    driver core carries ``(1 - a) / b`` results/s (none where ``a >= 1``): the honest figure. Without, the
    CPU per result as measured (both parts mixed, at this machine's result rate) is drawn
    straight through the sizes, as before; it rises where the result rate falls."""
    runs = [r for r in runs if r["trial_uss_mib"] is not None]
    if not runs:
        return {}
    split = split_cpu(runs)
    runs = [r for r in runs if r.get("jets", 2000) == min(x.get("jets", 2000) for x in runs)]
    ns = [r["concurrent"] for r in runs]
    uss = round(statistics.median(r["trial_uss_mib"] for r in runs), 1)
    pss = round(statistics.median(r["trial_pss_mib"] for r in runs), 1)
    rss = line_fit(ns, [r["driver_rss_peak_mib"] for r in runs])
    cpu = line_fit(ns, [r.get("driver_cpu_ms_per_result_full")
                        or r.get("driver_cpu_ms_per_result") or 0.0 for r in runs])
    out: dict[str, Any] = {
        "basis": f"per-trial USS {uss:.1f} MiB and PSS {pss:.1f} MiB (median of the measured "
                 f"sizes {ns}); driver peak RSS and driver CPU per result (at full concurrency): "
                 f"straight lines through the measured sizes", "trial_uss_mib": uss, "trial_pss_mib": pss,
        "driver_rss_mib_fit": [round(v, 3) for v in rss],
        "driver_cpu_ms_per_result_fit": [round(v, 4) for v in cpu]}
    for n in TARGETS:
        ms = max(cpu[0] + cpu[1] * n, 1e-6)
        out[str(n)] = {"trials_uss_gib": round(n * uss / 1024, 1),
                       "trials_pss_gib": round(n * pss / 1024, 1),
                       "driver_rss_mib": round(rss[0] + rss[1] * n),
                       "driver_cpu_ms_per_result": round(ms, 2),
                       "results_per_s_one_driver_core": round(1000 / ms)}
    if split:
        sizes = [int(n) for n in split]
        per_s = line_fit(sizes, [split[str(n)]["cpu_share_per_s"] for n in sizes])
        per_r = line_fit(sizes, [split[str(n)]["ms_per_result"] for n in sizes])
        out["split"] = split
        out["split_basis"] = (f"driver CPU = a x seconds + b x results at each size {sizes} "
                              f"(runs at different result rates); a and b straight through "
                              f"the sizes, a no lower than 0; one core carries (1 - a) / b "
                              f"results/s")
        for n in TARGETS:
            # a share of a core is never negative: a line falling through the sizes (0.084 at
            # 16, 0.041 at 40) would reach -0.8 at 512 and promise more than 1 / b results/s
            a = max(per_s[0] + per_s[1] * n, 0.0)
            b = max(per_r[0] + per_r[1] * n, 1e-6)
            out[str(n)].update({
                "driver_cpu_share_per_s": round(a, 3), "driver_cpu_ms_per_result_marginal":
                round(b, 2), "results_per_s_one_driver_core":
                round(1000 * (1 - a) / b) if a < 1 else None})
    return out
