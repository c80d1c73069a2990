"""Hand-made trial folders for the rung-replay tests (rounds 7 and 8): what a killed study
leaves in ``trials/<id>/`` (its epochs, and the ``ended`` / ``passed`` marks), and the ASHA
scheduler of a config."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ray.tune.schedulers import ASHAScheduler


def trial_log(trials: Path, trial_id: str, values: list[float], ended: bool, at: float,
              metric: str = "val_loss", passed: int | None = None) -> None:
    """``trials/<trial_id>`` with one logged epoch per value (the last logged at time ``at``),
    marked ``ended`` after its last epoch and ``passed`` (ASHA's last go-on) at an epoch."""
    folder = trials / trial_id
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"depth": 1, "width_0": 8}))
    (folder / "epochs.jsonl").write_text("".join(
        json.dumps({"epoch": e, metric: v, "n_params": 50}) + "\n"
        for e, v in enumerate(values, start=1)))
    os.utime(folder / "epochs.jsonl", (at, at))  # when its last epoch was logged
    if passed is not None:
        (folder / "passed").write_text(f"{passed}\n")
    if ended:
        (folder / "ended").write_text(f"{len(values)}\n")


def asha(cfg) -> ASHAScheduler:
    sch = cfg.scheduler
    return ASHAScheduler(time_attr="epoch", max_t=sch.max_epochs, grace_period=sch.grace_period,
                         reduction_factor=sch.reduction_factor)
