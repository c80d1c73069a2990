"""A packed trial's process stays light: it relays epochs, so it imports neither torch nor the
training code (the pack holds the models). Real Ray, a real packed study; each trial process
writes its own ``sys.modules`` (``JETSTUDY_TRIAL_IMPORTS``) at its start and end.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.launch import run_study
from jetstudy.trainables.pack_protocol import PackActor
from jetstudy.trainables.pack_server import PackServer
from jetstudy.trainables.packed_trial import HEAVY_MODULES, IMPORTS_ENV

#: What a trial that only relays must not import (``ray.tune`` brings pandas and pyarrow into
#: every Tune trial, this one's floor: ``bench.trial_memory`` measures both).
NOT_IN_A_TRIAL = {"torch", "jetstudy.trainables.packed", "jetstudy.trainables.loop",
                  "jetstudy.study.config", "optuna", "h5py", "sklearn", "scipy"}


@pytest.mark.slow
def test_a_packed_trial_process_imports_no_torch(small_config, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    reports = tmp_path / "imports"
    reports.mkdir()
    monkeypatch.setenv(IMPORTS_ENV, str(reports))  # before ray.init: the workers inherit it
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        cfg = small_config(tmp_path / "results", "light",
                           search={"num_trials": 3, "max_concurrent": 2},
                           scheduler={"max_epochs": 2, "grace_period": 2},
                           resources={"num_cpus": 2, "pack_size": 2, "max_failures": 0})
        outcome = run_study(cfg)
    finally:
        ray.shutdown()
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    assert len(trials) == 3 and set(trials["status"]) <= {"completed", "stopped"}
    seen = [json.loads(p.read_text()) for p in reports.glob("*.json")]
    assert seen, f"no trial process wrote its modules to {reports}"
    assert NOT_IN_A_TRIAL <= set(HEAVY_MODULES)  # the list the trial checks covers them
    for record in seen:
        assert "ray.tune" in record["heavy"], record  # the list is the trial's real one
        assert not NOT_IN_A_TRIAL & set(record["heavy"]), record


def test_the_pack_actor_offers_every_pack_server_method() -> None:
    """The trials' handles point at PackActor: each public PackServer method is there, with
    the same parameters, and is a coroutine as in PackServer (a new PackServer method must be
    added to PackActor too)."""
    public = [n for n, f in inspect.getmembers(PackServer, inspect.isfunction)
              if not n.startswith("_")]
    assert {"register", "next_epoch", "release", "stats"} <= set(public)
    for name in public:
        ours, theirs = getattr(PackActor, name, None), getattr(PackServer, name)
        assert ours is not None, f"PackActor lacks PackServer.{name}; add it (pack_protocol.py)"
        assert _params(ours) == _params(theirs), name
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs), name


def _params(method: object) -> list[str]:
    """A method's parameters, less the ``_ray_trace_ctx`` that ``ray.remote`` adds in place."""
    return [p for p in inspect.signature(method).parameters if not p.startswith("_ray")]


def test_the_pack_actor_module_imports_no_torch() -> None:
    """Ray imports PackActor's module in every trial process that holds a pack's handle."""
    import subprocess
    import sys

    code = ("import sys, jetstudy.trainables.pack_protocol, jetstudy.trainables.packed_trial;"
            "print(sorted(m for m in ('torch', 'jetstudy.trainables.packed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
