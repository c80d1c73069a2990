"""Referee round 7 (lead): the README's route to real data (`jetstudy init`, then `run
jetstudy.yaml --set data.path=...`) gave a warning on every run and rerun whose fix (remove
data.synthetic_jets) --set cannot give."""

from __future__ import annotations

from pathlib import Path

import yaml

from jetstudy.study.config import StudyConfig, load_config
from jetstudy.study.starter import write_starter


def test_set_data_path_on_the_starter_config_switches_it_to_the_files(tmp_path: Path) -> None:
    starter = write_starter(tmp_path)
    assert yaml.safe_load(starter.read_text())["data"]["synthetic_jets"] is not None
    cfg = load_config(starter, ["data.path=/data/jets/*.h5"])
    assert cfg.warnings == ()
    assert cfg.data.synthetic_jets == StudyConfig().data.synthetic_jets  # unused, default
    assert cfg.data.path == "/data/jets/*.h5"
    # beside the path on the command line, they were meant: kept and warned about
    both = load_config(starter, ["data.path=/data/jets/*.h5", "data.synthetic_jets=5000"])
    assert both.data.synthetic_jets == 5000
    assert any("data.synthetic_jets is 5000" in w for w in both.warnings)
    # a config file that names both keeps warning: its author can remove one
    own = tmp_path / "own.yaml"
    own.write_text("data:\n  path: /data/jets.h5\n  synthetic_jets: 5000\n")
    assert any("data.synthetic_jets is 5000" in w for w in load_config(own).warnings)
    assert any("data.synthetic_jets is 5000" in w
               for w in load_config(own, ["data.path=/data/other.h5"]).warnings)
