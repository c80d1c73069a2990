"""What :mod:`bench.many_packs` reads in the driver while a study runs: each result's time, the
trials running then and the driver's CPU so far (:class:`ResultClock`, a Tune callback, with an
optional cProfile of the main thread), the CPU by thread, and from those the results/s and the
driver's CPU per result over the study and at full concurrency (:func:`result_rates`)."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ray.tune import Callback

if TYPE_CHECKING:
    from bench.trial_memory import ProcSampler

__all__ = ["ResultClock", "process_cpu_s", "thread_cpu_s", "FULL_SHARE", "less_sampler",
           "result_rates", "snapshot_clock", "snapshots_between"]


class ResultClock(Callback):
    """Each result Tune receives: when, how many trials were running then, and the driver's
    CPU seconds so far (all its threads: see :func:`less_sampler`).

    With ``profile`` (a path), ``cProfile`` measures the driver's main thread (Tune's loop and
    every callback run there) in CPU seconds (``time.thread_time``) from the first result to
    the experiment's end, the span the CPU per result is taken over, and writes its statistics
    there. Its own cost inflates the run's CPU figures: measure those without it."""

    def __init__(self, profile: Path | None = None) -> None:
        self.times: list[float] = []
        self.running: list[int] = []
        self.cpu: list[float] = []
        self.profile = profile
        self._profiler: Any = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks: not the profiler
        return {**self.__dict__, "_profiler": None}

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if self.profile is not None and self._profiler is None:
            import cProfile

            self._profiler = cProfile.Profile(time.thread_time)
            self._profiler.enable()
        self.times.append(time.monotonic())
        self.running.append(sum(1 for t in trials if t.status == "RUNNING"))
        self.cpu.append(process_cpu_s())

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._profiler is not None:
            self._profiler.disable()
            self._profiler.dump_stats(str(self.profile))
            self._profiler = None



def process_cpu_s() -> float:
    """This process's CPU seconds, all threads (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds of this process's live threads, summed by the OS thread name
    (``/proc/self/task/*/stat``), the main thread as ``main``; Python's own threads share the
    process's name, Ray's C++ threads carry theirs."""
    out: dict[str, float] = {}
    tick, me = os.sysconf("SC_CLK_TCK"), os.getpid()
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        name = "main" if int(task.name) == me else stat[stat.index("(") + 1:stat.rindex(")")]
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


#: "At full concurrency": while at least this share of the trials asked for ran.
FULL_SHARE = 0.9


def less_sampler(clock: ResultClock, sampler: ProcSampler) -> None:
    """Take the sampler thread's CPU (it runs in the driver) out of the clock's CPU readings."""
    log = sampler.cpu_log
    for i, t in enumerate(clock.times):
        before = [cpu for when, cpu in log if when <= t]
        clock.cpu[i] -= before[-1] if before else 0.0


def result_rates(clock: ResultClock, concurrent: int) -> dict[str, Any]:
    """Results/s and the driver's CPU per result, from the first result to the last and over
    the results Tune got while >= :data:`FULL_SHARE` of the trials ran."""
    times, running, cpu = clock.times, clock.running, clock.cpu
    out: dict[str, Any] = {"results": len(times), "running_max": max(running, default=0)}
    full = [i for i, n in enumerate(running) if n >= FULL_SHARE * concurrent]
    for suffix, idx in (("", list(range(len(times)))), ("_full", full)):
        span = times[idx[-1]] - times[idx[0]] if len(idx) > 1 else 0.0
        used = cpu[idx[-1]] - cpu[idx[0]] if len(idx) > 1 else 0.0
        out[f"results{suffix}_s"] = round(span, 1)
        out[f"results_per_s{suffix}"] = round((len(idx) - 1) / span, 2) if span else None
        out[f"driver_cpu_ms_per_result{suffix}"] = (round(1000 * used / (len(idx) - 1), 2)
                                                    if len(idx) > 1 else None)
        out[f"driver_cpu_share{suffix}"] = round(used / span, 3) if span else None
        out[f"driver_cpu_used_s{suffix}"] = round(used, 3)
    ramp = next((times[i] - times[0] for i, n in enumerate(running) if n == out["running_max"]),
                None)
    out["ramp_s"] = round(ramp, 1) if ramp is not None else None
    return out


@contextlib.contextmanager
def snapshot_clock() -> Iterator[dict[str, Any]]:
    """Ray Tune's experiment snapshots taken in this driver while the block runs: ``count``,
    ``cpu_s`` (CPU seconds of the thread writing them: ``TuneController.save_to_dir``, every
    trial's state as JSON, the searcher's and the callbacks' state) and ``calls_cpu_s`` (all
    of Tune's snapshot calls, one per step of its loop: those before the period is over return
    at once; the copy into the experiment folder runs in a thread of its own, not counted) and
    ``log``, each snapshot's ``(time.monotonic() at its end, CPU s)``. Patches Tune's class for
    the block's length: a bench's tool, not for studies."""
    from ray.tune.execution.tune_controller import TuneController

    out: dict[str, Any] = {"count": 0, "cpu_s": 0.0, "calls_cpu_s": 0.0, "log": []}
    save, checkpoint = TuneController.save_to_dir, TuneController.checkpoint

    def timed_save(self: Any) -> None:
        began = time.thread_time()
        try:
            save(self)
        finally:
            spent = time.thread_time() - began
            out["count"] += 1
            out["cpu_s"] += spent
            out["log"].append((time.monotonic(), spent))

    def timed_checkpoint(self: Any, *args: Any, **kwargs: Any) -> None:
        began = time.thread_time()
        try:
            checkpoint(self, *args, **kwargs)
        finally:
            out["calls_cpu_s"] += time.thread_time() - began

    TuneController.save_to_dir = timed_save  # type: ignore[method-assign]
    TuneController.checkpoint = timed_checkpoint  # type: ignore[method-assign]
    try:
        yield out
    finally:
        TuneController.save_to_dir = save  # type: ignore[method-assign]
        TuneController.checkpoint = checkpoint  # type: ignore[method-assign]


def snapshots_between(log: list[tuple[float, float]], start: float, end: float
                      ) -> dict[str, Any]:
    """Of :func:`snapshot_clock`'s ``log``, the snapshots that ended in ``[start, end]``: how
    many, their CPU seconds, the mean in ms."""
    inside = [cpu for when, cpu in log if start <= when <= end]
    return {"count": len(inside), "cpu_s": round(sum(inside), 3),
            "ms_each": round(1000 * sum(inside) / len(inside), 2) if inside else None}
