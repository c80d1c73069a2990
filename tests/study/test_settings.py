"""TrainSettings has one source: the validated config, through study.settings.train_settings."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from jetstudy.study.config import TrainingConfig, from_dict
from jetstudy.study.settings import train_settings
from jetstudy.trainables.loop import TrainSettings

#: A config whose every field that reaches TrainSettings differs from its default.
RAW = {
    "scheduler": {"type": "patience", "max_epochs": 9, "patience": 4},
    "search": {"metric": "val_acc", "seed": 17},
    "training": {"batch_size": 333, "optimizer": "sgd", "train_eval_jets": 2500,
                 "checkpoint_every": 3, "device": "cpu", "torch_threads": 2,
                 "matmul_precision": "high"},
}


def test_train_settings_have_no_defaults_of_their_own() -> None:
    with_default = [f.name for f in dataclasses.fields(TrainSettings)
                    if f.default is not dataclasses.MISSING
                    or f.default_factory is not dataclasses.MISSING]
    assert with_default == [], f"TrainSettings fields with their own default: {with_default}"


def test_every_field_comes_from_the_config(tmp_path: Path) -> None:
    cfg = from_dict(RAW)
    settings = train_settings(cfg, tmp_path)
    expected = {"max_epochs": 9, "patience": 4, "metric": "val_acc", "mode": "max", "seed": 17,
                "state_dir": str(tmp_path / "trials"), **RAW["training"]}
    got = dataclasses.asdict(settings)
    assert got == expected  # every field, none left to chance
    # every training.* field reaches the trials under its own name
    for f in dataclasses.fields(TrainingConfig):
        assert getattr(settings, f.name) == getattr(cfg.training, f.name), f.name
    # the defaults are the config's
    defaults = train_settings(from_dict({}), tmp_path)
    for f in dataclasses.fields(TrainingConfig):
        assert getattr(defaults, f.name) == f.default, f.name
    assert defaults.max_epochs == from_dict({}).scheduler.max_epochs


def test_patience_only_under_the_patience_scheduler(tmp_path: Path) -> None:
    for kind in ("asha", "fifo"):
        cfg = from_dict({"scheduler": {"type": kind, "patience": 4}})
        assert train_settings(cfg, tmp_path).patience is None, kind


def test_nothing_else_constructs_train_settings() -> None:
    """Only study.settings calls the constructor; everything else (study, bench, tests) goes
    through train_settings (tests: tests.conftest.make_train_settings)."""
    root = Path(__file__).parents[2]
    call = re.compile(r"\bTrainSettings\(")
    callers = [str(p.relative_to(root)) for folder in ("study", "trainables", "analysis", "bench",
                                                       "tests")
               for p in sorted((root / folder).rglob("*.py"))
               if call.search(p.read_text()) and p != Path(__file__)]
    assert callers == ["study/settings.py"]
