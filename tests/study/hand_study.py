"""A study folder built by hand for the export tests: prepared synthetic jets, config.yaml and a
``trials/`` folder whose trials hold a best checkpoint and one epoch record, as a real study's
do (no Ray, no training loop)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jetstudy.study.config import StudyConfig
from jetstudy.study.prepare import PreparedData, prepare_data, write_config
from jetstudy.trainables.checkpoint import save_best
from jetstudy.trainables.model import MLPArch
from jetstudy.trainables.trialfiles import append_epoch, best_path, trial_folder
from tests.conftest import make_small_config


def hand_study(root: Path, jets: int) -> tuple[StudyConfig, Path, PreparedData, str]:
    """``root/s``: ``jets`` synthetic jets prepared and the small config written; returns the
    config, the folder, the prepared data and the (made, empty) trials folder."""
    cfg = make_small_config(root, "s", data={"synthetic_jets": jets})
    folder = root / "s"
    prepared = prepare_data(cfg, folder)
    write_config(cfg, folder)
    trials = str(folder / "trials")
    Path(trials).mkdir()
    return cfg, folder, prepared, trials


#: make_small_config's scheduler.max_epochs: a trial whose epoch log reaches it is fully trained
MAX_EPOCHS = 4


def add_trial(trials: str, tid: str, config: dict[str, Any], arch: MLPArch,
              state: dict[str, Any], epoch: int, val_loss: float, val_acc: float,
              val_auc: float, last_epoch: int | None = None) -> None:
    """Trial ``tid``: its folder with ``config``, the best checkpoint (``state``, the weights
    of ``arch``, at ``epoch`` with value ``val_loss``) and its epoch log, epochs 1 to
    ``last_epoch`` (default: all of :data:`MAX_EPOCHS`, or ``epoch`` if later), as a finished
    trial leaves it: ``epoch``'s record with these values, the others' ``val_loss`` higher
    (a study without trials.parquet is judged by this log: ``jetstudy export --trial``)."""
    trial_folder(trials, tid, config)
    save_best(best_path(trials, tid), {"epoch": epoch, "value": val_loss, "model": state},
              arch.to_dict())
    last = max(epoch, MAX_EPOCHS) if last_epoch is None else last_epoch
    for e in range(1, last + 1):
        append_epoch(trials, tid, {"epoch": e, "val_loss": val_loss + 0.1 * abs(e - epoch),
                                   "val_acc": val_acc, "val_auc": val_auc})
