"""A light TensorBoard event file writer for the driver: what Ray Tune's ``TBXLoggerCallback``
calls of tensorboardX's ``SummaryWriter``, without its cost per result.

tensorboardX's ``SummaryWriter`` gives each trial a ``multiprocessing.Queue`` of 10 events (a
feeder thread, a pipe, a semaphore) and a writer thread, draws each scalar as its own event
(the driver blocks while the queue is full: 8 scalars per epoch), and Tune flushes it after
every result, an ``fsync`` each time: 1.4 ms of the driver per result, measured with 16 trials
(bench/README.md, "Driver CPU"); at 512 trials, 1,024 threads. This writer keeps no thread: an
epoch's scalars (Tune draws them one by one, all at one step) go out as one event, written to
the file when Tune flushes (one ``write``, no ``fsync``, and no descriptor kept open between
results: at 512 trials that is 512 fewer in the driver; TensorBoard reads the file as it grows;
a machine's crash may lose the last epochs' points, which ``--resume`` draws again from
``trials/<id>/epochs.jsonl``, see :mod:`jetstudy.study.run_logs`). The file is the one
tensorboardX makes (``events.out.tfevents.<time>.<host>``, records framed and checksummed as
TFRecord), so TensorBoard and tensorboardX's readers read it unchanged.
"""

from __future__ import annotations

import socket
import struct
import time
from pathlib import Path
from typing import Any

from tensorboardX.proto import event_pb2, summary_pb2
from tensorboardX.record_writer import masked_crc32c

__all__ = ["EventFile"]


class EventFile:
    """One trial's event file, with the ``SummaryWriter`` methods Tune's TBX logger calls
    (``add_scalar``, ``add_histogram``, ``add_image(s)``, ``add_video``, ``flush``,
    ``close``, ``file_writer.add_summary``). ``flush_secs`` is accepted and not used: every
    :meth:`flush` writes."""

    def __init__(self, logdir: str, flush_secs: float = 0.0) -> None:
        folder = Path(logdir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"events.out.tfevents.{str(time.time())[:10]}.{socket.gethostname()}"
        self.path = folder / name
        self._closed = False  # the file itself is open only while a flush writes
        self._step: int | None = None
        self._values: list[summary_pb2.Summary.Value] = []
        self._records: list[bytes] = []
        self.file_writer = self  # Tune writes hparams through writer.file_writer.add_summary
        self._record(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2"))
        self.flush()

    def _record(self, event: event_pb2.Event) -> None:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        self._records.append(b"".join((header, struct.pack("<I", masked_crc32c(header)),
                                       data, struct.pack("<I", masked_crc32c(data)))))

    def _end_step(self) -> None:
        """The pending step's scalars, as one event."""
        if self._values:
            self._record(event_pb2.Event(wall_time=time.time(), step=self._step,
                                         summary=summary_pb2.Summary(value=self._values)))
        self._values, self._step = [], None

    def add_scalar(self, tag: str, value: float, global_step: int | None = None) -> None:
        step = int(global_step or 0)
        if step != self._step:
            self._end_step()
            self._step = step
        self._values.append(summary_pb2.Summary.Value(tag=tag, simple_value=float(value)))

    def add_summary(self, summary: summary_pb2.Summary, global_step: int | None = None) -> None:
        self._end_step()
        self._record(event_pb2.Event(wall_time=time.time(), step=int(global_step or 0),
                                     summary=summary))

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None) -> None:
        import numpy as np
        from tensorboardX.summary import histogram

        self.add_summary(histogram(tag, np.asarray(values, dtype=float), "auto"), global_step)

    def add_image(self, tag: str, value: Any, global_step: int | None = None) -> None:
        from tensorboardX.summary import image

        self.add_summary(image(tag, value, dataformats="CHW"), global_step)

    def add_images(self, tag: str, value: Any, global_step: int | None = None) -> None:
        from tensorboardX.summary import image

        self.add_summary(image(tag, value, dataformats="NCHW"), global_step)

    def add_video(self, tag: str, value: Any, global_step: int | None = None,
                  fps: int = 4) -> None:
        from tensorboardX.summary import video

        self.add_summary(video(tag, value, fps=fps), global_step)

    def flush(self) -> None:
        """Everything drawn so far into the file (opened, one write, closed: no descriptor
        held between results; the OS keeps the data, no fsync)."""
        self._end_step()
        if self._records and not self._closed:
            with open(self.path, "ab") as f:
                f.write(b"".join(self._records))
        self._records = []

    def close(self) -> None:
        if not self._closed:
            self.flush()
            self._closed = True
