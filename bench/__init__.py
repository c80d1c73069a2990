"""Benchmarks of jetstudy against the plain Ray Tune recipe (see bench/README.md).

* :mod:`bench.throughput` — trial-epochs/s of both on the same jets, GPU utilisation and memory;
* :mod:`bench.driver_memory` — the driver's memory over a study of many tiny trials;
* :mod:`bench.plain_recipe` — the baseline trainable and Tuner, as Ray's tutorials write them;
* :mod:`bench.packed` — model-epochs/s of the packed trainer against one Trainer per model;
* :mod:`bench.trial_memory` — one packed trial process's memory against a bare Ray worker;
* :mod:`bench.many_packs` — many packed trials at once on a simulated multi-GPU cluster (what it
  reads in the driver: :mod:`bench.driver_clock`; its fits and extrapolation:
  :mod:`bench.many_packs_fit`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

__all__ = ["require_positive", "groups_arg", "emit"]


def require_positive(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     names: Iterable[str]) -> None:
    """Refuse a count below 1 (``--name must be >= 1, got 0``), as argparse refuses types."""
    for name in names:
        values = getattr(args, name)
        if min(values if isinstance(values, list) else [values]) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {values}")


def groups_arg(text: str) -> int | str:
    """An argparse type for ``resources.pack_groups``: ``auto`` or an integer >= 1."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be auto or an integer >= 1, got {text!r}")
    return value


def emit(text: str, out: str | None) -> None:
    """Print the benchmark's JSON and, with ``--out``, write it to that file too."""
    if out:
        Path(out).write_text(text + "\n")
    print(text)
