"""The Ray Tune function trainable: the only place in ``trainables`` that talks to Ray.

It picks the device Ray gave the trial, builds a :class:`~jetstudy.trainables.loop.Trainer`, resumes
from the trial's own checkpoint if there is one, and reports each epoch with
``ray.tune.report``.

Lives in an importable module because Ray pickles trainables by reference.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from ray import tune

from jetstudy.trainables.checkpoint import load_checkpoint, sync_best, write_epoch
from jetstudy.trainables.device import pick_device, set_matmul_precision
from jetstudy.trainables.loop import (Trainer, TrainSettings, TrialData, TrialDiverged,
                                     arch_from_params, fit, hyperparams_from_params)
from jetstudy.trainables.trialfiles import (BEST_FILE, STATE_FILE, diverged_before, for_tune,
                                            has_ended, mark_diverged, seed_for, trial_folder)

__all__ = ["run_trial", "pick_device"]

logger = logging.getLogger(__name__)


def run_trial(config: dict[str, Any], data: TrialData, settings: TrainSettings) -> None:
    """Train one configuration, reporting every epoch to Ray Tune.

    The trial checkpoints itself to ``settings.state_dir/<trial id>/state.pt`` instead of
    handing Tune checkpoints: with Tune's ``num_to_keep``, a driver killed between deleting an
    old checkpoint and saving its experiment state resumes onto a checkpoint that no longer
    exists. When Tune restarts a trial (driver resumed, worker lost), the trial continues from
    its own state; one that had already ended only repeats its last result. The best epoch's
    weights go to ``best.pt`` whenever they improve, before the epoch's line is logged.
    """
    torch.set_num_threads(settings.torch_threads)
    trial_id = tune.get_context().get_trial_id() or "local"
    device = pick_device(settings.device)
    set_matmul_precision(settings.matmul_precision, device)
    arch = arch_from_params(config, n_inputs=data.x_train.shape[1])
    hp = hyperparams_from_params(config)
    folder = trial_folder(settings.state_dir, trial_id, config)
    earlier = diverged_before(settings.state_dir, trial_id)
    if earlier is not None:  # Tune's restart (max_failures) would only diverge again
        mark_diverged(settings.state_dir, trial_id, "restarted: not trained again")
        raise TrialDiverged(earlier)
    path = folder / STATE_FILE
    resume_state = None
    if path.is_file():
        resume_state = load_checkpoint(path, map_location=device)
        last = resume_state["last_metrics"]
        if has_ended(settings.state_dir, trial_id, resume_state["trainer"]["epoch"],
                     settings.max_epochs, converged=bool(last.get("converged"))):
            tune.report(for_tune(last))  # nothing left to train
            return
        sync_best(folder / BEST_FILE, resume_state)  # epochs after it are trained again
    trainer = Trainer(arch, hp, settings, data, device, seed=seed_for(config, settings.seed, trial_id))

    def report(metrics: dict[str, Any], state: dict[str, Any] | None,
               best: dict[str, Any] | None) -> None:
        write_epoch(settings.state_dir, trial_id, metrics, best=best, arch=trainer.arch.to_dict(),
                    state=None if state is None else {**state, "last_metrics": metrics},
                    device=device.type)
        tune.report(for_tune(metrics))

    try:
        fit(trainer, report, resume_state)
    except TrialDiverged as exc:
        mark_diverged(settings.state_dir, trial_id, str(exc))
        raise
