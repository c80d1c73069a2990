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


def test_a_stop_python_swallows_still_ends_the_command_as_interrupted(
        tmp_path: Path, monkeypatch, capsys) -> None:
    """A SIGTERM whose KeyboardInterrupt is raised inside a weakref callback is swallowed by
    Python ('Exception ignored in ...'), and synth then ran on and exited 0 (CI, round 5's
    SIGHUP-under-nohup test). The command still ends 130, saying its output is whole."""
    import gc
    import os
    import signal
    import sys
    import weakref

    from jetstudy.study import cli

    swallowed: list[BaseException] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: swallowed.append(u.exc_value))

    class Thing:
        pass

    def command(args) -> int:
        thing = Thing()
        weakref.finalize(thing, os.kill, os.getpid(), signal.SIGTERM)  # a stop inside it
        del thing
        gc.collect()
        for _ in range(1000):  # the handler runs at the next bytecode: in the callback
            pass
        return 0

    monkeypatch.setattr(cli, "_cmd_report", command)
    assert cli.main(["report", str(tmp_path)]) == cli.EXIT_INTERRUPTED
    assert "interrupted (SIGTERM)" in capsys.readouterr().err
    assert [type(e) for e in swallowed] == [KeyboardInterrupt]  # Python did swallow it
    assert signal.getsignal(signal.SIGTERM) is not None
