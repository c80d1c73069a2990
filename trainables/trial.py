"""The Ray Tune function trainable: the only place in ``trainables`` that talks to Ray.

It picks the device Ray gave the trial, builds a :class:`~trainables.loop.Trainer`, resumes
from the trial's checkpoint if Tune restored one, and reports each epoch with
``ray.tune.report`` (with a checkpoint every ``checkpoint_every`` epochs).

Lives in an importable module because Ray pickles trainables by reference.
"""

from __future__ import annotations

import logging
import os
import tempfile
import zlib
from typing import Any

import torch
from ray import tune

from trainables.loop import Hyperparams, Trainer, TrainSettings, TrialData, arch_from_params, fit

__all__ = ["run_trial", "pick_device", "trial_seed", "STATE_FILE"]

logger = logging.getLogger(__name__)

#: The file inside each Tune checkpoint directory.
STATE_FILE = "state.pt"


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


def trial_seed(study_seed: int, trial_id: str) -> int:
    """A per-trial seed that is stable across restarts of the same trial."""
    return (study_seed * 1_000_003 + zlib.crc32(trial_id.encode())) % (2**31)


def run_trial(config: dict[str, Any], data: TrialData, settings: TrainSettings) -> None:
    """Train one configuration, reporting every epoch to Ray Tune."""
    torch.set_num_threads(settings.torch_threads)
    trial_id = tune.get_context().get_trial_id() or "local"
    device = pick_device(settings.device)
    arch = arch_from_params(config, n_inputs=data.x_train.shape[1])
    hp = Hyperparams(lr=float(config["lr"]), l1=float(config.get("l1", 0.0)),
                     l2=float(config.get("l2", 0.0)))
    trainer = Trainer(arch, hp, settings, data, device, seed=trial_seed(settings.seed, trial_id))

    resume_state = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            resume_state = torch.load(os.path.join(folder, STATE_FILE), map_location=device,
                                      weights_only=False)

    def report(metrics: dict[str, Any], state: dict[str, Any] | None) -> None:
        if state is None:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory() as folder:
            torch.save(state, os.path.join(folder, STATE_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    fit(trainer, report, resume_state)
