"""How a pack gathers a round (``PackServer._rounds``), in process on one asyncio loop: trials
whose relay (answer -> Tune -> next request) is longer than the pack's minimum gather window
still train together, and a trial that stops holds no round up.

Before the relay-aware rule a round waited only ``GATHER_FRACTION`` of the last round after its
first request (>= 20 ms), so trials with longer relays fell into rounds of their own and stayed
out of step (measured on a packed CPU study: 38 rounds for 60 trial-epochs, 22 of one model).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest
import torch

from jetstudy.trainables.loop import TrialData
from jetstudy.trainables.pack_server import PackServer
from tests.conftest import make_train_settings

CONFIG = {"depth": 2, "width_0": 16, "width_1": 8, "dropout": 0.0, "l1": 0.0, "l2": 0.0,
          "lr": 3e-3, "activation": "relu", "batch_norm": False}
EPOCHS = 4


@pytest.fixture(autouse=True)
def _threads() -> Iterator[None]:
    threads = torch.get_num_threads()  # PackServer sets training.torch_threads
    yield
    torch.set_num_threads(threads)


async def _trial(server: PackServer, trial_id: str, relay_s: float, epochs: int) -> list[int]:
    """A trial as ``packed_trial`` runs it, with a relay of ``relay_s`` after each answer;
    releases its slot after ``epochs`` (as when ASHA stops it)."""
    reply = await server.register(trial_id, {**CONFIG, "width_0": 8 + 4 * len(trial_id)})
    assert reply["status"] == "ok"
    seen = []
    for _ in range(epochs):
        seen.append((await server.next_epoch(trial_id))["epoch"])
        await asyncio.sleep(relay_s)
    await server.release(trial_id)
    return seen


def test_a_round_holds_every_trial_due_back(small_trial_data: TrialData, tmp_path: Path) -> None:
    settings = make_train_settings(tmp_path, scheduler={"max_epochs": EPOCHS},
                                   training={"batch_size": 512, "train_eval_jets": 500})
    (tmp_path / "trials").mkdir()
    small = TrialData(small_trial_data.x_train[:1000], small_trial_data.y_train[:1000],
                      small_trial_data.x_val[:500], small_trial_data.y_val[:500])
    # relays of 0.12 .. 0.3 s against a minimum window of 20 ms (and 25% of a ~50 ms round)
    server = PackServer(small, settings, capacity=4, max_depth=2, max_width=32,
                        gather_bounds_s=(0.02, 2.0), graphs=False)
    relays = {"a": 0.12, "bb": 0.18, "ccc": 0.24, "dddd": 0.3}

    async def study() -> tuple[list[Any], dict[str, Any]]:
        runs = await asyncio.gather(*(
            _trial(server, tid, relay, 2 if tid == "dddd" else EPOCHS)  # dddd stops early
            for tid, relay in relays.items()))
        return runs, await server.stats()

    runs, stats = asyncio.run(study())
    assert runs == [[1, 2, 3, 4]] * 3 + [[1, 2]]
    # every round held every trial still running: 4, 4, then 3, 3 once dddd had stopped
    assert stats["round_sizes"] == {"4": 2, "3": 2} and stats["rounds"] == 4
    assert stats["relays"] == 3 * 3 + 1 and stats["relay_s"] / stats["relays"] >= 0.12
    assert stats["gather_s"] < 4 * 2.0  # no round waited out the whole cap
