"""Referee 3 (toolbox): every example config the README names is reachable from an install.

The README says ``configs/dryrun.yaml``, ``lecture.yaml`` and ``full.yaml`` ship inside the
package, but outside the clone only ``init`` reached one of them (dryrun): ``jetstudy run
configs/lecture.yaml`` in another folder names a file that is not there. ``init --example``
writes any of them, commented, as ``jetstudy.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.cli import main
from jetstudy.study.config import load_config
from jetstudy.study.starter import EXAMPLES, example_config, write_starter
from jetstudy.trainables.errors import ConfigError


@pytest.mark.parametrize("example", ["lecture", "full"])
def test_init_example_writes_that_example(example: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # another folder than the clone
    assert main(["init", "here", "--example", example]) == 0
    written = tmp_path / "here" / "jetstudy.yaml"
    said = capsys.readouterr().out
    assert "run it with: jetstudy run" in said
    # the cluster study says how it runs (README: jetstudy run configs/full.yaml --address auto)
    assert ("--address auto" in said) == (example == "full")
    assert load_config(written) == load_config(example_config(example))
    assert f"from the '{example}' example" in written.read_text()


def test_default_and_unknown_examples(tmp_path: Path) -> None:
    path = write_starter(tmp_path)
    assert load_config(path) == load_config(example_config("dryrun"))
    assert set(EXAMPLES) == {p.stem for p in example_config("dryrun").parent.glob("*.yaml")}
    with pytest.raises(ConfigError, match="no such example; use one of dryrun, lecture, full"):
        write_starter(tmp_path / "x", example="huge")
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit) as stop:  # argparse: a malformed command line is exit 2
        main(["init", str(tmp_path / "y"), "--example", "huge"])
    assert stop.value.code == 2
