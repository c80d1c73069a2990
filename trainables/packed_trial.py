"""The Ray Tune function trainable of a packed study: a light process per trial.

The trial's model trains on a pack (:class:`~jetstudy.trainables.pack_server.PackServer`, one per
GPU); this process registers the configuration, asks for one epoch at a time, and reports
each epoch to Tune, which waits for the scheduler's decision before letting it ask for the
next (Tune runs function trainables with synchronous reporting). It imports neither torch nor
the training code (the packs' handles point at the torch-free
:class:`~jetstudy.trainables.pack_protocol.PackActor`; Ray imports a handle's actor class
wherever it is unpickled), so a study can run hundreds of these on one node: measured with
``bench.trial_memory``, a trial process holds what any Ray Tune trial holds (``ray.tune``
itself imports pandas, pyarrow, ``ray.data`` and ``ray.train``), about 110 MB private memory
against 235 MB when it imported torch.

Lives in an importable module because Ray pickles trainables by reference.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Sequence

import ray
from ray import tune
from ray.exceptions import RayActorError

from jetstudy.trainables.bookkeeping import TrialDiverged, divergence
from jetstudy.trainables.pack_protocol import DONE, FULL, NO_SLOT, OK
from jetstudy.trainables.trialfiles import (diverged_before, for_tune, mark_diverged,
                                            mark_restarted, trial_folder)

__all__ = ["run_packed_trial", "PackedTrialDiverged", "REGISTER_TIMEOUT_S", "IMPORTS_ENV",
           "HEAVY_MODULES"]

#: How long a trial waits for a free slot on some pack before it fails.
REGISTER_TIMEOUT_S = 600.0

#: Set to a folder, each trial process writes ``<pid>.json`` there at its start and end: which
#: of :data:`HEAVY_MODULES` it has imported (``bench.trial_memory`` and a test read them).
IMPORTS_ENV = "JETSTUDY_TRIAL_IMPORTS"
#: Modules a trial that only relays has no use for (or, for ``ray.*``, Ray's own baseline).
HEAVY_MODULES: tuple[str, ...] = ("torch", "pandas", "pyarrow", "numpy", "scipy", "sklearn",
                                  "h5py", "optuna", "ray.tune", "ray.train", "ray.data",
                                  "jetstudy.trainables.packed", "jetstudy.trainables.loop",
                                  "jetstudy.study.config")


#: The trial's loss became NaN or infinite (its slot on the pack is freed): the self-training
#: loop's class, so a failed trial's ``error`` reads the same packed or not.
PackedTrialDiverged = TrialDiverged


def run_packed_trial(config: dict[str, Any], servers: Sequence[Any], state_dir: str,
                     max_epochs: int) -> None:
    """Train ``config`` on one of ``servers`` (the packs' ``PackActor`` handles), reporting every
    epoch to Ray Tune; the pack writes the trial's files in ``state_dir/<trial id>/``.

    The trial ends after ``max_epochs``, or earlier when the pack says it converged (the
    study's ``patience``). If the pack dies (its node lost) or forgets the trial (evicted,
    restarted), the trial registers again, on that pack once Ray has restarted it or on
    another, and continues from its checkpoint: a lost pack costs the trial no failure of its
    ``max_failures``."""
    _report_imports()
    trial_id = tune.get_context().get_trial_id() or "local"
    trial_folder(state_dir, trial_id, config)
    earlier = diverged_before(state_dir, trial_id)
    if earlier is not None:  # Tune's restart (max_failures) would only diverge again
        mark_diverged(state_dir, trial_id, "restarted: not trained again")
        raise PackedTrialDiverged(earlier)
    server, reply = _register(trial_id, config, servers)
    try:
        while reply["status"] == OK and reply["epoch"] < max_epochs:
            try:  # a RayTaskError (e.g. out of memory in the round) is a real failure
                metrics = ray.get(server.next_epoch.remote(trial_id))
            except RayActorError:  # the pack died or is restarting
                metrics = {"status": NO_SLOT}
            if metrics.get("status") == NO_SLOT:  # evicted, or a restarted pack: again
                _record_restart(state_dir, trial_id, reply["epoch"])  # from its checkpoint
                server, reply = _register(trial_id, config, servers)
                continue
            epoch = metrics["epoch"]
            reason = divergence(metrics, config["lr"], config.get("l1", 0.0),
                                config.get("l2", 0.0))
            if reason:  # before the report: a NaN never reaches the scheduler
                mark_diverged(state_dir, trial_id, reason)
                raise PackedTrialDiverged(reason)
            tune.report(for_tune(metrics))  # returns once Tune says go on
            if metrics.get("converged"):  # stopped by its patience
                break
            reply = {"status": OK, "epoch": epoch}
        if reply["status"] == DONE:  # trained to the end before a restart: repeat the result
            tune.report(for_tune(reply["metrics"]))
    finally:  # ended, failed or stopped by the scheduler (Tune ends the thread in report)
        server.release.remote(trial_id)
        _report_imports()


def _record_restart(state_dir: str, trial_id: str, epoch: int) -> None:
    """The trial continues from its checkpoint on a pack that did not hold it (its pack died
    or evicted it): counted as Tune's restarts are (``trials.parquet``'s ``restarts``)."""
    try:  # a bookkeeping write must never fail the trial it records
        mark_restarted(state_dir, trial_id, epoch)
    except OSError as exc:
        logging.getLogger(__name__).warning("trial %s: could not record its restart (%s); "
                                            "the trials table will not count it", trial_id, exc)


def _register(trial_id: str, config: dict[str, Any],
              servers: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    """A slot on the first pack with room, starting from one picked by the trial id (so
    trials spread over the packs); waits while all are full or restarting."""
    first = zlib.crc32(trial_id.encode()) % len(servers)
    order = [servers[(first + k) % len(servers)] for k in range(len(servers))]
    deadline = time.monotonic() + REGISTER_TIMEOUT_S
    while True:
        for server in order:
            try:
                reply = ray.get(server.register.remote(trial_id, config))
            except RayActorError:  # dead or being restarted by Ray: try the others, then again
                continue
            if reply["status"] != FULL:
                return server, reply
        if time.monotonic() > deadline:
            raise RuntimeError(f"no pack had a free slot for {REGISTER_TIMEOUT_S:.0f} s (all "
                               f"full, or lost with no node to restart them on); check the "
                               f"cluster's GPU nodes, and that resources.pack_size x packs "
                               f">= search.max_concurrent")
        time.sleep(0.5)


def _report_imports() -> None:
    """With :data:`IMPORTS_ENV` set, write this process's heavy ``sys.modules`` (at the
    trial's start and end: the end's list holds whatever the trial imported on the way)."""
    folder = os.environ.get(IMPORTS_ENV)
    if folder:
        heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules)
        record = {"pid": os.getpid(), "heavy": heavy, "modules": len(sys.modules)}
        try:
            (Path(folder) / f"{os.getpid()}.json").write_text(json.dumps(record))
        except OSError as exc:  # a diagnostic: a bad folder never fails the trial
            logging.getLogger(__name__).warning(
                "%s is %r, a folder that cannot be written (%s): the trial's imports are not "
                "recorded; set it to an existing writable folder or unset it", IMPORTS_ENV,
                folder, exc.strerror or exc)
