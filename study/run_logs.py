"""Ray Tune's own logs of each trial (``ray/<run>/progress.csv``, ``result.json`` and the
TensorBoard event files), told by epoch and continued across ``jetstudy run --resume``.

jetstudy resumes a trial from its own checkpoint (``trials/<id>/state.pt``), not from a Tune
checkpoint. Tune's default loggers take such a trial for one starting from scratch: after a
resume, ``progress.csv`` and ``result.json`` held only the epochs trained since (the earlier
rows were overwritten when the new, empty files were synced into ``ray/``), and TensorBoard
drew the resumed epochs at steps 1, 2, ... over the first ones (its step is Tune's
``training_iteration``, which restarts). These callbacks replace Tune's three: the files
continue where they stopped, each epoch is logged once (a resumed trial reports again the last
epoch it had finished), and TensorBoard's step is the epoch. Lives in an importable module:
Tune pickles callbacks by reference.
"""

from __future__ import annotations

import csv
import json
import logging
import struct
from pathlib import Path
from typing import Any

import pyarrow.fs
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback
from ray.tune.result import TRAINING_ITERATION

from jetstudy.trainables.trialfiles import for_tune, read_epochs
from jetstudy.trainables.plain_read import open_plain, read_plain_bytes

__all__ = ["run_log_callbacks", "EpochCSVLogger", "EpochJsonLogger", "EpochTBXLogger",
           "ClosedBetweenWrites"]

logger = logging.getLogger(__name__)


def _epoch(result: dict[str, Any]) -> int | None:
    epoch = result.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, (int, float)) or epoch != epoch:
        return None
    return int(epoch)


def _missed(trials_dir: str | None, trial: Any, result: dict, after: int,
            before: int) -> list[dict]:
    """Results for the epochs ``after < e < before`` the trial trained and logged in
    ``trials/<id>/epochs.jsonl`` but Tune never received (a Ctrl-C while the report was on its
    way; the resumed trial goes on from its checkpoint after them): the result's keys, Tune's
    own fields (times, iteration) unknown (None), the epoch's metrics from the log."""
    if not trials_dir or before <= after + 1:
        return []
    try:
        rows = read_epochs(trials_dir, str(trial.trial_id))
        rows = [r for r in rows if after < int(r["epoch"]) < before]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    kept = {k: result[k] for k in ("trial_id", "config") if k in result}
    return [{**dict.fromkeys(result), **kept, **for_tune(r)} for r in rows]


def _last_epoch(path: Path) -> int:
    """The largest epoch logged in an earlier run's ``progress.csv`` or ``result.json``."""
    last = 0
    try:
        with open_plain(path, "r", newline="") as f:
            rows = (csv.DictReader(f) if path.suffix == ".csv"
                    else (json.loads(line) for line in f if line.strip()))
            for row in rows:
                try:
                    last = max(last, int(float(row.get("epoch") or 0)))
                except (TypeError, ValueError):
                    continue
    except (OSError, ValueError):  # unreadable: log everything again rather than nothing
        return 0
    return last


class _Continued:
    """Logs each epoch once, continuing what an earlier driver logged. Two hooks:
    :meth:`_earlier` (the last epoch already in the trial's file, read once) and
    :meth:`_as_logged` (a result as this file takes it). Restores the trial's file from
    ``ray/`` whenever it has one (Tune does only when the trial has a Tune checkpoint)."""

    def __init__(self, trials_dir: str | None = None) -> None:
        super().__init__()
        self._logged: dict[Any, int] = {}
        self._trials_dir = trials_dir

    def __getstate__(self) -> dict[str, Any]:  # pickled into tuner.pkl: no trials, no files
        state = self.__dict__.copy()
        state["_logged"] = {}
        return state

    def _restore_from_remote(self, file_name: str, trial: Any) -> None:
        super()._restore_from_remote(file_name, trial)  # type: ignore[misc]
        local = Path(trial.local_path, file_name)
        if not (local.exists() and local.stat().st_size > 0):
            remote = Path(trial.storage.trial_fs_path, file_name).as_posix()
            try:
                pyarrow.fs.copy_files(remote, local.as_posix(),
                                      source_filesystem=trial.storage.storage_filesystem)
            except (FileNotFoundError, OSError):  # a new trial: nothing logged yet
                pass
        self._logged[trial] = _last_epoch(local) if local.exists() else 0

    def _earlier(self, trial: Any) -> int:
        """The last epoch the trial's file holds (an earlier driver's included)."""
        raise NotImplementedError

    def _as_logged(self, result: dict, epoch: int, trial: Any = None) -> dict:
        """``result`` (of ``epoch``, the ``trial``'s) as this file takes it."""
        return result

    def log_trial_result(self, iteration: int, trial: Any, result: dict) -> None:
        epoch = _epoch(result)
        if epoch is None:  # not an epoch's result: logged as Tune would
            super().log_trial_result(iteration, trial, result)  # type: ignore[misc]
            return
        last = self._earlier(trial)
        if epoch <= last:
            return  # logged before the resume (or reported again)
        for missed in _missed(self._trials_dir, trial, result, last, epoch):
            super().log_trial_result(  # type: ignore[misc]
                iteration, trial, self._as_logged(missed, int(missed["epoch"]), trial))
        super().log_trial_result(  # type: ignore[misc]
            iteration, trial, self._as_logged(result, epoch, trial))
        self._logged[trial] = epoch


