"""``--resume`` of a study saved before a config field existed: the study continues with the
value it ran with (``data.duplicates``: before the field, every jet was read as it is, i.e.
``keep``), not the new default, and the user's unchanged config file is not refused for it.
A study that saved the field keeps the usual rule: changing it on resume is refused."""

from __future__ import annotations

import pytest
import yaml

from jetstudy.study.config import from_dict
from jetstudy.study.resume import config_for_resume, saved_config
from jetstudy.trainables.errors import ConfigError


def _save(folder, cfg, drop_duplicates_field: bool) -> None:
    raw = yaml.safe_load(cfg.to_yaml())
    if drop_duplicates_field:
        del raw["data"]["duplicates"]
    (folder / "config.yaml").write_text(yaml.safe_dump(raw))


def test_a_study_saved_before_data_duplicates_resumes_as_it_ran(tmp_path) -> None:
    given = from_dict({"storage": {"name": "s"}})
    assert given.data.duplicates == "error"  # today's default
    _save(tmp_path, given, drop_duplicates_field=True)
    assert saved_config(tmp_path).data.duplicates == "keep"
    resumed = config_for_resume(given, tmp_path)
    assert resumed.data.duplicates == "keep"
    assert resumed.search == given.search


def test_a_study_that_saved_data_duplicates_may_not_change_it(tmp_path) -> None:
    _save(tmp_path, from_dict({"storage": {"name": "s"}}), drop_duplicates_field=False)
    given = from_dict({"storage": {"name": "s"}, "data": {"duplicates": "drop"}})
    with pytest.raises(ConfigError, match="data.duplicates: saved 'error', given 'drop'"):
        config_for_resume(given, tmp_path)
