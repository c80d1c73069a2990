"""Referee round 11: an output folder given with ``..`` after a folder that does not exist.

``report -o new/../out`` (or ``synth``, ``init``, ``export -o`` alike) makes ``new`` on the way,
as ``mkdir -p`` does. A command that then failed or was stopped removed the folders it had
made, deepest first, but counted ``new/..`` (the user's current folder) among them: removing
it failed, and the clean-up stopped there, leaving ``new`` behind. Now ``..`` is never one of
the folders made: a failed command leaves the folder as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jetstudy.trainables.staging import new_folders
from tests.faults.conftest import checksums, plant


@pytest.mark.parametrize("given", ["new/../out", "new/deeper/../../out", "new/../new2/./out"])
def test_a_failed_command_leaves_no_folder_it_made_on_the_way(tmp_path: Path,
                                                               given: str) -> None:
    planted = plant(tmp_path, ["mine.txt"])
    before = checksums(tmp_path)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(RuntimeError), new_folders(Path(given)) as made:
            assert all(p.name != ".." for p in made) and Path(given).is_dir()
            raise RuntimeError("the command failed")
    finally:
        os.chdir(here)
    assert checksums(tmp_path) == before, sorted(os.listdir(tmp_path))
    assert set(planted) <= set(before)


def test_what_the_command_finished_stays(tmp_path: Path) -> None:
    with new_folders(tmp_path / "new" / ".." / "out") as made:
        (tmp_path / "out" / "index.html").write_text("the report\n")
    assert (tmp_path / "out" / "index.html").is_file() and (tmp_path / "new").is_dir()
    assert made == [tmp_path / "new" / ".." / "out", tmp_path / "new"]
