"""Trial-epochs per second: the plain Ray Tune recipe against a jetstudy study, same data.

    python -m bench.throughput                       # reference study on CUDA, small on CPU
    python -m bench.throughput --jets 20000 --trials 6 --epochs 3 --out bench.json

Synthetic jets are written once (``write_synthetic``) into a temporary folder. The plain recipe
(:mod:`bench.plain_recipe`) runs first, then ``jetstudy.study.launch.run_study`` on a config pointing
``data.path`` at the same files (both split them with the same fractions and seed, so they
train on the same jets). Each run starts and stops its own local Ray, and its clock runs from
before the data are loaded until its tables are written and Ray is shut down: Ray start, trial
scheduling and reporting are all inside the figure.

Prints one JSON object (and writes it to ``--out``): per run the trial-epochs (epochs trained,
summed over trials), wall seconds, trial-epochs/s, a phase breakdown and, on CUDA, GPU
utilisation while trials run and peak GPU memory (device-wide and per process); ``ratio`` is
jetstudy's rate over the plain recipe's.

On CUDA jetstudy runs packed by default (``--pack-size 64``: 64 trials at once in one pack
holding the GPU, ``resources.pack_size``); its ``packs`` entry says how many models each
round trained on average (``mean_round``) and how many of the run's seconds the pack spent
training (``train_s``, against ``trials_s``): where the rest of the time goes.
``--compare-unpacked`` adds the study with trials training themselves (``jetstudy_unpacked``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from bench import emit, groups_arg, require_positive
from pathlib import Path
from typing import Any, Sequence

from ray.tune import Callback

logger = logging.getLogger(__name__)

__all__ = ["GpuMonitor", "PhaseClock", "run_plain", "run_jetstudy", "run_benchmark",
           "jetstudy_config", "code_version", "device_name", "main"]

#: The reference study of the GPU issue: >= 600k training jets (60% of 1M), 64 trials, ASHA.
CUDA_DEFAULTS = {"jets": 1_000_000, "trials": 64, "epochs": 30, "concurrent": 8,
                 "plain_budget_s": 300.0, "pack_size": 64}
#: Small enough for a 2-core CI machine.
CPU_DEFAULTS = {"jets": 20_000, "trials": 6, "epochs": 3, "concurrent": 2,
                "plain_budget_s": None, "pack_size": 0}
VAL_FRACTION = TEST_FRACTION = 0.2
SPLIT_SEED = 0
GRACE_PERIOD, REDUCTION_FACTOR = 2, 3  # jetstudy's scheduler defaults, used by both runs


# --------------------------------------------------------------------------- GPU sampling

class GpuMonitor:
    """Samples GPU utilisation and memory every ``interval_s`` in a background thread.

    Uses ``pynvml`` when importable, else ``nvidia-smi``; does nothing without either (or
    without CUDA), and then every figure is ``None``. Per-process memory (what each Ray worker
    holds: a bound on one trial's memory, since a worker runs its trials one after another)
    comes from the compute-apps query and may be unavailable in containers.
    """

    def __init__(self, interval_s: float = 0.5, enabled: bool = True) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float, float, float | None]] = []  # t, util, MiB, proc
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: Any = None
        self.baseline: tuple[float, float, float | None] | None = None  # before the run
        self.enabled = enabled and self._probe()

    def _probe(self) -> bool:
        try:
            import pynvml  # type: ignore[import-not-found]

            pynvml.nvmlInit()
            self._nvml = pynvml
            return True
        except Exception:
            pass
        return shutil.which("nvidia-smi") is not None and self._smi() is not None

    def _smi(self) -> tuple[float, float, float | None] | None:
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                 "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5,
                check=True).stdout
            rows = [[float(v) for v in line.split(",")] for line in out.strip().splitlines()]
            util = sum(r[0] for r in rows) / len(rows)
            mem = sum(r[1] for r in rows)
        except (OSError, subprocess.SubprocessError, ValueError, ZeroDivisionError):
            return None
        proc = None
        try:
            apps = subprocess.run(
                ["nvidia-smi", "--query-compute-apps=pid,used_memory",
                 "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5,
                check=True).stdout
            used = [float(line.split(",")[1]) for line in apps.strip().splitlines() if line]
            proc = max(used) if used else None
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            pass
        return util, mem, proc

    def _nvml_sample(self) -> tuple[float, float, float | None] | None:
        nv = self._nvml
        try:
            handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(nv.nvmlDeviceGetCount())]
            util = sum(nv.nvmlDeviceGetUtilizationRates(h).gpu for h in handles) / len(handles)
            mem = sum(nv.nvmlDeviceGetMemoryInfo(h).used for h in handles) / 2**20
            used = [p.usedGpuMemory / 2**20 for h in handles
                    for p in nv.nvmlDeviceGetComputeRunningProcesses(h) if p.usedGpuMemory]
            return util, mem, (max(used) if used else None)
        except Exception:
            return None

    def sample(self) -> tuple[float, float, float | None] | None:
        """One reading: (mean utilisation %, memory used MiB summed over GPUs, largest
        per-process MiB or None)."""
        return self._nvml_sample() if self._nvml is not None else self._smi()

    def _loop(self) -> None:
        while not self._stop.is_set():
            reading = self.sample()
            if reading is not None:
                self.samples.append((time.time(), *reading))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> GpuMonitor:
        if self.enabled:
            self.baseline = self.sample()
            self._thread = threading.Thread(target=self._loop, name="gpu-monitor", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        """Mean and max utilisation between ``start`` and ``end`` (epoch seconds; the trials'
        window, or the whole run if that window holds no sample), peak memory over the whole
        run; ``None`` figures when nothing was sampled."""
        window = [s for s in self.samples
                  if (start is None or s[0] >= start) and (end is None or s[0] <= end)]
        if not window and start is not None and end is not None and end >= start:
            window = self.samples  # trials shorter than one sampling interval: the whole run
        util = [s[1] for s in window]
        procs = [s[3] for s in self.samples if s[3] is not None]
        base = self.baseline
        return {
            "gpu_util_mean": round(sum(util) / len(util), 1) if util else None,
            "gpu_util_max": max(util) if util else None,
            "gpu_mem_peak_mib": max(s[2] for s in self.samples) if self.samples else None,
            "gpu_mem_before_mib": base[1] if base else None,
            "gpu_mem_per_process_peak_mib": max(procs) if procs else None,
            "gpu_samples": len(window),
        }


# --------------------------------------------------------------------------- phase timing

class PhaseClock(Callback):
    """A Ray Tune callback noting when the first trial starts and the experiment ends
    (wall-clock seconds), to split a run into set-up, trials and finishing."""

    def __init__(self) -> None:
        self.first_trial: float | None = None
        self.first_result: float | None = None
        self.ended: float | None = None

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if self.first_trial is None:
            self.first_trial = time.time()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if self.first_result is None:
            self.first_result = time.time()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.ended = time.time()


def _phases(t0: float, t1: float, clock: Any) -> dict[str, float | None]:
    def span(a: float | None, b: float | None) -> float | None:
        return round(b - a, 3) if a is not None and b is not None else None

    return {"setup_s": span(t0, clock.first_trial),       # data, Ray start, searcher, 1st trial
            "trials_s": span(clock.first_trial, clock.ended),
            # start to the first epoch reported: set-up plus one trial's first epoch (packed:
            # the packs' warm-up, which overlaps the trials' start, is inside it)
            "first_result_s": span(t0, clock.first_result),
            "finish_s": span(clock.ended, t1)}             # tables, test eval, Ray shutdown


def _rate(trial_epochs: int, wall: float) -> float:
    return round(trial_epochs / wall, 4) if wall > 0 else 0.0


# --------------------------------------------------------------------------- the two runs

def _load_splits(data_dir: Path) -> Any:
    from jetstudy.trainables.data import load_jets, split_jets

    return split_jets(load_jets(str(data_dir)), VAL_FRACTION, TEST_FRACTION, SPLIT_SEED)


def run_plain(data_dir: Path, work: Path, *, trials: int, epochs: int, concurrent: int,
              use_gpu: bool, seed: int = 0, time_budget_s: float | None = None,
              ) -> dict[str, Any]:
    """The plain recipe, end to end in this process: load and split the jets, start Ray,
    tune, count trial-epochs from the ``ResultGrid``, shut Ray down."""
    import ray

    from bench.plain_recipe import plain_tuner, trial_epochs
    from jetstudy.trainables.loop import TrialData
    from jetstudy.study.config import SpaceConfig
    from jetstudy.study.space import SpaceFunction

    repo = str(Path(__file__).resolve().parent.parent)  # the workers import bench.plain_recipe
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # no Tune banner on stdout (the JSON's)
    clock = PhaseClock()
    with GpuMonitor(enabled=use_gpu) as gpu:
        t0 = time.time()
        s = _load_splits(data_dir)
        data = TrialData(s.x_train, s.y_train, s.x_val, s.y_val)
        loaded = time.time()
        ray.init(address="local", include_dashboard=False, log_to_driver=False,
                 logging_level=logging.ERROR,
                 runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                     p for p in (repo, os.environ.get("PYTHONPATH", "")) if p)}})
        ray_ready = time.time()
        try:
            grid = plain_tuner(
                data, space=SpaceFunction(SpaceConfig()), num_trials=trials, max_epochs=epochs,
                max_concurrent=concurrent, grace_period=min(GRACE_PERIOD, epochs),
                reduction_factor=REDUCTION_FACTOR, seed=seed, storage_path=str(work / "plain"),
                use_gpu=use_gpu, time_budget_s=time_budget_s, callbacks=[clock]).fit()
            done, n_trials = trial_epochs(grid)
            errors = sum(r.error is not None for r in grid)
        finally:
            ray.shutdown()
        t1 = time.time()
    wall = t1 - t0
    return {"trial_epochs": done, "trials_run": n_trials, "trials_failed": errors,
            "wall_s": round(wall, 3), "trial_epochs_per_s": _rate(done, wall),
            **_phases(t0, t1, clock), "data_s": round(loaded - t0, 3),
            "ray_init_s": round(ray_ready - loaded, 3),
            "gpus_per_trial": 1 if use_gpu else 0,
            "time_budget_s": time_budget_s,
            **gpu.summary(clock.first_trial, clock.ended)}


def jetstudy_config(data_dir: Path, results: Path, *, trials: int, epochs: int,
                    concurrent: int, use_gpu: bool, seed: int = 0, pack_size: int = 0,
                    pack_groups: int | str = "auto", matmul_precision: str = "auto",
                    time_budget_s: float | None = None) -> Any:
    """The study config of the benchmark: the default search space, ASHA, batch 1024, the
    bench's data; on CUDA ``concurrent`` trials share the GPU (``1/concurrent`` each). With
    ``pack_size`` N, N trials run at once in one pack that holds the GPU; 0 is set explicitly
    (the config's default, ``auto``, would pack on CUDA)."""
    from jetstudy.study.config import from_dict

    resources: dict[str, Any] = {"cpus_per_trial": 1,
                                 "gpus_per_trial": 1 / concurrent if use_gpu else 0,
                                 "pack_size": 0}
    if pack_size:
        concurrent = pack_size
        resources = {"cpus_per_trial": 1, "gpus_per_trial": 1 if use_gpu else 0,
                     "pack_size": pack_size, "pack_groups": pack_groups}
    return from_dict({
        "data": {"path": str(data_dir), "val_fraction": VAL_FRACTION,
                 "test_fraction": TEST_FRACTION, "split_seed": SPLIT_SEED},
        "search": {"num_trials": trials, "max_concurrent": concurrent, "seed": seed,
                   "time_budget_s": time_budget_s},
        "scheduler": {"type": "asha", "max_epochs": epochs,
                      "grace_period": min(GRACE_PERIOD, epochs),
                      "reduction_factor": REDUCTION_FACTOR},
        "training": {"batch_size": 1024, "matmul_precision": matmul_precision},
        "resources": resources,
        "storage": {"results_dir": str(results), "name": "jetstudy" + ("-packed" * bool(pack_size))},
    })


def run_jetstudy(data_dir: Path, work: Path, *, trials: int, epochs: int, concurrent: int,
                 use_gpu: bool, seed: int = 0, pack_size: int = 0,
                 pack_groups: int | str = "auto",
                 matmul_precision: str = "auto", time_budget_s: float | None = None,
                 jets: int | None = None) -> dict[str, Any]:
    """``run_study`` end to end (it loads the jets, starts and stops its own Ray, writes the
    tables and evaluates the best model on test); trial-epochs from ``trials.parquet``; for a
    packed study, the packs' counters (``packs``: rounds, models per round, seconds spent
    training, peak GPU memory)."""
    import pandas as pd

    from jetstudy.study.launch import run_study
    from jetstudy.trainables.device import matmul_precision_for

    cfg = jetstudy_config(data_dir, work, trials=trials, epochs=epochs, concurrent=concurrent,
                          use_gpu=use_gpu, seed=seed, pack_size=pack_size,
                          pack_groups=pack_groups, matmul_precision=matmul_precision,
                          time_budget_s=time_budget_s)
    clock = PhaseClock()
    with GpuMonitor(enabled=use_gpu) as gpu:
        t0 = time.time()
        outcome = run_study(cfg, callbacks=[clock])
        t1 = time.time()
    table = pd.read_parquet(outcome.folder / "trials.parquet")
    done = int(table["epochs"].sum())
    wall = t1 - t0
    phases = _phases(t0, t1, clock)
    packs = _pack_stats(outcome.folder)
    flops = useful_flops(table, jets, cfg.training.train_eval_jets)
    return {"trial_epochs": done, "trials_run": len(table),
            "trials_failed": int((table["status"] == "failed").sum()),
            "wall_s": round(wall, 3), "trial_epochs_per_s": _rate(done, wall),
            **phases, "setup_parts": outcome.setup,
            "gpus_per_trial": cfg.resources.gpus_per_trial,
            "pack_size": cfg.resources.pack_size, "pack_groups": cfg.resources.pack_groups,
            "pack_graphs": cfg.resources.pack_graphs,
            "matmul_precision": cfg.training.matmul_precision,
            "matmul_precision_used": matmul_precision_for(cfg.training.matmul_precision,
                                                          "cuda" if use_gpu else "cpu"),
            "max_concurrent": cfg.search.max_concurrent,
            "time_budget_s": time_budget_s,
            **flop_figures(flops, packs, wall, phases["trials_s"], use_gpu,
                           matmul_precision_for(cfg.training.matmul_precision,
                                                "cuda" if use_gpu else "cpu")),
            "packs": packs,
            **gpu.summary(clock.first_trial, clock.ended)}


def useful_flops(table: Any, jets: int | None, train_eval_jets: int | None) -> float | None:
    """The arithmetic the trials' own models needed (no padding): per trial-epoch, training
    on every training jet (3 forward passes' worth: forward, and backward twice that) and the
    epoch's evaluation (a forward pass over the train-loss jets and the validation split);
    ``flops`` is ``trials.parquet``'s forward FLOPs per jet (2 per multiply-add)."""
    if "flops" not in table or not len(table):
        return None
    n = _split_sizes(jets)
    if n is None:
        return None
    n_train, n_val = n
    n_eval = n_train if train_eval_jets is None else min(int(train_eval_jets), n_train)
    per_jet = table["flops"].fillna(0).astype(float) * table["epochs"].astype(float)
    return float(per_jet.sum()) * (3 * n_train + n_eval + n_val)


def _split_sizes(total: int | None) -> tuple[int, int] | None:
    """(training, validation) jets of the bench's split of ``total`` jets."""
    if total is None:
        return None
    n_val = round(total * VAL_FRACTION)
    return total - n_val - round(total * TEST_FRACTION), n_val


#: Dense peak TFLOP/s of NVIDIA cards by name (spec sheets): (fp32 SIMT, TF32 tensor cores).
#: More specific names first; a card not listed has an unknown peak.
PEAK_TFLOPS: tuple[tuple[str, float, float], ...] = (
    ("H100 PCIe", 51.2, 378.0), ("H100 NVL", 60.0, 417.5), ("H200", 67.0, 494.7),
    ("H100", 67.0, 494.7), ("GH200", 67.0, 494.7), ("A100", 19.5, 156.0),
    ("L40S", 91.6, 183.0), ("L4", 30.3, 60.0), ("A10", 31.2, 62.5),
)


def card_peak_tflops(name: str | None, matmul_precision: str) -> float | None:
    """The card's dense peak for the study's matmuls: fp32 for ``highest``, TF32 for
    ``high``; None for a card not in :data:`PEAK_TFLOPS` (or no GPU)."""
    if not name:
        return None
    for key, fp32, tf32 in PEAK_TFLOPS:
        if key.lower() in name.lower():
            return tf32 if matmul_precision == "high" else fp32
    return None


def flop_figures(flops: float | None, packs: list[dict[str, Any]] | None, wall: float,
                 trials_s: float | None, use_gpu: bool, matmul_precision: str
                 ) -> dict[str, Any]:
    """Useful TFLOP/s end to end and over the trial phase, the card's peak and the share of
    it, and (packed) the padding factor: the packs' arithmetic over the models' own."""
    padded = sum(p.get("padded_flops") or 0 for p in packs) if packs else None
    name = device_name(True) if use_gpu else None
    peak = card_peak_tflops(name, matmul_precision)
    tf_trials = flops / trials_s / 1e12 if flops is not None and trials_s else None
    return {
        "useful_tflop": _sig(flops / 1e12 if flops is not None else None),
        "useful_tflops_per_s": _sig(flops / wall / 1e12 if flops is not None and wall else None),
        "useful_tflops_per_s_trials": _sig(tf_trials),
        "peak_tflops": peak,
        "peak_kind": ("unknown" if peak is None else
                      "TF32 dense" if matmul_precision == "high" else "fp32 dense"),
        "share_of_peak_trials": _sig(tf_trials / peak if tf_trials is not None and peak
                                     else None),
        "padding_factor": round(padded / flops, 2) if padded and flops else None,
    }


def _sig(x: float | None, digits: int = 4) -> float | None:
    """``x`` to ``digits`` significant digits (the FLOP figures span many decades)."""
    return None if x is None else float(f"{x:.{digits}g}")


def _pack_stats(folder: Path) -> list[dict[str, Any]] | None:
    """The packs' counters, with the mean models per round; None for an unpacked study."""
    path = folder / "packs.json"
    if not path.is_file():
        return None
    packs = json.loads(path.read_text())
    for pack in packs:
        pack["mean_round"] = (round(pack["trial_epochs"] / pack["rounds"], 2)
                              if pack["rounds"] else None)
    return packs


def code_version() -> str | None:
    """The repository's commit (``+dirty`` with local changes), so a figure names its code."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, timeout=10,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, timeout=10, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def device_name(cuda: bool) -> str:
    """The GPU's name, or the CPU model and core count."""
    if cuda:
        import torch

        return torch.cuda.get_device_name(0)
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({os.cpu_count()} cores, CPU only)"


def run_benchmark(*, jets: int, trials: int, epochs: int, concurrent: int, cuda: bool,
                  plain_budget_s: float | None = None, skip_plain: bool = False,
                  seed: int = 0, work_dir: str | None = None, pack_size: int = 0,
                  compare_unpacked: bool = False, pack_groups: int | str = "auto",
                  matmul_precision: str = "auto", time_budget_s: float | None = None,
                  ) -> dict[str, Any]:
    """Write the jets once, run both recipes on them, return the JSON-ready result."""
    import ray
    import torch

    from jetstudy.trainables.synth import write_synthetic

    work = Path(tempfile.mkdtemp(prefix="jetstudy-bench-", dir=work_dir))
    try:
        data_dir = work / "data"
        write_synthetic(data_dir, jets, seed=1)
        kwargs = dict(trials=trials, epochs=epochs, concurrent=concurrent, use_gpu=cuda,
                      seed=seed)
        plain = None
        if not skip_plain:
            logger.info("plain recipe: %d trials, %d epochs max", trials, epochs)
            plain = run_plain(data_dir, work, time_budget_s=plain_budget_s, **kwargs)
        unpacked = None
        if pack_size and compare_unpacked:
            logger.info("jetstudy unpacked: %d trials, %d epochs max", trials, epochs)
            unpacked = run_jetstudy(data_dir, work, matmul_precision=matmul_precision,
                                    time_budget_s=time_budget_s, jets=jets, **kwargs)
        logger.info("jetstudy: %d trials, %d epochs max, pack size %d", trials, epochs,
                    pack_size)
        study = run_jetstudy(data_dir, work, pack_size=pack_size, pack_groups=pack_groups,
                             matmul_precision=matmul_precision, time_budget_s=time_budget_s,
                             jets=jets, **kwargs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n_train = jets - round(jets * VAL_FRACTION) - round(jets * TEST_FRACTION)
    ratio = (round(study["trial_epochs_per_s"] / plain["trial_epochs_per_s"], 3)
             if plain and plain["trial_epochs_per_s"] > 0 else None)
    return {
        "benchmark": "throughput",
        "device": device_name(cuda),
        "cuda": cuda,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"jetstudy": code_version(), "ray": ray.__version__,
                     "torch": torch.__version__, "python": platform.python_version()},
        "jets": jets, "train_jets": n_train, "batch_size": 1024,
        "trials": trials, "max_epochs": epochs, "concurrent": concurrent,
        "scheduler": f"asha grace_period={min(GRACE_PERIOD, epochs)} "
                     f"reduction_factor={REDUCTION_FACTOR}",
        "timed": "end to end per run: data load, Ray start, trials, result tables "
                 "(jetstudy: + test evaluation), Ray shutdown",
        "plain": plain,
        "jetstudy": study,
        "jetstudy_unpacked": unpacked,
        "ratio": ratio,
    }


def _parse(argv: Sequence[str] | None, cuda: bool) -> argparse.Namespace:
    d = CUDA_DEFAULTS if cuda else CPU_DEFAULTS
    p = argparse.ArgumentParser(prog="python -m bench.throughput",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--jets", type=int, default=d["jets"],
                   help=f"jets generated, 60%% train (default {d['jets']})")
    p.add_argument("--trials", type=int, default=d["trials"])
    p.add_argument("--epochs", type=int, default=d["epochs"], help="max epochs of a trial")
    p.add_argument("--concurrent", type=int, default=d["concurrent"],
                   help="trials at once (jetstudy: they share the GPU; plain: 1 GPU each)")
    p.add_argument("--plain-budget-s", type=float, default=d["plain_budget_s"],
                   help="stop the plain recipe after this many seconds (its rate is what it "
                        "trained by then); default: none on CPU, 300 on CUDA")
    p.add_argument("--skip-plain", action="store_true", help="run only jetstudy")
    p.add_argument("--pack-size", type=int, default=d["pack_size"],
                   help="jetstudy trains this many trials at once in one pack holding the "
                        f"device (resources.pack_size); 0: trials train themselves, "
                        f"--concurrent at once (default {d['pack_size']})")
    p.add_argument("--pack-groups", type=groups_arg, default="auto",
                   help="resources.pack_groups of the packed study: auto (the split that "
                        "costs least on the device) or a number (default: %(default)s)")
    p.add_argument("--matmul-precision", choices=["auto", "highest", "high"], default="auto",
                   help="training.matmul_precision of jetstudy's study (auto: TF32 on CUDA, "
                        "highest: exact fp32)")
    p.add_argument("--time-budget-s", type=float, default=None,
                   help="stop jetstudy's study after this many seconds (search.time_budget_s; "
                        "its rate is what it trained by then); default: none")
    p.add_argument("--compare-unpacked", action="store_true",
                   help="with --pack-size, also run jetstudy unpacked (jetstudy_unpacked)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON to this file")
    args = p.parse_args(argv)
    require_positive(p, args, ("jets", "trials", "epochs", "concurrent"))
    if args.pack_size < 0:
        p.error(f"--pack-size must be >= 0, got {args.pack_size}")
    if args.jets < 1000:
        p.error(f"--jets must be >= 1000 so every split holds every class, got {args.jets}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("ray", "jetstudy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cuda = torch.cuda.is_available()
    args = _parse(argv, cuda)
    result = run_benchmark(jets=args.jets, trials=args.trials, epochs=args.epochs,
                           concurrent=args.concurrent, cuda=cuda,
                           plain_budget_s=args.plain_budget_s, skip_plain=args.skip_plain,
                           seed=args.seed, pack_size=args.pack_size,
                           compare_unpacked=args.compare_unpacked,
                           pack_groups=args.pack_groups,
                           matmul_precision=args.matmul_precision,
                           time_budget_s=args.time_budget_s)
    emit(json.dumps(result, indent=2), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
