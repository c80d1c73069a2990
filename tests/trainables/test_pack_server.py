"""The pack (``jetstudy.trainables.pack_server.PackServer``) as a real Ray async actor.

Ray starts once for the module. A test that needs a pack of its own (other settings, other
arguments, a pack to kill or count rounds of) starts one; the others share :func:`shared_pack`
(the default settings, each test with its own trial ids, releasing them at its end): each pack
is a worker that imports torch, ~5 CPU-s a start.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import ray
import torch

from jetstudy.study.config import PACKABLE_ACTIVATIONS
from jetstudy.study.evaluate import load_best_model
from jetstudy.trainables.loop import (Trainer, TrainSettings, TrialData, arch_from_params, fit,
                             hyperparams_from_params)
from jetstudy.trainables.pack_server import PackServer
from jetstudy.trainables.packed import PACKED_ACTIVATIONS
from jetstudy.trainables.checkpoint import load_checkpoint, save_state
from jetstudy.trainables.trialfiles import (EPOCHS_FILE, best_path, ended_marker, read_epochs,
                                   state_path, trial_seed)
from tests.conftest import make_train_settings

CONFIG = {"depth": 2, "width_0": 16, "width_1": 8, "dropout": 0.0, "l1": 1e-5, "l2": 1e-5,
          "lr": 3e-3, "activation": "relu", "batch_norm": False}
OTHER = {**CONFIG, "depth": 1, "width_0": 32, "lr": 1e-2}
METRIC_KEYS = {"epoch", "train_loss_running", "train_loss", "val_loss", "val_acc", "val_auc",
               "train_loss_se", "val_loss_se", "n_params", "flops", "time_s"}


@pytest.fixture(scope="module", autouse=True)
def ray_local(ray_cluster) -> None:
    """Every test here talks to Ray (tests/conftest.py's local Ray of 2 CPUs)."""


def _settings(tmp_path: Path, max_epochs: int = 3, checkpoint_every: int = 1,
              patience: int | None = None) -> TrainSettings:
    """The config's training settings (the one constructor); trial files in tmp_path/trials."""
    (tmp_path / "trials").mkdir(parents=True, exist_ok=True)
    scheduler = {"max_epochs": max_epochs, **({"type": "patience", "patience": patience}
                                              if patience is not None else {})}
    return make_train_settings(tmp_path, scheduler=scheduler,
                               training={"batch_size": 256, "train_eval_jets": 1000,
                                         "checkpoint_every": checkpoint_every})


_PACKS: list[Any] = []


@pytest.fixture(autouse=True)
def _kill_packs() -> Iterator[None]:
    yield
    while _PACKS:  # each holds a CPU of the module's two
        ray.kill(_PACKS.pop())


def _pack(data: TrialData, settings: TrainSettings, capacity: int = 4, **kw: Any) -> Any:
    actor = ray.remote(PackServer).options(num_cpus=1)
    _PACKS.append(actor.remote(ray.put(data), settings, capacity=capacity, max_depth=3,
                               max_width=32, **kw))
    return _PACKS[-1]


@pytest.fixture(scope="module")
def shared_pack(small_trial_data: TrialData,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, TrainSettings]]:
    """One pack of :func:`_settings`'s defaults (3 epochs, a checkpoint each) and its settings,
    for the tests that need nothing else of a pack. It holds one of the module's two CPUs: a
    test using it starts at most one pack of its own at a time."""
    settings = _settings(tmp_path_factory.mktemp("shared_pack"))
    actor = ray.remote(PackServer).options(num_cpus=1)
    pack = actor.remote(ray.put(small_trial_data), settings, capacity=4, max_depth=3,
                        max_width=32)
    yield pack, settings
    ray.kill(pack)


def _folder(settings: TrainSettings, trial_id: str) -> Path:
    folder = Path(settings.state_dir) / trial_id
    folder.mkdir(exist_ok=True)
    return folder


def test_packable_activations_agree() -> None:
    assert set(PACKABLE_ACTIVATIONS) == set(PACKED_ACTIVATIONS)


