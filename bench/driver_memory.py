"""The driver's memory over a study of many tiny trials.

    python -m bench.driver_memory --trials 2000 [--time-budget-s 600] [--scheduler fifo] [--out FILE]

Ray Tune keeps every trial (its config, last result, metadata) in the driver, and Ray has a
known issue of driver memory growing with the trial count; a 2,000-trial study should still
leave the driver flat enough. This runs ``run_study`` on 2,000 synthetic jets with the smallest
models (depth 1, width 2-4), so scheduling and bookkeeping dominate, and a Tune callback reads
the driver's resident memory (RSS) every ``--every`` finished trials.

Prints one JSON object: RSS before the study, at 10%, 50% and 100% of the trials and after the
tables, every sample, the growth in MiB per 1,000 trials (a least-squares slope over the
samples from 10% on, so Ray's and torch's start-up allocations are not counted as growth), and
trials per second. ``--tracemalloc`` adds the Python allocation sites that grew most between
10% and the end (it slows the driver down, so the rates are then not comparable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Sequence

from ray.tune import Callback

from bench import emit, require_positive
from bench.throughput import code_version

__all__ = ["rss_mib", "RssSampler", "growth_per_1000", "tiny_config", "run", "main"]

logger = logging.getLogger(__name__)


def rss_mib(pid: int | None = None) -> float:
    """Resident memory of a process (default: this one) in MiB, via psutil when installed,
    else ``/proc/<pid>/status`` (Linux)."""
    try:
        import psutil  # type: ignore[import-untyped]

        return psutil.Process(pid).memory_info().rss / 2**20
    except ImportError:
        pass
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmRSS in /proc/self/status; install psutil")


class RssSampler(Callback):
    """Reads the driver's RSS every ``every`` ended trials (completed, stopped or failed).

    Runs inside the driver, as Tune callbacks do, so ``samples`` fill in this process:
    ``(trials ended, seconds since the experiment started, RSS MiB)``. With ``trace_from``
    (tracemalloc running) it also snapshots the Python heap at that many trials and at the end.
    """

    def __init__(self, every: int, trace_from: int | None = None) -> None:
        self.every = max(1, every)
        self.trace_from = trace_from  # tracemalloc snapshots: at this many trials and the end
        self.ended = 0
        self.t0 = time.time()
        self.samples: list[tuple[int, float, float]] = []
        self.snapshots: list[Any] = []

    def setup(self, **info: Any) -> None:
        self.t0 = time.time()
        self._sample()

    def _sample(self) -> None:
        self.samples.append((self.ended, round(time.time() - self.t0, 2), round(rss_mib(), 1)))

    def _ended(self) -> None:
        self.ended += 1
        if self.ended % self.every == 0:
            self._sample()
        if self.trace_from is not None and self.ended == self.trace_from:
            self.snapshots.append(tracemalloc.take_snapshot())

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._ended()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if not self.samples or self.samples[-1][0] != self.ended:
            self._sample()
        if self.snapshots:
            self.snapshots.append(tracemalloc.take_snapshot())


def growth_per_1000(samples: Sequence[tuple[int, float, float]], skip_fraction: float = 0.1,
                    ) -> float | None:
    """MiB per 1,000 trials: the least-squares slope of RSS on trials ended, over the samples
    at or past ``skip_fraction`` of the last trial count (start-up allocations left out).

    >>> growth_per_1000([(0, 0, 100.0), (100, 1, 150.0), (200, 2, 151.0), (300, 3, 152.0)])
    10.0
    """
    if not samples:
        return None
    last = samples[-1][0]
    points = [(n, rss) for n, _, rss in samples if n >= skip_fraction * last]
    if len(points) < 2:
        return None
    mean_n = sum(n for n, _ in points) / len(points)
    mean_r = sum(r for _, r in points) / len(points)
    var = sum((n - mean_n) ** 2 for n, _ in points)
    if var == 0:
        return None
    cov = sum((n - mean_n) * (r - mean_r) for n, r in points)
    return round(1000 * cov / var, 2)


def _at(samples: Sequence[tuple[int, float, float]], trials: int) -> float | None:
    """RSS of the first sample taken at or after ``trials`` ended trials."""
    for n, _, rss in samples:
        if n >= trials:
            return rss
    return samples[-1][2] if samples else None


def tiny_config(results: Path, *, trials: int, epochs: int, scheduler: str,
                concurrent: int, jets: int = 2000, time_budget_s: float | None = None) -> Any:
    """A study whose trials are as small as the config allows: the cost is Tune's, not
    torch's."""
    from jetstudy.study.config import from_dict

    return from_dict({
        "data": {"synthetic_jets": jets},
        "space": {"depth": [1, 1], "width": [2, 4]},
        "search": {"num_trials": trials, "max_concurrent": concurrent, "seed": 0,
                   "time_budget_s": time_budget_s},
        "scheduler": {"type": scheduler, "max_epochs": epochs, "grace_period": 1},
        "training": {"batch_size": 1024, "train_eval_jets": 500},
        "resources": {"cpus_per_trial": 1, "num_cpus": concurrent},
        "storage": {"results_dir": str(results), "name": "driver-memory"},
    })


