"""A packed study's packs warm up while Tune starts the trials (issue 10's set-up); a pack
that cannot start still stops the study with its own error, once, with no trial trained.

Real Ray (one fake GPU, so the pack's request fits and its start fails where a GPU node
with a broken driver would: torch sees no CUDA), real Tune and Optuna.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.study.launch import run_study
from jetstudy.study.packing import pack_name, start_packs, write_pack_data
from jetstudy.study.prepare import prepare_data
from jetstudy.study.settings import train_settings
from jetstudy.trainables.loop import TrialData
from tests.conftest import make_small_config

pytestmark = pytest.mark.slow

NO_CUDA = "training.device is 'cuda' but this worker sees no CUDA device"


@pytest.fixture(scope="module")
def fake_gpu_ray():
    import ray

    ray.init(address="local", num_cpus=2, num_gpus=1, include_dashboard=False,
             log_to_driver=False)
    yield
    ray.shutdown()


def _cfg(tmp_path: Path, name: str):
    return make_small_config(tmp_path, name, data={"synthetic_jets": 2000},
                             training={"device": "cuda"},
                             resources={"pack_size": 2, "gpus_per_trial": 1},
                             search={"num_trials": 2, "max_concurrent": 2},
                             scheduler={"max_epochs": 1, "grace_period": 1})


def test_a_pack_that_cannot_start_stops_the_study_with_its_error_once(
        fake_gpu_ray, tmp_path: Path) -> None:
    import ray

    # the error start_packs raises when it waits for the packs (before: the study's way)
    cfg = _cfg(tmp_path, "waited")
    folder = tmp_path / "waited"
    prepared = prepare_data(cfg, folder)
    s = prepared.splits
    data = write_pack_data(TrialData(s.x_train, s.y_train, s.x_val, s.y_val), folder)
    with pytest.raises(Exception) as waited:
        start_packs(cfg, data, train_settings(cfg, folder))
    assert NO_CUDA in str(waited.value)
    ray.kill(ray.get_actor(pack_name(0)))  # as the study does: its name is free again

    with pytest.raises(type(waited.value)) as caught:
        run_study(_cfg(tmp_path, "overlapped"))
    assert NO_CUDA in str(caught.value)
    assert str(caught.value).count(NO_CUDA) == str(waited.value).count(NO_CUDA)  # said once
    assert caught.value.__context__ is None
    trials = tmp_path / "overlapped" / "trials"
    assert not list(trials.glob("*/epochs*")), "a trial trained without its pack"
    assert ray.is_initialized()  # the caller's Ray is left as it was
    assert not [a for a in ray.util.list_named_actors() if a.startswith("jetstudy-pack")]
