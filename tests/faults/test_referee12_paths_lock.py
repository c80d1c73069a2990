"""Referee round 12: a driver that loses its study's lock as its clean-up begins.

The lock's heartbeat stops a driver whose lock another host took over with a SIGTERM to
itself (:meth:`jetstudy.study.lock.StudyLock._lost`). Where Tune had ended just before, the
SIGTERM landed in ``_run_locked``'s ``finally`` clean-up, as a KeyboardInterrupt that skipped
the rest of it: ``ray.shutdown()`` (the driver's Ray left running to the process's exit) and
the Ray session's record. The clean-up now runs with stops held
(:func:`jetstudy.trainables.atomic.held_signals`): a stop that lands meanwhile is raised as it
ends, and the driver then says who took the study, as on any other lost lock.

The heartbeat's moment is made exact here: a profiler hook, set as Tune's loop ends, hands the
lock over and calls the heartbeat's own ``_lost`` as the clean-up's ``lost_to`` begins.
"""

from __future__ import annotations

import linecache
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from ray.tune import Callback

from tests.faults.conftest import REPO, study_yaml
from tests.faults.test_referee11_followups_paths import _rival_takes_over


class LoseAtCleanUp(Callback):
    """As Tune's loop ends (in the driver's main thread), arm a profiler hook: at the call of
    ``lost_to`` in ``_run_locked``'s clean-up (``lost = lost_to(folder) ...``), the other host takes the lock over
    and the heartbeat's ``_lost`` sends this driver its SIGTERM."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        from jetstudy.study import lock

        folder = Path(self.folder)

        def hook(frame: Any, event: str, arg: Any) -> None:
            if event != "call" or frame.f_code.co_name != "lost_to":
                return
            caller = frame.f_back
            if caller is None or caller.f_code.co_name != "_run_locked" or "lost = lost_to(" \
                    not in linecache.getline(caller.f_code.co_filename, caller.f_lineno):
                return  # not the clean-up's (the check right after Tune's loop is before it)
            sys.setprofile(None)
            held = lock._HELD[str(folder)]
            _rival_takes_over(folder)
            held._lost(lock.read_lock(folder))

        sys.setprofile(hook)


_RUN = """
import sys
from jetstudy.study import launch
from tests.faults.test_referee12_paths_lock import LoseAtCleanUp

real = launch.run_study
launch.run_study = lambda cfg, **kw: real(cfg, callbacks=[LoseAtCleanUp(sys.argv[1])], **kw)
from jetstudy.study.cli import main
code = main(sys.argv[2:])
import ray
print("ray still initialized:", ray.is_initialized(), flush=True)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def lost_at_cleanup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import subprocess

    root = tmp_path_factory.mktemp("lost_late")
    config = study_yaml(root / "study.yaml", "results", "late")
    folder = root / "results" / "late"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-c", _RUN, str(folder), "run", str(config),
                           "--no-report"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=240)
    return {"proc": proc, "folder": folder}


@pytest.mark.slow
def test_a_lock_lost_as_the_clean_up_begins_still_shuts_ray_down(lost_at_cleanup) -> None:
    proc = lost_at_cleanup["proc"]
    assert "ray still initialized: False" in proc.stdout, (proc.stdout[-2000:],
                                                           proc.stderr[-3000:])


@pytest.mark.slow
def test_a_lock_lost_as_the_clean_up_begins_says_who_took_the_study(lost_at_cleanup) -> None:
    from jetstudy.study.lock import read_lock
    from jetstudy.study.raysession import RECORD

    proc, folder = lost_at_cleanup["proc"], lost_at_cleanup["folder"]
    err = proc.stderr
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    assert "another jetstudy driver took the study in" in err and "(host other-node, pid 7)" \
        in err, err[-3000:]
    assert read_lock(folder).token == "rival"
    assert not (folder / RECORD).exists(), "the driver's own Ray record was left behind"
