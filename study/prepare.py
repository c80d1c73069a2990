"""Everything before the first trial: the results folder, the data, the splits.

Bad data fails here, before Ray starts, with one message naming the file, the problem and the
fix (raised by :mod:`trainables.data`). The scaler and a data summary are written next to the
results so the analysis and anyone reusing the model standardise the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from study.config import StudyConfig
from study.tables import write_json, write_text
from trainables.data import JetSplits, load_jets, split_jets
from trainables.errors import ConfigError
from trainables.synth import write_synthetic

__all__ = ["results_folder", "prepare_folder", "prepare_data", "PreparedData"]

logger = logging.getLogger(__name__)


def results_folder(cfg: StudyConfig) -> Path:
    """``<results_dir>/<name>``; a study without a name gets one from the clock."""
    name = cfg.storage.name or time.strftime("study-%Y%m%d-%H%M%S")
    return Path(cfg.storage.results_dir).expanduser().resolve() / name


def prepare_folder(cfg: StudyConfig, folder: Path, resume: bool) -> None:
    """Create the folder and write the resolved config; refuse to mix two studies."""
    existing = folder / "config.yaml"
    if resume:
        if not existing.is_file():
            raise ConfigError(f"--resume: {folder} holds no study (no config.yaml); check "
                              f"storage.results_dir and storage.name, or run without --resume")
        return
    if existing.exists():
        raise ConfigError(f"storage.name {folder.name!r}: {folder} already holds a study; "
                          f"pass --resume to continue it, or set another storage.name")
    folder.mkdir(parents=True, exist_ok=True)
    write_text(cfg.to_yaml(), existing)


@dataclass(frozen=True)
class PreparedData:
    splits: JetSplits
    data_path: str
    synthetic: bool


def prepare_data(cfg: StudyConfig, folder: Path) -> PreparedData:
    """Generate synthetic jets if the config asks for them, then load, validate and split."""
    d = cfg.data
    path = d.path
    if path is None:
        data_dir = folder / "data"
        if not any(data_dir.glob("*.h5")):
            logger.info("writing %d synthetic jets to %s", d.synthetic_jets, data_dir)
            write_synthetic(data_dir, d.synthetic_jets, d.synthetic_seed)
        path = str(data_dir)
    table = load_jets(path, d.format, d.max_jets)
    splits = split_jets(table, d.val_fraction, d.test_fraction, d.split_seed)
    write_json(splits.scaler.to_dict(), folder / "scaler.json")
    write_json(splits.summary, folder / "data_summary.json")
    return PreparedData(splits=splits, data_path=path, synthetic=table.synthetic is not None)
