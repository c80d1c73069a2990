"""A trial's checkpoint files on disk: the resumable state and the best epoch's weights.

Both are written atomically (a kill never leaves half a file) and hold only tensors and plain
types, so they load with ``torch.load(..., weights_only=True)``:

* ``state.pt`` (:data:`~jetstudy.trainables.trialfiles.STATE_FILE`): ``trainer`` (``model``,
  ``optimizer``, ``epoch``, and for a self-training trial its RNG states), ``best``
  (``epoch``, ``value``, ``model``), ``arch``, ``elapsed_s``, ``last_metrics``;
* ``best.pt`` (:data:`~jetstudy.trainables.trialfiles.BEST_FILE`): ``epoch``, ``value``, ``model``
  (``build_mlp``'s ``state_dict``), ``arch``, rewritten whenever the best epoch improves.

The state carries the best weights too, so a trial resumed from an older state can put
``best.pt`` back in step with the epochs it will train again (:func:`sync_best`).
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import torch

from jetstudy.trainables.atomic import write_bytes_atomic
from jetstudy.trainables.trialfiles import append_epoch, best_path, state_path

__all__ = ["save_state", "load_checkpoint", "save_best", "sync_best", "write_epoch"]

logger = logging.getLogger(__name__)


def save_state(state: dict[str, Any], path: Path) -> None:
    """Atomically replace a checkpoint file. The folder must exist (see
    :func:`~jetstudy.trainables.trialfiles.trial_folder`)."""
    buffer = io.BytesIO()  # torch.save to a path aborts the process on a full disk (EFBIG)
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """A ``state.pt`` or ``best.pt`` (tensors and plain types only)."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)


def save_best(path: Path, best: dict[str, Any], arch: dict[str, Any]) -> None:
    """Write ``best.pt`` from a best record (``epoch``, ``value``, ``model`` on the CPU)."""
    save_state({"epoch": int(best["epoch"]), "value": best["value"], "model": best["model"],
                "arch": arch}, path)


def sync_best(path: Path, state: dict[str, Any]) -> None:
    """On resume from ``state``: make ``best.pt`` hold the state's best epoch.

    Epochs trained after the state was written are trained again, so a ``best.pt`` written in
    between (its epoch beyond the state's) or missing is replaced by the state's own best."""
    best = state.get("best") or {}
    if best.get("model") is None:
        return
    path = Path(path)
    if path.is_file():
        try:
            on_disk = load_checkpoint(path)
            if int(on_disk["epoch"]) == int(best["epoch"]):
                return
        except Exception:  # unreadable: rewrite it
            logger.warning("%s is unreadable; rewriting it from the trial's state", path)
    save_best(path, best, state["arch"])


def write_epoch(state_dir: str, trial_id: str, metrics: dict[str, Any], *,
                state: dict[str, Any] | None = None, best: dict[str, Any] | None = None,
                arch: dict[str, Any] | None = None, **extra: Any) -> None:
    """One epoch's files, in this order: ``best.pt`` when ``best`` (the epoch improved the
    best; ``arch`` its architecture), the epoch's line (``metrics`` and ``extra``), then
    ``state.pt`` when ``state`` is given. So the epoch log never names a best epoch whose
    weights are not on disk, whatever ``checkpoint_every`` says. Used by the self-training
    trial and the pack alike."""
    if best is not None:
        if arch is None:
            raise ValueError("write_epoch: a new best needs its arch")
        save_best(best_path(state_dir, trial_id), best, arch)
    append_epoch(state_dir, trial_id, metrics, **extra)
    if state is not None:
        save_state(state, state_path(state_dir, trial_id))