def test_a_trial_trains_epoch_by_epoch_with_its_own_files(small_trial_data: TrialData,
                                                          shared_pack: tuple) -> None:
    pack, settings = shared_pack
    _folder(settings, "t1")
    assert ray.get(pack.register.remote("t1", CONFIG)) == {"status": "ok", "epoch": 0}
    metrics = [ray.get(pack.next_epoch.remote("t1")) for _ in range(3)]
    assert [m["epoch"] for m in metrics] == [1, 2, 3]
    assert set(metrics[0]) == METRIC_KEYS
    assert all(math.isfinite(m[k]) for m in metrics for k in METRIC_KEYS)
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]  # it learns
    assert metrics[0]["n_params"] == 16 * 16 + 16 + 16 * 8 + 8 + 8 * 5 + 5
    ray.get(pack.stats.remote())  # returns once the checkpoints are written
    rows = read_epochs(settings.state_dir, "t1")
    assert [r["epoch"] for r in rows] == [1, 2, 3] and all(r["packed"] for r in rows)
    assert rows[1]["val_loss"] == metrics[1]["val_loss"]
    # the state file is what the study evaluates and what a Trainer resumes from
    state = torch.load(state_path(settings.state_dir, "t1"), weights_only=True)
    assert state["trainer"]["epoch"] == 3 and state["last_metrics"]["epoch"] == 3
    best = min(metrics, key=lambda m: m["val_loss"])
    model, arch, epoch = load_best_model(state_path(settings.state_dir, "t1"))
    assert epoch == best["epoch"] and arch.widths == (16, 8)
    trainer = Trainer(arch_from_params(CONFIG, 16), hyperparams_from_params(CONFIG), settings, small_trial_data,
                      torch.device("cpu"), seed=1)
    trainer.load_state_dict(state["trainer"])
    assert trainer.epoch == 3
    assert trainer.evaluate()["val_loss"] == pytest.approx(metrics[-1]["val_loss"], rel=1e-5)
    ray.get(pack.release.remote("t1"))
    assert ray.get(pack.stats.remote())["members"] == 0


def test_best_weights_are_written_between_checkpoints(small_trial_data: TrialData,
                                                       tmp_path: Path) -> None:
    """checkpoint_every governs the resumable state only: after every epoch the trial's
    best.pt holds the best epoch so far, and that is what the evaluation reads."""
    settings = _settings(tmp_path, max_epochs=10, checkpoint_every=5)
    pack = _pack(small_trial_data, settings)
    _folder(settings, "b")
    ray.get(pack.register.remote("b", {**CONFIG, "lr": 3e-2}))
    metrics = []
    for _ in range(3):
        metrics.append(ray.get(pack.next_epoch.remote("b")))
        best = min(metrics, key=lambda m: m["val_loss"])
        record = load_checkpoint(best_path(settings.state_dir, "b"))
        assert record["epoch"] == best["epoch"] and record["value"] == best["val_loss"]
        assert read_epochs(settings.state_dir, "b")[-1] == {**metrics[-1], "device": "cpu",
                                                           "packed": True}
    assert not state_path(settings.state_dir, "b").exists()  # no checkpoint due yet
    model, _, epoch = load_best_model(state_path(settings.state_dir, "b"), best["epoch"])
    assert epoch == best["epoch"]


def test_patience_ends_a_packed_trial_that_no_longer_improves(small_trial_data: TrialData,
                                                              tmp_path: Path) -> None:
    """With a learning rate too small to move any weight the validation loss never improves
    after epoch 1: patience 2 ends the trial at epoch 3, with a checkpoint; the pack then
    treats it as done."""
    settings = _settings(tmp_path, max_epochs=10, checkpoint_every=10, patience=2)
    pack = _pack(small_trial_data, settings)
    _folder(settings, "p")
    ray.get(pack.register.remote("p", {**CONFIG, "lr": 1e-30, "l1": 0.0, "l2": 0.0}))
    metrics = [ray.get(pack.next_epoch.remote("p")) for _ in range(3)]
    assert [m.get("converged", False) for m in metrics] == [False, False, True]
    ray.get(pack.release.remote("p"))
    state = load_checkpoint(state_path(settings.state_dir, "p"))
    assert state["trainer"]["epoch"] == 3 and state["best"]["epoch"] == 1
    assert ray.get(pack.register.remote("p", CONFIG)) == {"status": "done",
                                                          "metrics": metrics[-1]}


