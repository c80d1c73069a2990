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
from trainables.synth import synthetic_mark, write_synthetic

__all__ = ["results_folder", "check_folder", "write_config", "prepare_data", "PreparedData"]

logger = logging.getLogger(__name__)


def results_folder(cfg: StudyConfig) -> Path:
    """``<results_dir>/<name>``; a study without a name gets one from the clock."""
    name = cfg.storage.name or time.strftime("study-%Y%m%d-%H%M%S")
    return Path(cfg.storage.results_dir).expanduser().resolve() / name


def check_folder(folder: Path, resume: bool) -> None:
    """Refuse to mix two studies in one folder, or to resume one that is not there."""
    existing = folder / "config.yaml"
    if resume and not existing.is_file():
        raise ConfigError(f"--resume: {folder} holds no study (no config.yaml); check "
                          f"storage.results_dir and storage.name, or run without --resume")
    if not resume and existing.exists():
        raise ConfigError(f"storage.name {folder.name!r}: {folder} already holds a study; "
                          f"pass --resume to continue it, or set another storage.name")


def write_config(cfg: StudyConfig, folder: Path) -> None:
    """Write the resolved config: from now on the folder holds a study. Done only once the
    data has loaded, so bad data leaves no half-made study behind."""
    folder.mkdir(parents=True, exist_ok=True)
    write_text(cfg.to_yaml(), folder / "config.yaml")


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
        path = str(data_dir)
        files = sorted(data_dir.glob("*.h5"))
        mark = (synthetic_mark(files[0]) or {}) if files else {}
        if (mark.get("seed"), mark.get("n_jets_total")) != (d.synthetic_seed, d.synthetic_jets):
            for stale in data_dir.glob("*.h5"):  # from an earlier, different attempt
                stale.unlink()
            logger.info("writing %d synthetic jets to %s", d.synthetic_jets, data_dir)
            write_synthetic(data_dir, d.synthetic_jets, d.synthetic_seed)
    table = load_jets(path, d.format, d.max_jets)
    splits = split_jets(table, d.val_fraction, d.test_fraction, d.split_seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(splits.scaler.to_dict(), folder / "scaler.json")
    write_json(splits.summary, folder / "data_summary.json")
    return PreparedData(splits=splits, data_path=path, synthetic=table.synthetic is not None)
