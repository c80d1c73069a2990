"""Shared test set-up: the ``gpu`` marker skips without CUDA; small standardised jet data; the
8 real jets; a small study config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest

from tests.scheduling import GroupScheduling, order

if TYPE_CHECKING:  # imported where used: xdist's controller loads this file and runs no test
    import pandas as pd

    from jetstudy.study.config import StudyConfig
    from jetstudy.trainables.loop import TrainSettings, TrialData

# Ray starts its workers at niceness 15: on a 2-core CI machine running three test files at
# once, the other files' normal-priority processes then starve every trial, and studies with a
# wall-clock budget (search.time_budget_s) trained nothing before it ran out. Tests' workers
# compete fairly instead (subprocesses inherit it).
os.environ.setdefault("RAY_worker_niceness", "0")
# One OpenMP thread for torch in the test processes and the commands they start (set before
# any test module imports torch). By default torch runs 2 threads per process on the 2 cores;
# with three test files and their trials already sharing them, its idle threads spin waiting
# for work: tests/trainables/test_loop.py took 50 CPU-s with 2 threads, 11 with one on a
# machine loaded ~40 deep, 13 and 11 at a load of ~5. Trials set their own
# (training.torch_threads, default 1); tests that compare thread counts set them explicitly.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: also runs with -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``: files sharing a session study in one unit, the longest units first
    (tests/scheduling.py)."""
    if config.getvalue("dist") == "loadfile":
        return GroupScheduling(config, log)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The costliest test files first (see tests/scheduling.py); the ``gpu`` tests skip without
    CUDA."""
    import torch

    order(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (none visible)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_trial_data() -> TrialData:
    """6,000 synthetic jets, standardised on the training part: 4,000 train / 2,000 val."""
    from jetstudy.trainables.data import Standardiser
    from jetstudy.trainables.loop import TrialData
    from jetstudy.trainables.synth import sample_jets

    x, y = sample_jets(6_000, seed=11)
    scaler = Standardiser.fit(x[:4000])
    xs = scaler.transform(x)
    return TrialData(x_train=xs[:4000], y_train=y[:4000], x_val=xs[4000:], y_val=y[4000:])


#: The 8 real jets of shared/data/real_jets_16hlf.csv, kept in the repo so tests need nothing
#: outside it (a test compares the copy with the shared file where that exists).
REAL_JETS = Path(__file__).parent / "data" / "real_jets_16hlf.csv"


@pytest.fixture
def real_jets() -> pd.DataFrame:
    """Columns ``label_str`` (g, q, w, z, t) and the 16 HLF, raw values."""
    import pandas as pd

    return pd.read_csv(REAL_JETS, comment="#").drop(columns=["source"])


def make_small_config(results_dir: Path, name: str, **sections: dict[str, Any]) -> StudyConfig:
    """A study small enough for 2 CPU cores: 6,000 synthetic jets, 8 trials of <= 4 epochs;
    ``sections`` override fields section by section."""
    from jetstudy.study.config import from_dict

    raw: dict[str, dict[str, Any]] = {
        "data": {"synthetic_jets": 6000, "synthetic_seed": 3},
        "space": {"depth": [1, 3], "width": [4, 64]},
        "search": {"num_trials": 8, "max_concurrent": 2, "seed": 1},
        "scheduler": {"max_epochs": 4, "grace_period": 1, "reduction_factor": 4},
        "training": {"batch_size": 512, "train_eval_jets": 1000},
        "resources": {"num_cpus": 2},
        "storage": {"results_dir": str(results_dir), "name": name},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return from_dict(raw)


def make_train_settings(folder: Path | str = "unused", **sections: dict[str, Any]) -> TrainSettings:
    """Training settings built as a study builds them (``jetstudy.study.settings.train_settings``)
    from the default config, ``sections`` overriding fields section by section, e.g.
    ``scheduler={"max_epochs": 3}, training={"batch_size": 256}``. The scheduler is FIFO with a
    grace period of 1 unless given (any ``max_epochs`` is valid); trial files go in
    ``folder/trials``."""
    from jetstudy.study.config import from_dict
    from jetstudy.study.settings import train_settings

    raw: dict[str, dict[str, Any]] = {"scheduler": {"type": "fifo", "grace_period": 1}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return train_settings(from_dict(raw), Path(folder))


@pytest.fixture(scope="session")
def small_config() -> Callable[..., StudyConfig]:
    """``small_config(results_dir, name, **sections)``: see :func:`make_small_config`."""
    return make_small_config


#: ``env``: the environment (os.environ) of the process when the kept Ray's last module ended,
#: None when no Ray is kept (a Ray's workers inherit the environment it started with);
#: ``module``: the module :func:`_no_ray_left_for_others` found may use it.
_KEPT_RAY: dict[str, Any] = {"env": None, "module": None}


def _environment() -> dict[str, str]:
    """os.environ less pytest's own per-test variable."""
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def _ray_is_clean(ray: Any) -> bool:
    """No actor, task or placement group of an earlier module holds a CPU of the kept Ray
    (dead actors free theirs within a moment) and no placement group is left."""
    import time

    from ray.util import placement_group_table

    for _ in range(20):
        free = ray.available_resources().get("CPU", 0.0)
        groups = [g for g in placement_group_table().values() if g.get("state") != "REMOVED"]
        if free == ray.cluster_resources().get("CPU", -1.0) and not groups:
            return True
        time.sleep(0.1)
    return False


