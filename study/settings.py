"""The one way to build :class:`~jetstudy.trainables.loop.TrainSettings`: from the validated config.

``TrainSettings`` (the bottom layer, torch only) has no defaults of its own: every field comes
from :class:`~jetstudy.study.config.StudyConfig` here, so a default changed in the config (with
its reason) cannot be contradicted by a second copy. The study, the bench and the tests all
build their settings with :func:`train_settings`.

>>> from jetstudy.study.config import from_dict
>>> train_settings(from_dict({"training": {"batch_size": 256}}), Path("results/demo")).batch_size
256
"""

from __future__ import annotations

from pathlib import Path

from jetstudy.study.config import StudyConfig
from jetstudy.trainables.loop import TrainSettings

__all__ = ["train_settings"]


def train_settings(cfg: StudyConfig, folder: Path) -> TrainSettings:
    """The study-wide settings every trial of the study in ``folder`` trains with; trials keep
    their files in ``folder/trials``."""
    t = cfg.training
    return TrainSettings(
        max_epochs=cfg.scheduler.max_epochs, batch_size=t.batch_size, optimizer=t.optimizer,
        train_eval_jets=t.train_eval_jets, checkpoint_every=t.checkpoint_every,
        metric=cfg.search.metric, mode=cfg.mode,
        # scheduler.type patience: each trial stops by itself (under a FIFO scheduler)
        patience=cfg.scheduler.patience if cfg.scheduler.type == "patience" else None,
        seed=cfg.search.seed, device=t.device, torch_threads=t.torch_threads,
        state_dir=str(Path(folder) / "trials"), matmul_precision=t.matmul_precision)