def _top_growth(first: Any, last: Any, n: int = 10) -> list[dict[str, Any]]:
    stats = last.compare_to(first, "lineno")
    return [{"where": str(s.traceback[0]), "growth_kib": round(s.size_diff / 1024, 1),
             "count_diff": s.count_diff} for s in stats[:n]]


def run(*, trials: int, epochs: int = 1, scheduler: str = "fifo", concurrent: int = 2,
        every: int | None = None, keep: str | None = None, trace: bool = False,
        time_budget_s: float | None = None) -> dict[str, Any]:
    """Run the tiny study and return the JSON-ready measurements."""
    from jetstudy.study.launch import run_study

    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="jetstudy-drvmem-"))
    every = every or max(1, trials // 50)
    if trace:
        tracemalloc.start()
    sampler = RssSampler(every, trace_from=max(1, trials // 10) if trace else None)
    before = rss_mib()
    t0 = time.time()
    try:
        cfg = tiny_config(work, trials=trials, epochs=epochs, scheduler=scheduler,
                          concurrent=concurrent, time_budget_s=time_budget_s)
        outcome = run_study(cfg, callbacks=[sampler])
        wall = time.time() - t0
        after = rss_mib()
        n_trials = len(outcome.trials)
        folder = str(outcome.folder)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    s = sampler.samples
    last = s[-1][0] if s else 0
    fit_s = s[-1][1] if s else None
    result: dict[str, Any] = {
        "benchmark": "driver_memory",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "jetstudy": code_version(), "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "trials": trials, "trials_in_table": n_trials, "time_budget_s": time_budget_s,
        "max_epochs": epochs,
        "scheduler": scheduler, "concurrent": concurrent, "sample_every": every,
        "rss_source": "psutil" if _has_psutil() else "/proc/self/status VmRSS",
        "rss_mib": {"before_study": round(before, 1), "at_10pct": _at(s, 0.1 * last),
                    "at_50pct": _at(s, 0.5 * last), "at_100pct": _at(s, last),
                    "after_tables": round(after, 1)},
        "growth_mib_per_1000_trials": growth_per_1000(s),
        "wall_s": round(wall, 1),
        "trials_per_s": round(n_trials / fit_s, 2) if fit_s else None,
        "trials_per_s_from_10pct": _steady_rate(s),
        "results": folder if keep else None,
        "samples": [list(x) for x in s],  # [trials ended, s since start, RSS MiB]
    }
    if trace:
        if len(sampler.snapshots) == 2:
            result["tracemalloc_top_growth"] = _top_growth(*sampler.snapshots)
        tracemalloc.stop()
    return result


def _steady_rate(samples: Sequence[tuple[int, float, float]]) -> float | None:
    """Trials ended per second from the 10% sample to the last (worker start-up left out)."""
    if not samples:
        return None
    last = samples[-1]
    first = next((x for x in samples if x[0] >= 0.1 * last[0]), None)
    if first is None or last[1] <= first[1]:
        return None
    return round((last[0] - first[0]) / (last[1] - first[1]), 2)


def to_json(result: dict[str, Any]) -> str:
    """Indented JSON with each innermost list (a sample) on one line."""
    text = json.dumps(result, indent=2)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]",
                  lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)


def _has_psutil() -> bool:
    try:
        import psutil  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.driver_memory",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=1, help="max epochs of a trial")
    p.add_argument("--scheduler", choices=("fifo", "asha"), default="fifo")
    p.add_argument("--concurrent", type=int, default=2)
    p.add_argument("--time-budget-s", type=float,
                   help="stop the study after this many seconds (search.time_budget_s) and "
                        "report the trials run by then")
    p.add_argument("--every", type=int, help="sample every N ended trials (default trials/50)")
    p.add_argument("--keep", metavar="DIR", help="keep the results in DIR (e.g. to time "
                                                 "`jetstudy report` on a big table)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also list the allocation sites that grew most (slower)")
    p.add_argument("--out", help="also write the JSON to this file")
    args = p.parse_args(argv)
    require_positive(p, args, ("trials", "epochs", "concurrent"))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = run(trials=args.trials, epochs=args.epochs, scheduler=args.scheduler,
                 concurrent=args.concurrent, every=args.every, keep=args.keep,
                 trace=args.tracemalloc, time_budget_s=args.time_budget_s)
    emit(to_json(result), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
