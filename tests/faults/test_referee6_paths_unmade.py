"""Referee round 6 (unmade): a study folder the file system will not make (results_dir under
/proc, where mkdir says 'No such file or directory' though the parent exists) was reported
as '/proc/x: No such file or directory; check that the path exists and is writable
(storage.results_dir, data.path or the output folder)': three fields for one at fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.paths import claim_study_folder
from jetstudy.trainables.errors import ConfigError


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_results_dir_that_cannot_be_made_is_named_as_the_field_at_fault() -> None:
    folder = Path("/proc/jetstudy-referee6/study")
    with pytest.raises(ConfigError) as refused:
        claim_study_folder(folder)
    text = str(refused.value)
    assert text.startswith("storage.results_dir '/proc/jetstudy-referee6': the study folder"), text
    assert "data.path" not in text and "set storage.results_dir to a folder you can write" in text
    assert not folder.parent.exists()

