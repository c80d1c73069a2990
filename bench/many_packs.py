"""Many packed trials at once on a simulated multi-GPU cluster, on CPU: the driver's and the
trials' cost per concurrent trial, measured here and extrapolated to 128-512.

    python -m bench.many_packs                               # 16 and 32 trials at once
    python -m bench.many_packs --concurrent 32 48 --nodes 2 --gpus-per-node 4 --out many.json

Each size runs in a fresh ``ray.cluster_utils.Cluster`` on this machine: a head node (the
driver's, 1 CPU) and ``--nodes`` nodes with ``--gpus-per-node`` fake GPUs each (Ray's
``num_gpus`` resource; torch sees no CUDA, so the packs train on CPU). The study is packed
(``resources.pack_size`` = concurrent / GPUs, one 1-GPU pack per fake GPU, ``gpus_per_trial:
1``) with tiny models (depth 1-2, widths 4-16, 2,000 jets) and FIFO scheduling, so every trial
runs ``--epochs`` epochs and the cost measured is bookkeeping (Tune, Optuna, the trial
processes, the packs' round trips), not arithmetic. It runs ``--concurrent`` trials, all at
once.

Measured per size (``runs``): the driver's CPU seconds (``getrusage``, less the sampler's own
thread) and peak RSS, the trial processes' memory (each one's peak USS and PSS; the peak of
their sum), the packs' and Ray's other processes' memory, results (epochs reported to Tune) per
second over the study and while all trials were running, and how many ran at once. A size
whose predicted memory (the last size's, scaled) passes ``--max-gib`` or what the machine has
free is skipped (``skipped``). ``extrapolated`` scales the measured per-trial figures to 128,
256 and 512 concurrent trials: trial memory = N x the per-trial USS (PSS), driver RSS and CPU
per result from a straight line through the measured sizes. Nothing there is measured.

The CPU per result mixes a part per second (Tune's loop polls, Ray's threads) with a part per
result, and the packs set the result rate here. ``--jets A B`` runs each size at each data size
(slower epochs, same results) and :func:`split_cpu` separates the two parts
(``extrapolated.split``); the extrapolation then says how many results/s one driver core
carries at N trials from both.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.driver_clock import (FULL_SHARE, ResultClock, less_sampler, process_cpu_s,
                                result_rates, snapshot_clock, snapshots_between, thread_cpu_s)
from bench.many_packs_fit import TARGETS, extrapolate, line_fit, split_cpu
from bench.trial_memory import ProcSampler

# what the driver reads: bench/driver_clock.py; the fits and the extrapolation:
# bench/many_packs_fit.py (importable from here too)
__all__ = ["ResultClock", "classify", "plan", "line_fit", "split_cpu", "extrapolate",
           "run_size", "main", "TARGETS"]

#: Left free on the machine beyond the predicted peak (others share it).
HEADROOM_GIB = 3.0


def classify(title: str) -> str:
    """A process below the driver: a packed trial, a pack, or one of Ray's own (an idle worker,
    a raylet, the GCS, a node's agents, any other)."""
    if title.startswith("ray::ImplicitFunc"):
        return "trial"
    if "PackActor" in title:
        return "pack"
    if title.startswith("ray::IDLE"):
        return "ray_idle_worker"
    for key, role in (("raylet", "raylet"), ("gcs_server", "gcs"), ("Agent", "ray_agents"),
                      ("dashboard", "ray_agents")):
        if key in title:
            return role
    return "ray_other"


def plan(concurrent: int, nodes: int, gpus_per_node: int) -> dict[str, int]:
    """Pack size and count (one pack per fake GPU) and each GPU node's CPUs: a CPU per pack
    and the trials' 0.05 each, rounded up, plus one."""
    gpus = nodes * gpus_per_node
    pack_size = math.ceil(concurrent / gpus)
    packs = math.ceil(concurrent / pack_size)
    node_cpus = gpus_per_node + math.ceil(concurrent * 0.05 / nodes) + 1
    return {"pack_size": pack_size, "packs": packs, "node_cpus": node_cpus}


def _config(concurrent: int, epochs: int, pack_size: int, folder: Path,
            jets: int = 2000) -> Any:
    from jetstudy.study.config import from_dict

    return from_dict({
        "data": {"synthetic_jets": jets, "synthetic_seed": 3},
        "space": {"depth": [1, 2], "width": [4, 16]},
        "search": {"num_trials": concurrent, "max_concurrent": concurrent, "seed": 1},
        "scheduler": {"type": "fifo", "max_epochs": epochs},
        "training": {"batch_size": 1024, "train_eval_jets": 200},
        "resources": {"cpus_per_trial": 1, "gpus_per_trial": 1, "pack_size": pack_size,
                      "pack_graphs": "off", "max_failures": 0},
        "storage": {"results_dir": str(folder), "name": f"many-{concurrent}"}})


