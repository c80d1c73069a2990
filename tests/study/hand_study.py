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


def add_trial(trials: str, tid: str, config: dict[str, Any], arch: MLPArch,
              state: dict[str, Any], epoch: int, val_loss: float, val_acc: float,
              val_auc: float) -> None:
    """Trial ``tid``: its folder with ``config``, the best checkpoint (``state``, the weights
    of ``arch``, at ``epoch`` with value ``val_loss``) and that epoch's record."""
    trial_folder(trials, tid, config)
    save_best(best_path(trials, tid), {"epoch": epoch, "value": val_loss, "model": state},
              arch.to_dict())
    append_epoch(trials, tid, {"epoch": epoch, "val_loss": val_loss, "val_acc": val_acc,
                               "val_auc": val_auc})
