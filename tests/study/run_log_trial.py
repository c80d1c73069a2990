"""What the run-log tests (``jetstudy.study.run_logs``, rounds 6 and 7) share: a stand-in of the
trial Tune's loggers read (no Ray session), the copy of a driver's staging folder into ``ray/``
as Tune's syncer makes it, and the scalars of TensorBoard's event files read back."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.fs
from tensorboardX.proto import event_pb2


class _Storage:
    def __init__(self, trial_fs_path: Path) -> None:
        self.trial_fs_path = str(trial_fs_path)
        self.storage_filesystem = pyarrow.fs.LocalFileSystem()


class StandInTrial:
    """What Tune's loggers read of a trial: its staging folder and its folder in ``ray/``."""

    def __init__(self, staging: Path, stored: Path, trial_id: str,
                 config: dict[str, Any]) -> None:
        self.local_path, self.storage = str(staging), _Storage(stored)
        self.trial_id, self.config, self.evaluated_params = trial_id, config, {}
        self.checkpoint = None  # resumed from jetstudy's checkpoint, not a Tune one
        self.init_local_path()  # Tune makes it before the loggers see the trial

    def init_local_path(self) -> None:
        Path(self.local_path).mkdir(parents=True, exist_ok=True)


def sync_staging(staging: Path, stored: Path) -> None:
    """A driver's staging folder synced into ``ray/`` (new files over old ones of the same
    name); its event file renamed first, as event files are named by the second they were
    made and two drivers' must not collide."""
    for events in staging.glob("events.out.tfevents.*"):
        events.rename(events.with_name(f"{events.name}.{staging.name}"))
    shutil.copytree(staging, stored, dirs_exist_ok=True)


def scalars(folder: Path) -> Iterator[tuple[int, str, float]]:
    """(step, tag, value) of every scalar in every event file of ``folder``, in file order."""
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (size,) = struct.unpack("<Q", data[at:at + 8])
            event = event_pb2.Event.FromString(data[at + 12:at + 12 + size])
            at += 12 + size + 4
            yield from ((event.step, v.tag, v.simple_value) for v in event.summary.value)


def curve(folder: Path, tag: str) -> list[tuple[int, float]]:
    """The sorted (step, value) points of ``tag``, values to 4 decimals."""
    return sorted((step, round(value, 4)) for step, t, value in scalars(folder) if t == tag)
