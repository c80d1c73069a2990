"""A pack: one Ray actor per GPU that trains many trials' models as one computation.

Each Ray Tune trial of a packed study is a light process (``jetstudy.trainables.packed_trial``) that
registers its configuration here and asks for one epoch at a time. The server collects the
requests that arrive together into a *round* and trains those models as one
:class:`~jetstudy.trainables.packed.PackedTrainer` call, then evaluates them together: many small MLPs
keep the GPU busy where one alone is bound by kernel launches.

What stays per trial, as with a trial that trains itself (``jetstudy.trainables.trial``):

* its own model, Adam state, learning curve and best epoch (an
  :class:`~jetstudy.trainables.bookkeeping.EpochBook`, as ``loop.fit`` keeps; ``patience`` stops it
  the same way);
* its own folder: before the trial hears of an epoch, the server writes ``best.pt`` when the
  best epoch improved (what :func:`jetstudy.study.evaluate.load_best_model` reads), appends the epoch
  to ``epochs.jsonl`` and writes ``state.pt`` when one is due (the layout ``Trainer`` reads),
  so a restarted trial (worker lost, driver resumed) continues from it, here or on another
  pack;
* its own stop: the trial reports to Tune and waits for Tune's go-ahead before asking for the
  next epoch, so ASHA stops it between epochs and it frees its slot (:meth:`PackServer.release`).
  A trial whose process was killed without releasing is evicted after ``evict_s`` without a
  request.

Rounds are not lock-step: a round starts when every registered trial is waiting, or once no
trial is *due back*, or ``gather_bounds_s[1]`` after its first request. A trial is due back
while its last answer is on its way or went out less than twice its own relay time (answer ->
Tune -> next request, measured per trial) ago, so trials whose relay is longer than a round
still train together (a round waits at least ``GATHER_FRACTION`` of the last round's time,
bounded by ``gather_bounds_s``); a trial that stopped, stalled or died joins the next round
instead of holding the others. Models in one round share the
epoch's permutation of the training jets; which models share a round depends on timing, so a
packed trial is not bit-for-bit repeatable (its seed fixes its initial weights).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from jetstudy.trainables.bookkeeping import EpochBook, divergence, epoch_record
from jetstudy.trainables.checkpoint import load_checkpoint, sync_best, write_epoch
from jetstudy.trainables.device import pick_device, set_matmul_precision
from jetstudy.trainables.loop import TrainSettings, TrialData, arch_from_params, epoch_book
from jetstudy.trainables.model import count_flops, count_params
from jetstudy.trainables.packed import PackedTrainer
from jetstudy.trainables.pack_protocol import DONE, FULL, NO_SLOT, OK
from jetstudy.trainables.trialfiles import best_path, has_ended, seed_for, state_path

__all__ = ["PackServer", "GATHER_BOUNDS_S", "EVICT_S"]

logger = logging.getLogger(__name__)

#: A round waits for stragglers this long at most (and at least), after its first request.
GATHER_BOUNDS_S = (0.02, 0.5)
#: The share of the last round's time a round waits for stragglers at least.
GATHER_FRACTION = 0.25
#: Beyond that, a round waits (up to ``gather_bounds_s[1]`` after its first request) for the
#: members due back: answered less than this multiple of their own relay time ago (+ slack).
RELAY_WAIT, RELAY_SLACK_S = 2.0, 0.05
#: A registered trial that has not asked for an epoch for this long (plus the last round's
#: time) is taken to be gone (killed without releasing) and its slot is freed.
EVICT_S = 120.0


@dataclass
class _Member:
    slot: int
    n_params: int
    flops: int
    book: EpochBook                        # its best epoch's record (epoch, value, model)
    rates: tuple[float, float, float]      # lr, l1, l2: named when its loss diverges
    elapsed_s: float                       # trained time carried over from a checkpoint
    started: float = field(default_factory=time.perf_counter)
    last_seen: float = field(default_factory=time.monotonic)
    request: asyncio.Future | None = None  # asked for an epoch, waiting for a round
    in_round: bool = False                 # in a round, until its answer is delivered
    delivered_at: float | None = None      # when its last epoch's answer went out
    relay_s: float | None = None           # its relay time (answer -> next request), smoothed


class PackServer:
    """Trains up to ``capacity`` trials' models on this actor's device (the GPU Ray gave it,
    else the CPU). Methods are coroutines: Ray runs it as an async actor."""

    def __init__(self, data: TrialData | str, settings: TrainSettings, capacity: int,
                 max_depth: int, max_width: int, evict_s: float = EVICT_S,
                 gather_bounds_s: tuple[float, float] = GATHER_BOUNDS_S,
                 groups: int | str = "auto", graphs: bool = True) -> None:
        """``data``: the jets, or an ``.npz`` file of :class:`TrialData`'s fields (what
        ``jetstudy.study.packing`` passes, so that Ray can restart a pack from its arguments).
        ``groups``: a round's models train in up to this many calls of similar size, or
        ``"auto"``: in the calls that cost least on this device (:meth:`PackedTrainer.groups`,
        :mod:`jetstudy.trainables.pack_groups`). ``graphs``: on CUDA, replay each call's training
        step as a CUDA graph (``PackedTrainer(graphs=True)``)."""
        if isinstance(data, str):
            with np.load(data) as arrays:
                data = TrialData(**{k: arrays[k] for k in arrays.files})
        torch.set_num_threads(settings.torch_threads)
        self.groups = groups
        self.settings, self.evict_s, self.gather_bounds_s = settings, evict_s, gather_bounds_s
        self.device = pick_device(settings.device)
        self.matmul_precision = set_matmul_precision(settings.matmul_precision, self.device)
        self.trainer = PackedTrainer(data, settings, self.device, max_depth=max_depth,
                                     max_width=max_width, capacity=capacity, graphs=graphs)
        self.members: dict[str, _Member] = {}
        self._lock: asyncio.Lock | None = None     # made on the actor's event loop
        self._wake: asyncio.Event | None = None
        self._loop_task: asyncio.Task | None = None
        self._last_round_s = 0.0
        # checkpoints are written while the next round trains (one thread: in order per trial)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack-writer")
        self._pending_writes: list[Any] = []
        self._deliveries: set[asyncio.Task] = set()  # referenced until done
        self.stats_ = {"rounds": 0, "calls": 0, "trial_epochs": 0, "train_s": 0.0,
                       "registered": 0,
                       "evicted": 0, "largest_round": 0, "round_sizes": {},
                       "relays": 0, "relay_s": 0.0, "relay_s_max": 0.0, "gather_s": 0.0,
                       "first_round_at": None,
                       "last_round_at": None}

    # ------------------------------------------------------------------ the trials' calls

    async def register(self, trial_id: str, config: dict[str, Any]) -> dict[str, Any]:
        """Give ``trial_id`` a slot, resumed from its state file if it has one.

        Returns ``{"status": "ok", "epoch": n}``; ``{"status": "done", "metrics": m}`` when
        the trial had already trained all its epochs (or Tune had ended it); ``{"status":
        "full"}`` when no slot is free (the trial asks again, or another pack)."""
        self._start()
        async with self._lock:
            self._evict_idle()
            await asyncio.to_thread(self._flush)  # its state file may be on its way
            if trial_id in self.members:  # the trial restarted while its slot lived on
                member = self.members[trial_id]
                self._fail_pending(member, "the trial registered again")
                member.last_seen = time.monotonic()
                return {"status": OK, "epoch": self.trainer.epoch(member.slot)}
            path = state_path(self.settings.state_dir, trial_id)
            state = load_checkpoint(path) if path.is_file() else None
            if state is not None and has_ended(
                    self.settings.state_dir, trial_id, state["trainer"]["epoch"],
                    self.settings.max_epochs, bool(state["last_metrics"].get("converged"))):
                return {"status": DONE, "metrics": state["last_metrics"]}
            if len(self.members) >= self.trainer.capacity:
                return {"status": FULL}
            slot = self.trainer.add(config, seed=seed_for(config, self.settings.seed, trial_id))
            arch = arch_from_params(config, n_inputs=self.trainer.n_inputs)
            member = _Member(slot=slot, n_params=count_params(arch), flops=count_flops(arch),
                             book=epoch_book(self.settings), elapsed_s=0.0,
                             rates=(float(config["lr"]), float(config.get("l1", 0.0)),
                                    float(config.get("l2", 0.0))))
            if state is not None:
                self.trainer.load_state(slot, state["trainer"])
                member.book.restore(state["best"])
                member.elapsed_s = float(state.get("elapsed_s", 0))
                # epochs after the state are trained again: best.pt follows the state
                await asyncio.to_thread(sync_best,
                                        best_path(self.settings.state_dir, trial_id), state)
            self.members[trial_id] = member
            self.stats_["registered"] += 1
            return {"status": OK, "epoch": self.trainer.epoch(slot)}

    async def next_epoch(self, trial_id: str) -> dict[str, Any]:
        """Train the trial's model one more epoch (in the next round) and return the epoch's
        metrics, as ``jetstudy.trainables.loop.fit`` reports them (its files are written first); or
        ``{"status": "no_slot", "why": ...}`` for a trial this pack does not know."""
        self._start()
        member = self.members.get(trial_id)
        if member is None:
            return {"status": NO_SLOT,
                    "why": f"trial {trial_id} holds no slot on this pack (evicted after "
                           f"{self.evict_s:.0f} s without a request, or the pack "
                           f"restarted); the trial registers again"}
        member.last_seen = time.monotonic()
        if member.delivered_at is not None:  # its relay: answer -> Tune -> next request
            relay = member.last_seen - member.delivered_at
            member.delivered_at = None
            self.stats_["relays"] += 1
            self.stats_["relay_s"] += relay
            self.stats_["relay_s_max"] = max(self.stats_["relay_s_max"], relay)
            member.relay_s = relay if member.relay_s is None else 0.5 * (member.relay_s + relay)
        member.request = asyncio.get_running_loop().create_future()
        self._wake.set()
        return await member.request

    async def release(self, trial_id: str) -> None:
        """Free the trial's slot (it ended, failed or was stopped by the scheduler)."""
        self._start()
        async with self._lock:
            member = self.members.pop(trial_id, None)
            if member is not None:
                self._fail_pending(member, "the trial released its slot")
                self.trainer.remove(member.slot)

    async def stats(self) -> dict[str, Any]:
        """Rounds, trial-epochs, seconds spent training, members, the device and its memory;
        returns once every checkpoint so far is written."""
        self._start()
        peak = (torch.cuda.max_memory_allocated(self.device) / 2**20
                if self.device.type == "cuda" else None)
        async with self._lock:  # every checkpoint written: the driver reads them next
            await asyncio.to_thread(self._flush)
        first, last = self.stats_["first_round_at"], self.stats_["last_round_at"]
        span = last - first if first is not None else 0.0
        counters = {k: v for k, v in self.stats_.items() if not k.endswith("_at")}
        return {**counters, "members": len(self.members), "device": self.device.type,
                "capacity": self.trainer.capacity, "pack_groups": self.groups,
                "gpu_mem_peak_mib": peak,
                "padded_flops": self.trainer.padded_flops,
                "matmul_precision": self.matmul_precision,
                "graphs": self.trainer.graphs and self.device.type == "cuda",
                # from the first round's start to the last round's end: the share of it spent
                # training is how busy the pack (and its GPU) was kept
                "span_s": span, "busy": self.stats_["train_s"] / span if span > 0 else None}

    # ------------------------------------------------------------------ rounds

    def _start(self) -> None:
        if self._loop_task is None:
            self._lock, self._wake = asyncio.Lock(), asyncio.Event()
            self._loop_task = asyncio.get_running_loop().create_task(self._rounds())

    async def _rounds(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not any(m.request is not None for m in self.members.values()):
                continue  # its requests went into the last round
            low, high = self.gather_bounds_s
            first = time.monotonic()
            floor = first + min(max(GATHER_FRACTION * self._last_round_s, low), high)
            while not self._all_waiting():
                now = time.monotonic()
                if now >= first + high or (now >= floor and not self._any_due(now)):
                    break
                await asyncio.sleep(0.002)
            self.stats_["gather_s"] += time.monotonic() - first
            async with self._lock:
                self._wake.clear()  # every request so far joins this round
                self._evict_idle()
                batch = {tid: m for tid, m in self.members.items()
                         if m.request is not None and not m.request.done()}
                if not batch:
                    continue
                futures = {tid: m.request for tid, m in batch.items()}
                for m in batch.values():
                    m.request, m.in_round = None, True
                began = time.perf_counter()
                try:
                    outcome, writes = await asyncio.to_thread(self._train_round, batch)
                except Exception as exc:  # e.g. out of GPU memory: the trials fail, not the pack
                    logger.exception("packed round failed")
                    outcome, writes = RuntimeError(f"the packed round failed: {exc!r}"), []
                finally:
                    self._last_round_s = time.perf_counter() - began
            # the next round may train while this one's checkpoints are written
            task = asyncio.get_running_loop().create_task(
                self._deliver(batch, futures, outcome, writes))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            if any(m.request is not None for m in self.members.values()):
                self._wake.set()  # requests that came during the round

    async def _deliver(self, batch: dict[str, _Member], futures: dict[str, asyncio.Future],
                       outcome: dict[str, dict[str, Any]] | Exception, writes: list) -> None:
        """Answer a round's trials once their checkpoints are on disk (a trial reports an
        epoch only after its files hold it)."""
        try:
            await asyncio.gather(*(asyncio.wrap_future(w) for w in writes))
        except Exception as exc:
            logger.exception("writing a packed checkpoint failed")
            outcome = RuntimeError(f"writing the trial's checkpoint failed: {exc!r}")
        for tid, future in futures.items():
            batch[tid].in_round, batch[tid].last_seen = False, time.monotonic()
            if future.done():  # released meanwhile
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome[tid])
                batch[tid].delivered_at = time.monotonic()

    def _all_waiting(self) -> bool:
        """Every member has asked for its next epoch."""
        return all(m.request is not None for m in self.members.values())

    def _any_due(self, now: float) -> bool:
        """Some member will ask for its next epoch soon: its last answer is on its way (its
        round's files are being written), or went out less than ``RELAY_WAIT x`` its usual
        relay time (answer -> Tune -> next request) ago, plus ``RELAY_SLACK_S``. A member
        never answered yet, or long overdue (stopped by the scheduler, its release on the
        way; or gone), is not waited for."""
        for m in self.members.values():
            if m.request is not None:
                continue
            if m.in_round:
                return True
            if m.delivered_at is not None and now - m.delivered_at < (
                    RELAY_WAIT * (m.relay_s if m.relay_s is not None else self.gather_bounds_s[1])
                    + RELAY_SLACK_S):
                return True
        return False

    def _train_round(self, batch: dict[str, _Member]
                     ) -> tuple[dict[str, dict[str, Any]], list[Any]]:
        """One epoch for the batch's models and their evaluation and bookkeeping; returns the
        metrics and the file writes it started. Runs in a thread while the event loop
        takes new requests."""
        slots = [m.slot for m in batch.values()]
        began = time.perf_counter()
        if self.stats_["first_round_at"] is None:
            self.stats_["first_round_at"] = began
        running = self.trainer.train_epoch(slots, groups=self.groups)
        evaluated = self.trainer.evaluate(slots, groups=self.groups)
        self.stats_["calls"] += len(self.trainer.groups(slots, self.groups))
        out, writes = {}, []
        for tid, m in batch.items():
            epoch = self.trainer.epoch(m.slot)
            metrics = epoch_record(epoch, running[m.slot], evaluated[m.slot], m.n_params,
                                   m.flops, m.elapsed_s + time.perf_counter() - m.started)
            out[tid] = metrics
            if divergence(metrics, *m.rates):  # as loop.fit: a diverged epoch is not written
                continue                        # (the trial fails on it and frees its slot)
            verdict = m.book.close(metrics)
            state = (self.trainer.state(m.slot) if verdict.improved or verdict.checkpoint
                     else None)  # on the CPU
            if verdict.improved:
                m.book.keep_best(state["model"])
            writes += self._write(tid, metrics, state if verdict.checkpoint else None,
                                  m.book.best, state["arch"] if verdict.improved else None)
        self.stats_["rounds"] += 1
        self.stats_["trial_epochs"] += len(batch)
        self.stats_["last_round_at"] = time.perf_counter()
        self.stats_["train_s"] += self.stats_["last_round_at"] - began
        self.stats_["largest_round"] = max(self.stats_["largest_round"], len(batch))
        sizes = self.stats_["round_sizes"]  # models per round -> rounds of that size
        sizes[str(len(batch))] = sizes.get(str(len(batch)), 0) + 1
        return out, writes

    def _write(self, trial_id: str, metrics: dict[str, Any], state: dict[str, Any] | None,
               best: dict[str, Any], new_best_arch: dict[str, Any] | None) -> list[Any]:
        """Start writing the epoch's files on the writer thread, in order: ``best.pt`` if the
        best improved (``new_best_arch``: its architecture), the epoch's line, the checkpoint
        if one is due (returned: the trial hears of the epoch once they are written)."""
        checkpoint = None
        if state is not None:
            checkpoint = {"trainer": {k: state[k] for k in ("model", "optimizer", "epoch")},
                          "best": best, "arch": state["arch"], "elapsed_s": metrics["time_s"],
                          "last_metrics": metrics}
        self._pending_writes = [w for w in self._pending_writes if not w.done()]
        self._pending_writes.append(self._writer.submit(
            write_epoch, self.settings.state_dir, trial_id, metrics, state=checkpoint,
            best=best if new_best_arch is not None else None, arch=new_best_arch,
            device=self.device.type, packed=True))
        return self._pending_writes[-1:]

    def _flush(self) -> None:
        """Wait for the checkpoints written so far (re-raising a failed write)."""
        while self._pending_writes:
            self._pending_writes.pop(0).result()

    # ------------------------------------------------------------------ slots

    def _evict_idle(self) -> None:
        limit = self.evict_s + self._last_round_s
        now = time.monotonic()
        for tid in [t for t, m in self.members.items()
                    if m.request is None and not m.in_round and now - m.last_seen > limit]:
            logger.warning("pack: trial %s sent no request for %.0f s; freeing its slot",
                           tid, now - self.members[tid].last_seen)
            self.trainer.remove(self.members.pop(tid).slot)
            self.stats_["evicted"] += 1

    @staticmethod
    def _fail_pending(member: _Member, why: str) -> None:
        if member.request is not None and not member.request.done():
            member.request.set_exception(RuntimeError(why))
        member.request = None
