"""``--resume`` with a changed config: the fields that may change (the trial count, time
budget, concurrency, resources) take the given value; any other difference is one error
(exit 2) listing each field with the saved and the given value, and nothing is touched.

Uses the shared interrupted study (``tests/faults/flows.py``).
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from jetstudy.study.config import from_dict
from jetstudy.study.resume import config_for_resume
from jetstudy.trainables.errors import ConfigError

pytestmark = pytest.mark.slow


def test_changed_space_on_resume_is_refused(resumed_study) -> None:
    r = resumed_study
    assert r.refused_code == 2, r.refused_output[-3000:]
    assert "Traceback" not in r.refused_output
    line = next(x for x in r.refused_output.splitlines() if x.startswith("error: "))
    assert "space.depth: saved [1, 1], given [1, 2]" in line, line
    assert "same config file and --set options" in line
    assert r.refused_changed == [], r.refused_changed


def test_more_trials_on_resume_run_to_the_new_count(interrupted_study, resumed_study) -> None:
    folder = interrupted_study.folder
    assert resumed_study.code == 0, resumed_study.output[-3000:]
    assert len(pd.read_parquet(folder / "trials.parquet")) == 3
    saved = yaml.safe_load((folder / "config.yaml").read_text())
    assert saved["search"]["num_trials"] == 3  # the study now is a 3-trial study


def test_every_differing_field_is_listed(tmp_path) -> None:
    """Pure: the comparison itself, several fields at once (no Ray)."""
    saved = from_dict({"storage": {"name": "s"}})
    (tmp_path / "config.yaml").write_text(saved.to_yaml())
    given = from_dict({"storage": {"name": "s"}, "training": {"batch_size": 512},
                       "scheduler": {"max_epochs": 5, "grace_period": 1},
                       "search": {"num_trials": 99, "max_concurrent": 8},
                       "resources": {"cpus_per_trial": 2}})
    with pytest.raises(ConfigError) as info:
        config_for_resume(given, tmp_path)
    msg = str(info.value)
    for part in ("training.batch_size: saved 1024, given 512",
                 "scheduler.max_epochs: saved 30, given 5",
                 "scheduler.grace_period: saved 2, given 1"):
        assert part in msg, msg
    listed = msg.split(" in ", 1)[1].split("; a study continues")[0]
    assert "num_trials" not in listed and "max_concurrent" not in listed
    assert "cpus_per_trial" not in listed, listed
    allowed = from_dict({"storage": {"name": "s"}, "search": {"num_trials": 99,
                                                              "time_budget_s": 60},
                         "resources": {"cpus_per_trial": 2}})
    merged = config_for_resume(allowed, tmp_path)
    assert merged.search.num_trials == 99 and merged.search.time_budget_s == 60
    assert merged.resources.cpus_per_trial == 2
