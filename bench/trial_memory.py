"""How much memory one packed trial's process holds, against a bare Ray worker.

    python -m bench.trial_memory                       # 8 trials, 4 at once, one pack of 4
    python -m bench.trial_memory --trials 12 --epochs 10 --out mem.json

Runs a small packed study on CPU (``resources.pack_size``) and, while it runs, samples every
Ray worker process this run started (the descendants of this driver; other users' Ray
sessions on the machine are not touched): its private memory (USS: ``Private_Clean +
Private_Dirty`` of ``/proc/<pid>/smaps_rollup``), PSS and RSS, and which heavy libraries are
mapped into it (``/proc/<pid>/maps``: torch, pandas, pyarrow, numpy, ...), each process's peak.
The trial processes also write their own ``sys.modules`` (``JETSTUDY_TRIAL_IMPORTS``, see
``jetstudy.trainables.packed_trial``). Two floors run first, in the same Ray session:

* ``bare_actor``: a Ray actor that does nothing (Ray's own worker, not jetstudy's to cut);
* ``bare_tune``: a Tune function trainable that only sleeps and reports (a Tune trial's worker:
  ``ray.tune`` itself imports pandas and pyarrow, so every Tune trial holds them).

Prints one JSON object: per role (``trial``, ``pack``, ``bare_actor``, ``bare_tune``) the
processes seen and their peak USS / PSS / RSS in MiB (median and max), the libraries mapped,
the trial's ``sys.modules`` heavy list, ``trial_minus_floor_mib`` (trial USS minus each
floor's) and ``ray_titles`` (every Ray worker title seen: ``ray::ImplicitFunc`` is a Tune trial).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

__all__ = ["HEAVY_LIBS", "ProcSampler", "open_fds", "proc_memory",
           "mapped_libs", "descendants", "bare_tune_trial", "BareActor", "summarise", "main"]

#: A library is "imported" by a process when one of these path fragments is mapped into it.
HEAVY_LIBS: dict[str, str] = {"torch": "/torch/lib/", "pandas": "/pandas/_libs/",
                              "pyarrow": "/pyarrow/", "numpy": "/numpy/",
                              "scipy": "/scipy/", "sklearn": "/sklearn/", "h5py": "/h5py/"}
MIB = 2**20


def proc_memory(pid: int) -> dict[str, float] | None:
    """USS, PSS and RSS of a process in MiB (``/proc/<pid>/smaps_rollup``); None once gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    kb: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            kb[parts[0].rstrip(":")] = int(parts[1])
    return {"uss_mib": (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024,
            "pss_mib": kb.get("Pss", 0) / 1024, "rss_mib": kb.get("Rss", 0) / 1024}


def mapped_libs(pid: int) -> list[str]:
    """The :data:`HEAVY_LIBS` mapped into a process (their shared objects are loaded)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return sorted(name for name, frag in HEAVY_LIBS.items() if frag in maps)


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (Ray's GCS, raylet and workers below a local driver)."""
    kids, out, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        for kid in kids.get(pid, []):
            out.append(kid)
            todo.append(kid)
    return out


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def open_fds() -> tuple[int, int]:
    """This process's open file descriptors (``/proc/self/fd``), and how many of them are
    files (a path, not a socket, pipe, device or ``anon_inode``)."""
    fds = files = 0
    for fd in os.listdir("/proc/self/fd"):
        fds += 1
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        files += target.startswith("/") and not target.startswith(("/dev/", "/proc/"))
    return fds, files


class ProcSampler:
    """Samples, every ``every_s`` seconds in a thread, each process below this driver whose
    title ``classify`` maps to a role (e.g. ``ray::PackActor`` -> ``"pack"``); keeps each
    process's peak USS, PSS, RSS and (``libs``) the libraries mapped into it, each role's
    peak total USS and PSS over its live processes, the driver's peak RSS and its peak of open
    file descriptors (``driver_fds_peak``; those on files: ``driver_files_peak``; each role's
    most in one process: ``fds_max``). ``cpu_s``
    is the sampler's own CPU time (it runs in the driver: subtract it from the driver's)."""

    def __init__(self, classify: Callable[[str], str | None], every_s: float = 0.5,
                 libs: bool = True) -> None:
        self.classify, self.every_s, self.libs = classify, every_s, libs
        self.driver_fds_peak = 0
        self.fds_max: dict[str, int] = {}  # role -> most open descriptors in one process
        self.driver_files_peak = 0
        #: (pid, role) -> that process's peaks in that role (an idle Ray worker becomes a trial)
        self.peaks: dict[tuple[int, str], dict[str, Any]] = {}
        self.live_max: dict[str, int] = {}  # role -> most processes alive at once
        self.total_peak: dict[str, dict[str, float]] = {}  # role -> peak summed uss/pss
        self.titles: set[str] = set()  # every Ray worker title seen
        self.driver_rss_peak_mib = 0.0
        self.all_pss_peak_mib = 0.0  # the peak of all sampled processes' PSS at one moment
        self.cpu_s = 0.0
        self.cpu_log: list[tuple[float, float]] = []  # (time.monotonic(), cpu_s) per sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "ProcSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        live: dict[str, int] = {}
        totals: dict[str, dict[str, float]] = {}
        for pid in descendants(os.getpid()):
            title = _title(pid)
            if title.startswith("ray::"):
                self.titles.add(title)
            role = self.classify(title)
            mem = proc_memory(pid) if role else None
            if mem is None:
                continue
            live[role] = live.get(role, 0) + 1
            try:  # the most descriptors one process of the role held (Ray's own limits)
                fds = len(os.listdir(f"/proc/{pid}/fd"))
                self.fds_max[role] = max(self.fds_max.get(role, 0), fds)
            except OSError:  # ended meanwhile
                pass
            total = totals.setdefault(role, {"uss_mib": 0.0, "pss_mib": 0.0})
            total["uss_mib"] += mem["uss_mib"]
            total["pss_mib"] += mem["pss_mib"]
            peak = self.peaks.setdefault((pid, role), {"role": role, "libs": [], **mem})
            for key, value in mem.items():
                peak[key] = max(peak[key], value)
            if self.libs:
                peak["libs"] = sorted(set(peak["libs"]) | set(mapped_libs(pid)))
        for role, count in live.items():
            self.live_max[role] = max(self.live_max.get(role, 0), count)
            best = self.total_peak.setdefault(role, {"uss_mib": 0.0, "pss_mib": 0.0})
            for key in best:
                best[key] = max(best[key], totals[role][key])
        self.all_pss_peak_mib = max(self.all_pss_peak_mib,
                                    sum(t["pss_mib"] for t in totals.values()))
        own = proc_memory(os.getpid())
        if own:
            self.driver_rss_peak_mib = max(self.driver_rss_peak_mib, own["rss_mib"])
        fds, files = open_fds()
        self.driver_fds_peak = max(self.driver_fds_peak, fds)
        self.driver_files_peak = max(self.driver_files_peak, files)

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.thread_time()
            self.sample()
            self.cpu_s += time.thread_time() - began
            self.cpu_log.append((time.monotonic(), self.cpu_s))
            self._stop.wait(self.every_s)


def summarise(peaks: dict[Any, dict[str, Any]], role: str) -> dict[str, Any] | None:
    """Median and max of the peak USS/PSS/RSS over a role's processes, and their libraries."""
    rows = [p for p in peaks.values() if p["role"] == role]
    if not rows:
        return None
    out: dict[str, Any] = {"processes": len(rows)}
    for key in ("uss_mib", "pss_mib", "rss_mib"):
        values = [r[key] for r in rows]
        out[key] = round(statistics.median(values), 1)
        out[key.replace("_mib", "_max_mib")] = round(max(values), 1)
    out["libs"] = sorted(set().union(*(r["libs"] for r in rows)))
    return out


def bare_tune_trial(config: dict[str, Any]) -> None:
    """The Tune floor: a function trainable that only sleeps and reports."""
    from ray import tune

    for i in range(int(config["reports"])):
        time.sleep(float(config["sleep_s"]))
        tune.report({"i": i})


class BareActor:
    """The Ray floor: an actor that does nothing."""

    def ping(self) -> int:
        return os.getpid()


#: Which Tune trials run now: both the floor's and the study's are ``ray::ImplicitFunc``.
_PHASE = {"tune": "bare_tune"}


def _role(title: str) -> str | None:
    if not title.startswith("ray::"):
        return None
    for key, role in (("PackActor", "pack"), ("PackServer", "pack"),
                      ("ImplicitFunc", _PHASE["tune"]), ("BareActor", "bare_actor")):
        if key in title:
            return role
    return None


def _floors(sampler: ProcSampler, folder: Path, concurrent: int) -> None:
    import ray
    from ray import tune

    actors = [ray.remote(num_cpus=0)(BareActor).remote() for _ in range(concurrent)]
    ray.get([a.ping.remote() for a in actors])
    time.sleep(2.0)
    sampler.sample()
    for actor in actors:
        ray.kill(actor)
    trainable = tune.with_resources(bare_tune_trial, {"cpu": 0.05})
    tune.Tuner(trainable, param_space={"reports": 6, "sleep_s": 0.5},
               tune_config=tune.TuneConfig(num_samples=concurrent),
               run_config=tune.RunConfig(storage_path=str(folder / "floor"), verbose=0)).fit()
    deadline = time.monotonic() + 30  # the floor's trial processes end before the study's start
    while time.monotonic() < deadline and any(
            "ImplicitFunc" in _title(pid) for pid in descendants(os.getpid())):
        time.sleep(0.2)


def run(trials: int, concurrent: int, pack_size: int, epochs: int, jets: int,
        folder: Path) -> dict[str, Any]:
    """The floors, then the packed study, sampled; the JSON's dict."""
    import ray

    from jetstudy.study.config import from_dict
    from jetstudy.study.launch import run_study
    from jetstudy.trainables.packed_trial import IMPORTS_ENV

    imports = folder / "imports"
    imports.mkdir()
    os.environ[IMPORTS_ENV] = str(imports)  # before ray.init: the workers inherit it
    cfg = from_dict({
        "data": {"synthetic_jets": jets, "synthetic_seed": 3},
        "space": {"depth": [1, 3], "width": [4, 64]},
        "search": {"num_trials": trials, "max_concurrent": concurrent, "seed": 1},
        "scheduler": {"max_epochs": epochs, "grace_period": epochs, "reduction_factor": 2},
        "training": {"batch_size": 512, "train_eval_jets": 1000},
        "resources": {"num_cpus": 2, "pack_size": pack_size, "max_failures": 0},
        "storage": {"results_dir": str(folder / "results"), "name": "trial-memory"}})
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with ProcSampler(_role, every_s=0.25) as sampler:
            _floors(sampler, folder, concurrent)
            _PHASE["tune"] = "trial"
            start = time.monotonic()
            run_study(cfg)
            study_s = time.monotonic() - start
    finally:
        ray.shutdown()
        os.environ.pop(IMPORTS_ENV, None)
    roles = {role: summarise(sampler.peaks, role)
             for role in ("trial", "pack", "bare_actor", "bare_tune")}
    reported = [json.loads(p.read_text()) for p in sorted(imports.glob("*.json"))]
    trial = roles["trial"]
    minus = {name: (round(trial["uss_mib"] - roles[name]["uss_mib"], 1)
                    if trial and roles[name] else None) for name in ("bare_actor", "bare_tune")}
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "cpus": os.cpu_count(), "trials": trials,
            "concurrent": concurrent, "pack_size": pack_size, "epochs": epochs, "jets": jets,
            "study_s": round(study_s, 1), "live_max": sampler.live_max, **roles,
            "trial_modules": sorted(set().union(*(r["heavy"] for r in reported)))
            if reported else None,
            "trial_modules_reports": len(reported), "trial_minus_floor_mib": minus,
            "ray_titles": sorted(sampler.titles)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--concurrent", type=int, default=4)
    parser.add_argument("--pack-size", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--jets", type=int, default=6000)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    from bench import emit, require_positive

    require_positive(parser, args, ["trials", "concurrent", "pack_size", "epochs", "jets"])
    with tempfile.TemporaryDirectory(prefix="trial-memory-") as tmp, \
            contextlib.redirect_stdout(sys.stderr):  # Tune's tables: stdout is the JSON
        result = run(args.trials, args.concurrent, args.pack_size, args.epochs, args.jets,
                     Path(tmp))
    emit(json.dumps(result, indent=1), args.out)


if __name__ == "__main__":
    main()