def run_size(concurrent: int, nodes: int, gpus_per_node: int, epochs: int,
             folder: Path, profile: Path | None = None, jets: int = 2000) -> dict[str, Any]:
    """One size on a fresh simulated cluster; the ``runs`` entry. ``profile``: a file for
    ``cProfile``'s statistics (see :class:`ResultClock`)."""
    import ray
    from ray.cluster_utils import Cluster

    from jetstudy.study.launch import run_study

    shape = plan(concurrent, nodes, gpus_per_node)
    began = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0})
    try:
        for _ in range(nodes):
            cluster.add_node(num_cpus=shape["node_cpus"], num_gpus=gpus_per_node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        clock = ResultClock()
        with ProcSampler(classify, every_s=0.5, libs=False) as sampler:
            sampler.sample()
            rss_start = sampler.driver_rss_peak_mib
            cpu0, t0, threads0 = process_cpu_s(), time.monotonic(), thread_cpu_s()
            clock.profile = profile
            with snapshot_clock() as snapshots:
                outcome = run_study(_config(concurrent, epochs, shape["pack_size"], folder,
                                            jets), callbacks=[clock])
            study_s, cpu_s = time.monotonic() - t0, process_cpu_s() - cpu0
            threads = {k: v - threads0.get(k, 0.0) for k, v in thread_cpu_s().items()}
        sampler_cpu = sampler.cpu_s
        own = Path("/proc/self/comm").read_text().strip()  # the name Python's threads carry
        threads[own] = threads.get(own, 0.0) - sampler_cpu
        threads["sampler (not the driver's)"] = sampler_cpu
    finally:
        ray.shutdown()
        cluster.shutdown()
    trials = [p for p in sampler.peaks.values() if p["role"] == "trial"]
    totals = sampler.total_peak
    less_sampler(clock, sampler)
    rates = result_rates(clock, concurrent)
    full = [when for when, n in zip(clock.times, clock.running)
            if n >= FULL_SHARE * concurrent]
    driver_cpu = max(cpu_s - sampler_cpu, 0.0)
    return {
        "concurrent": concurrent, "nodes": nodes, "gpus_per_node": gpus_per_node, **shape,
        "epochs": epochs, "jets": jets, "trials_failed": _failed(outcome.folder),
        "wall_s": round(time.monotonic() - began, 1), "study_s": round(study_s, 1), **rates,
        "trial_processes_max": sampler.live_max.get("trial", 0),
        "driver_cpu_s": round(driver_cpu, 2),
        # Tune's experiment snapshots: the period the study ran with, how many, their CPU
        "tune_snapshot_period_s": os.environ.get("TUNE_GLOBAL_CHECKPOINT_S"),
        "tune_snapshots": snapshots["count"],
        "tune_snapshot_cpu_s": round(snapshots["cpu_s"], 3),
        "tune_snapshot_calls_cpu_s": round(snapshots["calls_cpu_s"], 3),
        # those taken while >= 90% of the trials ran (the window of the _full figures)
        "tune_snapshots_full": (snapshots_between(snapshots["log"], full[0], full[-1])
                                if full else None),
        # over the whole study, by thread (the process's name: Python's threads, the sampler
        # apart);
        # "ended": threads gone by the end (tensorboardX's, closed with their trials, before)
        "driver_thread_cpu_s": {**{k: round(v, 2) for k, v in sorted(
            threads.items(), key=lambda kv: -kv[1]) if v >= 0.05},
            "ended": round(max(cpu_s - sum(threads.values()), 0.0), 2)},
        "driver_rss_start_mib": round(rss_start, 1),
        # open file descriptors, and of them files (the loggers' per trial), at their peak
        "driver_fds_peak": sampler.driver_fds_peak,
        "driver_files_peak": sampler.driver_files_peak,
        "fds_max": dict(sampler.fds_max),  # by role, the most in one process
        "driver_rss_peak_mib": round(sampler.driver_rss_peak_mib, 1),
        # None: no trial lived through a sample (a tiny run)
        "trial_uss_mib": _median([p["uss_mib"] for p in trials]),
        "trial_pss_mib": _median([p["pss_mib"] for p in trials]),
        "trials_uss_total_peak_mib": round(totals["trial"]["uss_mib"], 1),
        "trials_pss_total_peak_mib": round(totals["trial"]["pss_mib"], 1),
        "packs_pss_total_peak_mib": round(totals.get("pack", {}).get("pss_mib", 0.0), 1),
        "pss_total_peak_mib": {role: round(t["pss_mib"], 1) for role, t in totals.items()},
        "processes_max": dict(sampler.live_max),
        # all processes at one moment (each role's peak above may come at another), driver too
        "all_pss_peak_gib": round((sampler.all_pss_peak_mib + sampler.driver_rss_peak_mib)
                                  / 1024, 2)}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _failed(folder: Path) -> int:
    import pandas as pd

    trials = pd.read_parquet(folder / "trials.parquet")
    return int((trials["status"] == "failed").sum())


def _mem_available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 2**20
    return 0.0


#: The processes whose memory grows with the trials: theirs, the idle workers Ray keeps for
#: them and the raylets that serve them.
GROWING = ("trial", "ray_idle_worker", "raylet")


def _predicted_gib(last: dict[str, Any], concurrent: int) -> float:
    """The last size's peak memory with its :data:`GROWING` part scaled to ``concurrent``."""
    growing = sum(last["pss_total_peak_mib"].get(role, 0.0) for role in GROWING) / 1024
    return last["all_pss_peak_gib"] + growing * (concurrent / last["concurrent"] - 1)


def _run_in_subprocess(concurrent: int, args: argparse.Namespace) -> dict[str, Any]:
    """One size with its own driver process (a fresh Ray cluster and driver memory);
    ``args.jets``: a one-element list."""
    cmd = [sys.executable, "-m", "bench.many_packs", "--one", "--concurrent", str(concurrent),
           "--nodes", str(args.nodes), "--gpus-per-node", str(args.gpus_per_node),
           "--epochs", str(args.epochs), "--jets", str(args.jets[0])]
    if args.profile:
        cmd += ["--profile", args.profile]
    env = {**os.environ, "RAY_DEDUP_LOGS": "0"}
    if args.snapshot_period is not None:  # the study keeps a value set from outside
        env["TUNE_GLOBAL_CHECKPOINT_S"] = args.snapshot_period
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.many_packs at --concurrent {concurrent} failed (exit "
                           f"{proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--gpus-per-node", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--jets", type=int, nargs="+", default=[2000],
                        help="synthetic jets; two values or more run each size at each, "
                             "slower epochs with more jets, and split the driver's CPU into "
                             "a part per second and one per result (extrapolated.split)")
    parser.add_argument("--max-gib", type=float, default=8.0,
                        help="skip a size predicted to need more (all processes, PSS)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--profile", default=None, metavar="DIR",
                        help="write each size's driver profile (cProfile) to "
                             "DIR/driver-<concurrent>.pstats; its overhead inflates the "
                             "driver's CPU figures: measure without it")
    parser.add_argument("--snapshot-period", default=None, metavar="S",
                        help="Tune's experiment snapshot period (TUNE_GLOBAL_CHECKPOINT_S) "
                             "instead of the one jetstudy picks, to compare periods")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a size's driver
    args = parser.parse_args(argv)
    from bench import emit, require_positive

    require_positive(parser, args, ["concurrent", "nodes", "gpus_per_node", "epochs", "jets"])
    if args.one:  # one size, in this fresh process: its driver figures are its own
        with tempfile.TemporaryDirectory(prefix="many-packs-") as tmp, \
                contextlib.redirect_stdout(sys.stderr):  # Tune's tables: stdout is the JSON
            profile = (Path(args.profile) / f"driver-{args.concurrent[0]}.pstats"
                       if args.profile else None)
            if profile:
                profile.parent.mkdir(parents=True, exist_ok=True)
            run = run_size(args.concurrent[0], args.nodes, args.gpus_per_node, args.epochs,
                           Path(tmp), profile, args.jets[0])
        print(json.dumps(run))
        return
    runs: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for n in sorted(set(args.concurrent)):
        if runs:
            need, free = _predicted_gib(runs[-1], n), _mem_available_gib() - HEADROOM_GIB
            if need > min(args.max_gib, free):
                skipped.append({"concurrent": n, "predicted_gib": round(need, 2),
                                "why": f"predicted {need:.1f} GiB > --max-gib "
                                       f"{args.max_gib} or free {free:.1f} GiB"})
                continue
        for jets in sorted(set(args.jets)):
            runs.append(_run_in_subprocess(n, argparse.Namespace(**{**vars(args),
                                                                   "jets": [jets]})))
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "host": platform.node(), "cpus": os.cpu_count(),
              "mem_total_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                     / 2**30, 1),
              "measured": "runs", "runs": runs, "skipped": skipped,
              "extrapolated": extrapolate(runs)}
    emit(json.dumps(result, indent=1), args.out)


if __name__ == "__main__":
    main()
