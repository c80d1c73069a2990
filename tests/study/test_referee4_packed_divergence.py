"""A trial whose loss goes NaN inside a pack (round 4 of the referee): only it fails, its
neighbours train on, and its files say what the self-training path's say. The self-training
loop raises before it writes a diverged epoch (``loop.fit``: no line in ``epochs.jsonl``, no
checkpoint of NaN weights), so a packed trial's files must not hold the diverged epoch either:
it would become a row of NaNs in ``epochs.parquet`` and an epoch more in ``trials.parquet``.

The pack runs in this process (``PackServer``'s coroutines on an asyncio loop; no Ray)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
import torch

from jetstudy.trainables.bookkeeping import divergence
from jetstudy.trainables.loop import (Trainer, TrialData, TrialDiverged, arch_from_params, fit,
                                      hyperparams_from_params)
from jetstudy.trainables.pack_server import PackServer
from jetstudy.trainables.trialfiles import best_path, read_epochs, state_path
from tests.conftest import make_train_settings

CALM = {"depth": 2, "width_0": 16, "width_1": 8, "dropout": 0.0, "l1": 1e-5, "l2": 0.0,
        "lr": 3e-3, "activation": "relu", "batch_norm": False}
WILD = {**CALM, "depth": 3, "width_0": 32, "width_1": 32, "width_2": 32, "lr": 1e30,
        "l1": 0.0, "l2": 1e-5}


def _settings(tmp_path: Path):
    (tmp_path / "trials").mkdir(exist_ok=True)
    return make_train_settings(tmp_path, scheduler={"max_epochs": 3},
                               training={"batch_size": 256, "train_eval_jets": 1000,
                                         "checkpoint_every": 1})


async def _two_epochs(server: PackServer) -> list[dict]:
    for tid, config in (("wild", WILD), ("calm", CALM)):
        (Path(server.settings.state_dir) / tid).mkdir()
        assert (await server.register(tid, config))["status"] == "ok"
    results = []
    for _ in range(2):
        results.append(await asyncio.gather(server.next_epoch("wild"),
                                            server.next_epoch("calm")))
    await server.stats()  # every file written
    server._loop_task.cancel()
    return results


@pytest.fixture(scope="module")
def packed(small_trial_data: TrialData, tmp_path_factory: pytest.TempPathFactory):
    settings = _settings(tmp_path_factory.mktemp("pack"))
    server = PackServer(small_trial_data, settings, capacity=2, max_depth=3, max_width=32)
    return settings, asyncio.run(_two_epochs(server))


def test_only_the_wild_trial_diverges(packed) -> None:
    _, results = packed
    assert divergence(results[0][0], WILD["lr"]) is not None
    assert all(divergence(calm, CALM["lr"]) is None for _, calm in results)


def test_a_diverged_epoch_is_not_written_as_the_self_training_loop_does(
        packed, small_trial_data: TrialData, tmp_path: Path) -> None:
    settings, results = packed
    written = []
    trainer = Trainer(arch_from_params(WILD, n_inputs=16), hyperparams_from_params(WILD),
                      _settings(tmp_path), small_trial_data, torch.device("cpu"), seed=1)
    with pytest.raises(TrialDiverged):
        fit(trainer, lambda metrics, state, best: written.append(metrics["epoch"]), None)
    first = next(i for i, (wild, _) in enumerate(results, 1)
                 if divergence(wild, WILD["lr"]) is not None)
    rows = read_epochs(settings.state_dir, "wild")
    # what the self-training loop wrote before it raised, and nothing from the NaN on
    assert [r["epoch"] for r in rows] == written == list(range(1, first))
    assert all(math.isfinite(r["val_loss"]) and math.isfinite(r["train_loss_running"])
               for r in rows)
    assert not state_path(settings.state_dir, "wild").is_file() or first > 1
    assert best_path(settings.state_dir, "wild").is_file() == (first > 1)
    # the neighbour's curve is whole
    assert [r["epoch"] for r in read_epochs(settings.state_dir, "calm")] == [1, 2]


@pytest.mark.filterwarnings("ignore:`get_trial_id` is meant:UserWarning")
def test_a_diverged_packed_trial_fails_with_the_self_training_error(tmp_path: Path) -> None:
    """``error`` reads ``TrialDiverged: ...`` on either path (it read ``PackedTrialDiverged``):
    a packed trial Tune restarts after its divergence fails again with the recorded reason."""
    from jetstudy.trainables.packed_trial import run_packed_trial
    from jetstudy.trainables.trialfiles import mark_diverged, trial_folder

    state_dir = str(tmp_path)
    trial_folder(state_dir, "local", WILD)  # outside Tune the trial id is "local"
    mark_diverged(state_dir, "local", "training loss became nan at epoch 1")
    with pytest.raises(TrialDiverged, match="became nan at epoch 1") as raised:
        run_packed_trial(WILD, servers=[], state_dir=state_dir, max_epochs=3)
    assert type(raised.value).__name__ == "TrialDiverged"
