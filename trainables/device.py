"""Which device a trial or pack computes on, and its matmul precision (no Ray import at
module level: a pack imports this without the trial modules)."""

from __future__ import annotations

import logging

import torch

__all__ = ["pick_device", "matmul_precision_for", "set_matmul_precision"]

logger = logging.getLogger(__name__)

#: ``training.matmul_precision`` values: ``auto`` is ``high`` (TF32) on CUDA, ``highest`` on
#: the CPU, where the setting changes nothing.
MATMUL_PRECISIONS = ("auto", "highest", "high")


def pick_device(requested: str) -> torch.device:
    """``cuda`` when Ray assigned this trial a GPU (or ``requested == "cuda"``), else CPU.

    Ray sets ``CUDA_VISIBLE_DEVICES`` to the trial's GPUs, so ``cuda`` means the right card.
    """
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available() and (requested == "cuda" or _ray_gpu_ids()):
        return torch.device("cuda")
    if requested == "cuda":
        raise RuntimeError("training.device is 'cuda' but this worker sees no CUDA device")
    return torch.device("cpu")


def _ray_gpu_ids() -> list:
    import ray  # local: only needed when running under Ray

    try:
        return list(ray.get_gpu_ids())
    except Exception:  # not in a Ray worker
        return []


def matmul_precision_for(requested: str, device: torch.device) -> str:
    """The ``torch.set_float32_matmul_precision`` value for ``training.matmul_precision``:
    ``auto`` becomes ``high`` (TF32 matmuls, 10-bit mantissa) on CUDA, ``highest`` else."""
    if requested not in MATMUL_PRECISIONS:
        raise ValueError(f"training.matmul_precision must be one of "
                         f"{', '.join(MATMUL_PRECISIONS)}, got {requested!r}")
    if requested == "auto":
        return "high" if torch.device(device).type == "cuda" else "highest"
    return requested


def set_matmul_precision(requested: str, device: torch.device) -> str:
    """Apply :func:`matmul_precision_for` to this process; returns the value set."""
    value = matmul_precision_for(requested, device)
    torch.set_float32_matmul_precision(value)
    return value