class ClosedBetweenWrites:
    """A log file that holds no file descriptor between results: :meth:`write` keeps the text,
    :meth:`flush` (Tune's loggers flush after each result) appends it (open, write, close).
    Tune's CSV and JSON loggers kept each running trial's file open, two descriptors per trial
    in the driver: at 512 trials at once, with TensorBoard's, ~1,536, past the 1,024 a Linux
    shell allows by default (``ulimit -n``). The same text and file; ~10 us more per write."""

    def __init__(self, path: str) -> None:
        self.name = path
        self._parts: list[str] = []

    @classmethod
    def instead_of(cls, file: Any) -> "ClosedBetweenWrites":
        """Take over Tune's open ``file`` (closed here) at its path."""
        file.close()
        return cls(file.name)

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        if self._parts:
            text, self._parts = "".join(self._parts), []
            with open(self.name, "a") as f:  # as Tune opens it ("at")
                f.write(text)

    def close(self) -> None:
        self.flush()


class EpochCSVLogger(_Continued, CSVLoggerCallback):
    """``progress.csv``: one row per epoch, continued across a resume; the file is open only
    while a row is written (:class:`ClosedBetweenWrites`)."""

    def _setup_trial(self, trial: Any) -> None:
        super()._setup_trial(trial)
        self._trial_files[trial] = ClosedBetweenWrites.instead_of(self._trial_files[trial])

    def _earlier(self, trial: Any) -> int:
        if trial not in self._trial_files:
            self._setup_trial(trial)  # restores the file, reads its last epoch
        return self._logged.get(trial, 0)


class EpochJsonLogger(_Continued, JsonLoggerCallback):
    """``result.json``: one line per epoch, continued across a resume; the file is open only
    while a line is written (:class:`ClosedBetweenWrites`)."""

    def log_trial_start(self, trial: Any) -> None:
        super().log_trial_start(trial)
        self._trial_files[trial] = ClosedBetweenWrites.instead_of(self._trial_files[trial])

    def _earlier(self, trial: Any) -> int:
        if trial not in self._trial_files:
            self.log_trial_start(trial)  # restores the file, reads its last epoch
        return self._logged.get(trial, 0)


_TAGS = "ray/tune/"  # the prefix of every scalar TBXLoggerCallback draws


def _last_step(folder: Path) -> tuple[int, frozenset[str]]:
    """The largest step an earlier driver drew in the event files it left in ``folder`` (a
    local folder; 0 when there are none or they cannot be read), and the tags drawn at it."""
    try:
        from google.protobuf.message import DecodeError
        from tensorboardX.proto import event_pb2
    except ImportError:
        return 0, frozenset()
    last, tags = 0, set()
    for path in folder.glob("events.out.tfevents.*"):
        try:
            data, at = read_plain_bytes(path), 0
            while at + 12 <= len(data):
                (size,) = struct.unpack("<Q", data[at:at + 8])
                event = event_pb2.Event.FromString(data[at + 12:at + 12 + size])
                at += 12 + size + 4
                drawn = {v.tag for v in event.summary.value if v.tag.startswith(_TAGS)}
                if drawn and event.step > last:
                    last, tags = int(event.step), set()
                if drawn and event.step == last:
                    tags |= drawn
        except (OSError, ValueError, struct.error, DecodeError):
            continue
    return last, frozenset(tags)


class EpochTBXLogger(_Continued, TBXLoggerCallback):
    """TensorBoard: each epoch once, at step = its epoch number (a resumed trial's later
    epochs follow its earlier ones instead of restarting at step 1), its scalars in one event
    written by :class:`~jetstudy.study.tb_events.EventFile` (Tune's loop, tensorboardX's
    file format, not its ``SummaryWriter``).

    tensorboardX draws an epoch's scalars one event at a time, so a driver stopped midway
    leaves its last epoch with only its first tags: that epoch is drawn again after a resume,
    with only the tags it lacks (each tag once per epoch)."""

    def __init__(self, trials_dir: str | None = None) -> None:
        super().__init__(trials_dir)  # Tune's: raises ImportError without tensorboardX
        from jetstudy.study.tb_events import EventFile

        # one event per epoch, written without tensorboardX's threads and fsync per result
        self._summary_writer_cls = EventFile
        self._cut: dict[Any, tuple[int, frozenset[str]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_cut": {}}

    def _earlier(self, trial: Any) -> int:
        if trial not in self._logged:  # what an earlier driver drew (ray/ on this machine)
            last, tags = _last_step(Path(trial.storage.trial_fs_path))
            self._cut[trial] = (last, tags)
            self._logged[trial] = max(last - 1, 0)  # its last epoch may be cut part-way
        return self._logged[trial]

    def _as_logged(self, result: dict, epoch: int, trial: Any = None) -> dict:
        last, tags = self._cut.get(trial, (0, frozenset()))
        if epoch == last:  # the tags the earlier driver drew at it stay as they are
            result = {k: v for k, v in result.items() if f"{_TAGS}{k}" not in tags}
        return {**result, TRAINING_ITERATION: epoch}


def run_log_callbacks(trials_dir: str | None = None) -> list[Any]:
    """The three loggers, for ``RunConfig(callbacks=...)`` (Tune then adds none of its own);
    ``trials_dir`` (the study's ``trials/``): where epochs Tune never received are found."""
    out: list[Any] = [EpochCSVLogger(trials_dir), EpochJsonLogger(trials_dir)]
    try:
        out.append(EpochTBXLogger(trials_dir))
    except ImportError:  # no tensorboardX: Tune's own behaviour, no event files
        logger.info("tensorboardX is not installed: no TensorBoard files")
    return out
