"""Model-epochs per second: M models packed in one ``PackedTrainer`` against M ``Trainer``s
run one after another, on the same jets and device.

    python -m bench.packed                                   # CUDA if available, else CPU
    python -m bench.packed --models 1 4 16 64 --jets 1000000 --epochs 3
    python -m bench.packed --models 4 16 --jets 20000 --epochs 2 --groups 1 4 --out packed.json

The M configurations are drawn from the default search space (depth 1-6, widths 8-256 on a log
scale, dropout 0-0.5, L1/L2 1e-7..1e-3 and lr 1e-4..1e-2 on log scales, relu) with a seeded
RNG; the pack is padded to the space's bounds (6 x 256), as a per-GPU actor serving any trial
of the study would be. A model-epoch is one training pass plus one ``evaluate`` (what a trial
reports each epoch); building the trainers (data upload, initialisation) is timed apart as
``*_setup_s``, and one untimed epoch of each path first warms up the device (CUDA context,
cuBLAS handles, the caching allocator).

``--groups 1 4 auto`` also times the pack split into 4 calls of similar models (sorted by widest
layer, then depth) and into the calls ``resources.pack_groups: auto`` picks on the device
(``jetstudy.trainables.pack_groups``; ``calls`` says how many), sharing each epoch's
permutation: with ``trim`` each call pads only to its own models, trading kernel launches for
arithmetic; the best count is the headline.

Prints one JSON object per M (and writes the list to ``--out``). ``--sequential-cap K`` times
only the first K Trainers (their rate stands for all M: on CUDA, 256 Trainers x 30 epochs take
hours). Rates on a CPU say nothing about a GPU: there the pack wins by cutting kernel launches
and host round trips, which a CPU does not pay.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from bench import groups_arg, require_positive
from jetstudy.study.config import from_dict
from jetstudy.study.settings import train_settings
from jetstudy.trainables.data import Standardiser
from jetstudy.trainables.loop import (Trainer, TrainSettings, TrialData, TrialDiverged,
                             arch_from_params, hyperparams_from_params)
from jetstudy.trainables.packed import PackedTrainer
from jetstudy.trainables.synth import sample_jets

__all__ = ["sample_configs", "make_data", "time_packed", "time_sequential", "main"]

logger = logging.getLogger(__name__)

#: CUDA: the reference study's data (1M jets, 60% train); CPU: a 2-core CI size.
CUDA_DEFAULTS = {"models": [1, 4, 16, 64, 256], "jets": 1_000_000, "epochs": 2,
                 "sequential_cap": 8}
CPU_DEFAULTS = {"models": [1, 4, 16], "jets": 20_000, "epochs": 2, "sequential_cap": None}
MAX_DEPTH, MAX_WIDTH = 6, 256  # the default space's bounds
TRAIN_FRACTION, VAL_FRACTION = 0.6, 0.2


def sample_configs(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` trial configs of the default search space, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)

    def log_uniform(lo: float, hi: float) -> float:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    configs = []
    for _ in range(n):
        depth = int(rng.integers(1, MAX_DEPTH + 1))
        config: dict[str, Any] = {"depth": depth, "activation": "relu", "batch_norm": False,
                                  "dropout": float(rng.uniform(0.0, 0.5)),
                                  "l1": log_uniform(1e-7, 1e-3), "l2": log_uniform(1e-7, 1e-3),
                                  "lr": log_uniform(1e-4, 1e-2)}
        for i in range(depth):
            config[f"width_{i}"] = min(MAX_WIDTH, int(round(log_uniform(8, MAX_WIDTH))))
        configs.append(config)
    return configs


def make_data(jets: int, seed: int) -> TrialData:
    """Synthetic jets split 60/20 (train/val; the test fifth is not needed), standardised on
    the training part."""
    x, y = sample_jets(jets, seed=seed)
    n_train, n_val = int(jets * TRAIN_FRACTION), int(jets * VAL_FRACTION)
    scaler = Standardiser.fit(x[:n_train])
    xs = scaler.transform(x[:n_train + n_val])
    return TrialData(x_train=xs[:n_train], y_train=y[:n_train], x_val=xs[n_train:],
                     y_val=y[n_train:n_train + n_val])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mib(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def time_packed(data: TrialData, settings: TrainSettings, device: torch.device,
                configs: list[dict[str, Any]], epochs: int, seed: int,
                groups: int | str = 1, graphs: bool = False) -> dict[str, Any]:
    """Build one pack of all ``configs``, then ``epochs`` x (train_epoch + evaluate), the
    models split into ``groups`` calls of similar size (``"auto"``: the calls that cost least,
    as a study's pack picks them) that share each epoch's permutation."""
    _reset_peak(device)
    start = time.perf_counter()
    pt = PackedTrainer(data, settings, device, MAX_DEPTH, MAX_WIDTH, capacity=len(configs),
                       seed=seed, graphs=graphs)
    slots = [pt.add(c, seed=seed + i) for i, c in enumerate(configs)]
    _sync(device)
    setup = time.perf_counter() - start
    train = evaluate = 0.0
    diverged = 0
    for _ in range(epochs):
        t0 = time.perf_counter()
        losses = pt.train_epoch(slots, groups=groups)
        t1 = time.perf_counter()
        pt.evaluate(slots, groups=groups)
        t2 = time.perf_counter()
        train, evaluate = train + t1 - t0, evaluate + t2 - t1
        diverged = sum(math.isnan(v) for v in losses.values())
    return {"setup_s": setup, "train_s": train, "eval_s": evaluate, "diverged": diverged,
            "calls": len(pt.groups(slots, groups)), "peak_gpu_mib": _peak_mib(device)}


def time_sequential(data: TrialData, settings: TrainSettings, device: torch.device,
                    configs: list[dict[str, Any]], epochs: int, seed: int) -> dict[str, Any]:
    """One ``Trainer`` per config, one after another, each ``epochs`` x (train + evaluate)."""
    _reset_peak(device)
    setup = train = evaluate = 0.0
    for i, config in enumerate(configs):
        t0 = time.perf_counter()
        trainer = Trainer(arch_from_params(config), hyperparams_from_params(config), settings,
                          data, device, seed=seed + i)
        _sync(device)
        setup += time.perf_counter() - t0
        for _ in range(epochs):
            t0 = time.perf_counter()
            try:
                trainer.train_epoch()
            except TrialDiverged:  # the trial would end here
                break
            t1 = time.perf_counter()
            trainer.evaluate()
            t2 = time.perf_counter()
            train, evaluate = train + t1 - t0, evaluate + t2 - t1
        del trainer
    return {"setup_s": setup, "train_s": train, "eval_s": evaluate,
            "peak_gpu_mib": _peak_mib(device)}


def bench_settings(epochs: int, batch_size: int, seed: int) -> TrainSettings:
    """A default study's training settings at the bench's size, built as a study builds them
    (:func:`jetstudy.study.settings.train_settings`). The bench picks the device and TF32
    (``--tf32``) itself and writes no trial files, so ``device``, ``matmul_precision`` and
    ``state_dir`` go unused."""
    cfg = from_dict({"scheduler": {"type": "fifo", "max_epochs": epochs, "grace_period": 1},
                     "training": {"batch_size": batch_size}, "search": {"seed": seed}})
    return train_settings(cfg, Path("bench-unused"))


def run(models: Sequence[int], jets: int, epochs: int, device: torch.device,
        sequential_cap: int | None, batch_size: int, seed: int,
        groups: Sequence[int | str] = (1,), graphs: bool = False) -> list[dict[str, Any]]:
    """One result per M in ``models``."""
    data = make_data(jets, seed)
    settings = bench_settings(epochs, batch_size, seed)
    warm = sample_configs(1, seed + 999)
    time_packed(data, settings, device, warm, 1, seed)
    time_sequential(data, settings, device, warm, 1, seed)
    results = []
    for m in models:
        configs = sample_configs(m, seed)
        groups_m = [g for g in groups if g == "auto" or g <= m]
        by_groups = {g: time_packed(data, settings, device, configs, epochs, seed, g)
                     for g in groups_m}
        graphed, graphs_error = {}, None
        if graphs:
            try:
                graphed = {g: time_packed(data, settings, device, configs, epochs, seed, g,
                                          True) for g in groups_m}
            except Exception as exc:  # an experimental path: keep the eager figures
                logger.exception("the CUDA-graph pack failed")
                graphs_error = repr(exc)[:500]
        n_seq = m if sequential_cap is None else min(m, sequential_cap)
        seq = time_sequential(data, settings, device, configs[:n_seq], epochs, seed)
        rates = {g: m * epochs / (r["train_s"] + r["eval_s"]) for g, r in by_groups.items()}
        best = max(rates, key=rates.get)
        packed, packed_rate = by_groups[best], rates[best]
        seq_rate = n_seq * epochs / (seq["train_s"] + seq["eval_s"])
        result = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"cpu ({torch.get_num_threads()} torch threads)",
            "models": m, "jets": jets, "train_jets": len(data.x_train), "epochs": epochs,
            "batch_size": batch_size, "packed_model_epochs_per_s": round(packed_rate, 3),
            "sequential_model_epochs_per_s": round(seq_rate, 3),
            "speedup": round(packed_rate / seq_rate, 2), "packed_groups": best,
            "packed_model_epochs_per_s_by_groups": {g: round(r, 3) for g, r in rates.items()},
            # the same pack with each call's step replayed as a CUDA graph (--graphs)
            "graphs_model_epochs_per_s_by_groups": {
                g: round(m * epochs / (r["train_s"] + r["eval_s"]), 3)
                for g, r in graphed.items()} or None,
            "graphs_train_s_by_groups": {g: round(r["train_s"], 3)
                                         for g, r in graphed.items()} or None,
            "graphs_error": graphs_error,
            # calls per round for each --groups (auto: what the chooser picked, eager/graphs)
            "calls_by_groups": {g: r["calls"] for g, r in by_groups.items()},
            "graphs_calls_by_groups": {g: r["calls"] for g, r in graphed.items()} or None,
            "packed": {k: round(v, 3) if isinstance(v, float) else v for k, v in packed.items()},
            "sequential": {k: round(v, 3) if isinstance(v, float) else v
                           for k, v in seq.items()},
            "sequential_models_timed": n_seq,
            "peak_gpu_mib": packed["peak_gpu_mib"],
        }
        logger.info("M=%d packed %.2f vs sequential %.2f model-epochs/s", m, packed_rate,
                    seq_rate)
        print(json.dumps(result), flush=True)
        results.append(result)
    return results


def _parse(argv: Sequence[str] | None, cuda: bool) -> argparse.Namespace:
    defaults = CUDA_DEFAULTS if cuda else CPU_DEFAULTS
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=int, nargs="+", default=defaults["models"],
                   help="numbers of models M to pack (default: %(default)s)")
    p.add_argument("--jets", type=int, default=defaults["jets"],
                   help="synthetic jets, 60%% train, 20%% val (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=defaults["epochs"])
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--sequential-cap", type=int, default=defaults["sequential_cap"],
                   help="time at most this many sequential Trainers (default: %(default)s)")
    p.add_argument("--groups", type=groups_arg, nargs="+", default=[1],
                   help="also time the pack split into this many calls of similar models, or "
                        "auto: the calls resources.pack_groups auto picks (the best is "
                        "reported; default: %(default)s)")
    p.add_argument("--graphs", action="store_true",
                   help="also time the pack with its training step replayed as a CUDA graph "
                        "(PackedTrainer(graphs=True); the same as eager on the CPU)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--tf32", action="store_true",
                   help="allow TF32 matmuls on CUDA for both paths (faster, ~1e-3 precision)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads, as training.torch_threads (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the list of results to this JSON file")
    args = p.parse_args(argv)
    require_positive(p, args, ("jets", "epochs", "batch_size", "threads", "models"))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("jetstudy.trainables").setLevel(logging.ERROR)  # diverged-slot warnings
    cuda = torch.cuda.is_available()
    args = _parse(argv, cuda)  # CUDA sizes by default whenever CUDA is visible
    device = torch.device("cuda" if cuda and args.device != "cpu" else "cpu")
    if args.device == "cuda" and not cuda:
        raise SystemExit("--device cuda, but no CUDA device is visible")
    torch.set_num_threads(args.threads)  # more threads than free cores makes every op wait
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
    results = run(args.models, args.jets, args.epochs, device, args.sequential_cap,
                  args.batch_size, args.seed, args.groups, args.graphs)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
