"""The Ray Tune function trainable: the only place in ``trainables`` that talks to Ray.

It picks the device Ray gave the trial, builds a :class:`~trainables.loop.Trainer`, resumes
from the trial's own checkpoint if there is one, and reports each epoch with
``ray.tune.report``.

Lives in an importable module because Ray pickles trainables by reference.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

import torch
from ray import tune

from trainables.loop import Hyperparams, Trainer, TrainSettings, TrialData, arch_from_params, fit

__all__ = ["run_trial", "pick_device", "trial_seed", "state_path", "ended_marker", "save_state",
           "read_epochs", "STATE_FILE", "ENDED_FILE", "EPOCHS_FILE", "CONFIG_FILE"]

logger = logging.getLogger(__name__)

#: What each epoch tells Ray Tune (ASHA, Optuna, the progress line). The full record goes to
#: the trial's own epoch log; fewer keys keep Tune's per-trial bookkeeping in the driver small.
TUNE_KEYS: tuple[str, ...] = ("epoch", "train_loss", "val_loss", "val_acc", "val_auc")

#: The trial's resumable state (model, optimiser, RNG, best epoch), in its own folder.
STATE_FILE = "state.pt"
#: One JSON line per trained epoch, appended as the trial goes (the trial's own learning curve:
#: Tune's result logs restart when Tune restarts a trial).
EPOCHS_FILE = "epochs.jsonl"
#: The trial's configuration, so the tables can list it even if Tune lost track of it.
CONFIG_FILE = "config.json"
#: Marks a trial Ray Tune has finished, so a restarted driver does not train it again.
ENDED_FILE = "ended"


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


def state_path(state_dir: str, trial_id: str) -> Path:
    """Where a trial keeps its resumable state (under the shared results folder)."""
    return Path(state_dir) / trial_id / STATE_FILE


def ended_marker(state_dir: str, trial_id: str) -> Path:
    """Written by the driver when Tune has finished a trial (see ``study.ledger``)."""
    return Path(state_dir) / trial_id / ENDED_FILE


def read_epochs(state_dir: str, trial_id: str) -> list[dict[str, Any]]:
    """The trial's per-epoch metrics, one entry per epoch (the latest when an epoch was trained
    twice, i.e. after a restart from an earlier checkpoint)."""
    path = Path(state_dir) / trial_id / EPOCHS_FILE
    if not path.is_file():
        return []
    by_epoch: dict[int, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash
            continue
        by_epoch[int(row["epoch"])] = row
    return [by_epoch[e] for e in sorted(by_epoch)]


def save_state(state: dict[str, Any], path: Path) -> None:
    """Atomically replace the trial's state file: a kill never leaves half a checkpoint.
    The folder must exist (``run_trial`` makes it only under a results folder it can see)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _for_tune(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in TUNE_KEYS}


def run_trial(config: dict[str, Any], data: TrialData, settings: TrainSettings) -> None:
    """Train one configuration, reporting every epoch to Ray Tune.

    The trial checkpoints itself to ``settings.state_dir/<trial id>/state.pt`` instead of
    handing Tune checkpoints: with Tune's ``num_to_keep``, a driver killed between deleting an
    old checkpoint and saving its experiment state resumes onto a checkpoint that no longer
    exists. When Tune restarts a trial (driver resumed, worker lost), the trial continues from
    its own state; one that had already ended only repeats its last result.
    """
    torch.set_num_threads(settings.torch_threads)
    trial_id = tune.get_context().get_trial_id() or "local"
    device = pick_device(settings.device)
    arch = arch_from_params(config, n_inputs=data.x_train.shape[1])
    hp = Hyperparams(lr=float(config["lr"]), l1=float(config.get("l1", 0.0)),
                     l2=float(config.get("l2", 0.0)))
    if not Path(settings.state_dir).is_dir():  # e.g. a node added later by the autoscaler
        raise RuntimeError(f"this node cannot see {settings.state_dir}: storage.results_dir "
                           f"must be a path mounted on every node (see docs/cluster.md)")
    path = state_path(settings.state_dir, trial_id)
    path.parent.mkdir(exist_ok=True)
    if not (path.parent / CONFIG_FILE).is_file():
        (path.parent / CONFIG_FILE).write_text(json.dumps(config))
    resume_state = None
    if path.is_file():
        resume_state = torch.load(path, map_location=device, weights_only=False)
        done = resume_state["trainer"]["epoch"] >= settings.max_epochs
        if done or ended_marker(settings.state_dir, trial_id).is_file():
            tune.report(_for_tune(resume_state["last_metrics"]))  # nothing left to train
            return
    trainer = Trainer(arch, hp, settings, data, device, seed=trial_seed(settings.seed, trial_id))

    def report(metrics: dict[str, Any], state: dict[str, Any] | None) -> None:
        with open(path.parent / EPOCHS_FILE, "a") as log:
            log.write(json.dumps({**metrics, "device": device.type}) + "\n")
        if state is not None:
            save_state({**state, "last_metrics": metrics}, path)
        tune.report(_for_tune(metrics))

    fit(trainer, report, resume_state)