def test_trials_waiting_together_train_in_one_round(small_trial_data: TrialData,
                                                    tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    # a round waits at least 0.5 s for the members that have not asked yet: calls sent
    # together meet in one round however loaded the machine is
    pack = _pack(small_trial_data, settings, gather_bounds_s=(0.5, 1.0))
    for tid, config in (("a", CONFIG), ("b", OTHER)):
        _folder(settings, tid)
        ray.get(pack.register.remote(tid, config))
    a, b = ray.get([pack.next_epoch.remote("a"), pack.next_epoch.remote("b")])
    stats = ray.get(pack.stats.remote())
    assert stats["rounds"] == 1 and stats["largest_round"] == 2 and stats["trial_epochs"] == 2
    assert stats["round_sizes"] == {"2": 1}
    assert stats["graphs"] is False  # CUDA graphs are for CUDA only; the CPU steps eagerly
    # padded arithmetic covers at least the two models' own (training 3x a forward pass)
    n_train, n_val = len(small_trial_data.x_train), len(small_trial_data.x_val)
    own = sum(m["flops"] * (3 * n_train + min(1000, n_train) + n_val) for m in (a, b))
    assert stats["padded_flops"] >= own
    assert a["n_params"] != b["n_params"] and a["val_loss"] != b["val_loss"]
    # a trial that asks alone is not held back by one that does not ask
    assert ray.get(pack.next_epoch.remote("a"))["epoch"] == 2
    assert ray.get(pack.stats.remote())["rounds"] == 2


def test_a_full_pack_says_so_and_a_released_slot_is_reused(small_trial_data: TrialData,
                                                           tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    pack = _pack(small_trial_data, settings, capacity=1)
    for tid in ("a", "b"):
        _folder(settings, tid)
    assert ray.get(pack.register.remote("a", CONFIG))["status"] == "ok"
    assert ray.get(pack.register.remote("b", CONFIG)) == {"status": "full"}
    ray.get(pack.next_epoch.remote("a"))
    ray.get(pack.release.remote("a"))
    assert ray.get(pack.register.remote("b", OTHER)) == {"status": "ok", "epoch": 0}
    assert ray.get(pack.next_epoch.remote("b"))["n_params"] == 16 * 32 + 32 + 32 * 5 + 5
    assert ray.get(pack.next_epoch.remote("a"))["status"] == "no_slot"  # registers again


def test_a_trainer_checkpoint_resumes_in_a_pack(small_trial_data: TrialData,
                                                shared_pack: tuple) -> None:
    """A trial that trained itself for 2 epochs (e.g. before the study was resumed with
    packs) continues at epoch 3 from its own weights."""
    pack, settings = shared_pack
    folder = _folder(settings, "r")
    trainer = Trainer(arch_from_params(CONFIG, 16), hyperparams_from_params(CONFIG), settings, small_trial_data,
                      torch.device("cpu"), seed=trial_seed(settings.seed, "r"))
    states: list[dict] = []

    def report(metrics: dict, state: dict | None, best: dict | None) -> None:
        if state is not None:
            states.append({**state, "last_metrics": metrics})
        if metrics["epoch"] == 2:
            raise StopIteration

    with pytest.raises(StopIteration):
        fit(trainer, report)
    save_state(states[-1], folder / "state.pt")
    val_before = states[-1]["last_metrics"]["val_loss"]
    assert ray.get(pack.register.remote("r", CONFIG)) == {"status": "ok", "epoch": 2}
    _folder(settings, "fresh")
    ray.get(pack.register.remote("fresh", CONFIG))
    third, first = ray.get([pack.next_epoch.remote("r"), pack.next_epoch.remote("fresh")])
    assert third["epoch"] == 3 and first["epoch"] == 1
    # continued from its weights: better than before, and than the same model from scratch
    assert third["val_loss"] < val_before < first["val_loss"]
    assert third["time_s"] > states[-1]["elapsed_s"]
    ray.get([pack.release.remote("r"), pack.release.remote("fresh")])


def test_a_finished_trial_is_not_trained_again(small_trial_data: TrialData, tmp_path: Path,
                                               shared_pack: tuple) -> None:
    settings = _settings(tmp_path, max_epochs=1)
    pack = _pack(small_trial_data, settings)
    _folder(settings, "f")
    ray.get(pack.register.remote("f", CONFIG))
    last = ray.get(pack.next_epoch.remote("f"))
    ray.get(pack.release.remote("f"))
    again = ray.get(pack.register.remote("f", CONFIG))
    assert again == {"status": "done", "metrics": last}
    # an ended trial (Tune finished it, e.g. stopped by ASHA) likewise: after 1 of 3 epochs
    pack2, settings2 = shared_pack
    _folder(settings2, "s")
    ray.get(pack2.register.remote("s", CONFIG))
    ray.get(pack2.next_epoch.remote("s"))
    ray.get(pack2.release.remote("s"))
    ended_marker(settings2.state_dir, "s").touch()
    assert ray.get(pack2.register.remote("s", CONFIG))["status"] == "done"


def test_a_silent_trial_is_evicted(small_trial_data: TrialData, tmp_path: Path) -> None:
    """A trial killed without releasing (its process gone) gives its slot back."""
    settings = _settings(tmp_path)
    pack = _pack(small_trial_data, settings, capacity=1, evict_s=0.5)
    for tid in ("gone", "next"):
        _folder(settings, tid)
    ray.get(pack.register.remote("gone", CONFIG))
    ray.get(pack.next_epoch.remote("gone"))
    # "full" until "gone" has been silent evict_s plus the last round's time: ask until then
    deadline = time.monotonic() + 30
    while (reply := ray.get(pack.register.remote("next", CONFIG)))["status"] == "full":
        assert time.monotonic() < deadline, "the silent trial was never evicted"
        time.sleep(0.1)
    assert reply["status"] == "ok"
    assert ray.get(pack.stats.remote())["evicted"] == 1
    reply = ray.get(pack.next_epoch.remote("gone"))
    assert reply["status"] == "no_slot" and "holds no slot" in reply["why"]


def test_a_diverging_trial_gets_nan_and_its_neighbour_does_not(shared_pack: tuple) -> None:
    pack, settings = shared_pack
    wild = {**CONFIG, "depth": 3, "width_0": 32, "width_1": 32, "width_2": 32, "lr": 1e30}
    for tid, config in (("wild", wild), ("calm", CONFIG)):
        _folder(settings, tid)
        ray.get(pack.register.remote(tid, config))
    results = [ray.get([pack.next_epoch.remote("wild"), pack.next_epoch.remote("calm")])
               for _ in range(2)]
    assert any(not math.isfinite(w["train_loss_running"]) or not math.isfinite(w["val_loss"])
               for w, _ in results)
    assert all(math.isfinite(c["val_loss"]) for _, c in results)
    log = (Path(settings.state_dir) / "calm" / EPOCHS_FILE).read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in log] == [1, 2]
    ray.get([pack.release.remote("wild"), pack.release.remote("calm")])


def test_a_pack_restarted_by_ray_reloads_the_jets_and_trials_resume(
        small_trial_data: TrialData, tmp_path: Path) -> None:
    """Ray restarts a dead pack from its arguments (the jets' file, not the object store);
    a trial that asks the new pack learns it must register again, and then continues from its
    checkpoint."""
    from jetstudy.study.packing import write_pack_data

    settings = _settings(tmp_path, max_epochs=5)
    data_file = write_pack_data(small_trial_data, tmp_path)
    actor = ray.remote(PackServer).options(num_cpus=1, max_restarts=-1)
    pack = actor.remote(str(data_file), settings, capacity=2, max_depth=3, max_width=32)
    _PACKS.append(pack)
    _folder(settings, "t")
    ray.get(pack.register.remote("t", CONFIG))
    before = [ray.get(pack.next_epoch.remote("t")) for _ in range(2)]
    ray.get(pack.stats.remote())  # the checkpoints are on disk
    ray.kill(pack, no_restart=False)
    deadline = time.monotonic() + 60
    while True:  # calls fail while the actor restarts
        try:
            assert ray.get(pack.next_epoch.remote("t"))["status"] == "no_slot"
            break
        except ray.exceptions.RayActorError:
            assert time.monotonic() < deadline, "the pack did not restart"
            time.sleep(0.5)
    assert ray.get(pack.register.remote("t", CONFIG)) == {"status": "ok", "epoch": 2}
    third = ray.get(pack.next_epoch.remote("t"))
    assert third["epoch"] == 3 and third["val_loss"] < before[0]["val_loss"]


def test_grouped_rounds_train_each_model_as_one_call_does(small_trial_data: TrialData,
                                                          tmp_path: Path) -> None:
    """Splitting a round into calls of similar models (``groups``) changes the padding, not
    the models: the same trials on a 1-call and a 2-call pack give the same metrics."""
    results = []
    for groups in (1, 2):
        settings = _settings(tmp_path / f"g{groups}")
        pack = _pack(small_trial_data, settings, groups=groups, gather_bounds_s=(0.5, 1.0))
        for tid, config in (("a", CONFIG), ("b", OTHER)):
            _folder(settings, tid)
            ray.get(pack.register.remote(tid, config))
        rounds = [ray.get([pack.next_epoch.remote("a"), pack.next_epoch.remote("b")])
                  for _ in range(2)]
        assert ray.get(pack.stats.remote())["rounds"] == 2
        results.append(rounds)
        ray.kill(_PACKS.pop())
    for one, two in zip(*results):
        for m1, m2 in zip(one, two):
            for key in ("train_loss_running", "train_loss", "val_loss", "val_acc", "val_auc"):
                assert m1[key] == pytest.approx(m2[key], rel=1e-4, abs=1e-6), key