def _log_ray(what: str, module: str) -> None:
    """With ``JETSTUDY_TEST_RAY_LOG=FILE``, one line per start, reuse or drop of the shared Ray
    (``<worker> <what> <module>``), to count a run's Ray starts per worker."""
    log = os.environ.get("JETSTUDY_TEST_RAY_LOG")
    if log:
        with open(log, "a") as out:
            out.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')} {what} {module}\n")


def _drop_kept_ray(module: str = "session end") -> None:
    import sys

    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
        _log_ray("drop", module)
    _KEPT_RAY.update(env=None, module=None)


@pytest.fixture(scope="module")
def ray_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """A local Ray of 2 CPUs for the module's studies (one start per test file, not per test),
    kept for the worker's next module that asks for it too (each start costs ~7 CPU-s): only
    when nothing of this module is left in it (actors, tasks, placement groups) and the
    environment is what it was at the end of this module (then it runs through all that
    module's tests, those before the first asking for it too). Modules without this fixture find
    no Ray running (:func:`_no_ray_left_for_others`); ``make test`` hands the modules using it
    out in a few groups, each run by one worker one module after another (tests/scheduling.py),
    so it starts once per group.

    Where a start's CPU goes (Ray 2.60, cgroup, 2026-11-29): this process's ``ray.init``
    1.5-2 s; the dashboard (still started, minimal, without ``include_dashboard``), autoscaler
    monitor, log monitor, dashboard agent and runtime-env agent ~0.6-0.8 s each; the raylet's
    two prestarted workers ~0.6 s each; GCS and raylet ~0.3 s. ``RAY_enable_worker_prestart=0``
    (the raylet still prestarts ``num_cpus`` workers), ``RAY_enable_metrics_collection=0`` and
    ``RAY_USAGE_STATS_ENABLED=0`` changed nothing measurable (6.7-7.8 CPU-s either way): only
    fewer starts save."""
    import ray

    module = request.node.nodeid
    if ray.is_initialized() and (_KEPT_RAY["module"] is not request.module
                                 or not _ray_is_clean(ray)):
        _drop_kept_ray(f"{module} (not kept for it, or busy)")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
        _log_ray("start", module)
    else:
        _log_ray("reuse", module)
    _KEPT_RAY["env"] = None
    yield
    if ray.is_initialized():
        _KEPT_RAY["env"] = _environment()


def _modules_using_ray(session: pytest.Session) -> set[Any]:
    """The test modules of this session with a test using ``ray_cluster`` (found once)."""
    found = getattr(session, "_jetstudy_ray_modules", None)
    if found is None:
        found = {getattr(item, "module", None) for item in session.items
                 if "ray_cluster" in getattr(item, "fixturenames", ())}
        session._jetstudy_ray_modules = found  # type: ignore[attr-defined]
    return found


@pytest.fixture(scope="module", autouse=True)
def _no_ray_left_for_others(request: pytest.FixtureRequest) -> None:
    """A module that does not use the shared :func:`ray_cluster` (none, or its own) starts
    without the Ray an earlier module's left running; one whose tests (any of them, so its
    tests before the first asking for it too) use it keeps it, when the environment is what it
    was when the Ray's last module ended (checked here, before this module's tests change it:
    an ONNX export sets ``TORCHINDUCTOR_CACHE_DIR``)."""
    _KEPT_RAY["module"] = None
    if _KEPT_RAY["env"] is None:
        return
    module = request.node.nodeid
    shared = (getattr(request.module, "ray_cluster", None) is None
              and request.module in _modules_using_ray(request.session))
    changed = sorted(k for k in _KEPT_RAY["env"].keys() | _environment().keys()
                     if _KEPT_RAY["env"].get(k) != _environment().get(k))
    if not shared:
        _drop_kept_ray(module)
    elif changed:
        _drop_kept_ray(f"{module} (environment: {' '.join(changed)})")
    else:
        _KEPT_RAY["module"] = request.module


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The kept Ray ends with the session (its worker)."""
    _drop_kept_ray()
