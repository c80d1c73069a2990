"""Referee 10 (driver): TensorBoard's files cost the driver little per result.

Tune's TBX logger drew each result through tensorboardX's ``SummaryWriter``: per trial a
``multiprocessing.Queue`` of 10 events with its feeder thread and a writer thread, each scalar
its own event, and a flush with ``fsync`` after every result: 1.4 ms of the driver per result
with 16 trials (of ~4.7 ms in all), 2 threads per trial (1,024 at 512 trials). jetstudy's
``EpochTBXLogger`` now writes through ``jetstudy.study.tb_events.EventFile``: no thread, an
epoch's scalars in one event, one ``write`` per result, no ``fsync``, the file in tensorboardX's
format (records framed and checksummed as its ``RecordWriter`` frames them). Tune's calls are
replayed on the logger as the driver makes them (a stand-in trial, no Ray session).
"""

from __future__ import annotations

import io
import os
import struct
import threading
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")

from tensorboardX.proto import event_pb2  # noqa: E402
from tensorboardX.record_writer import RecordWriter  # noqa: E402

from jetstudy.study.run_logs import EpochTBXLogger  # noqa: E402
from tests.study.run_log_trial import StandInTrial, curve  # noqa: E402


def _result(epoch: int, iteration: int, trial: StandInTrial) -> dict:
    return {"epoch": epoch, "train_loss": 1.4 - epoch / 20, "val_loss": 1.5 - epoch / 20,
            "val_acc": 0.5 + epoch / 100, "n_params": 90, "flops": 170,
            "training_iteration": iteration, "trial_id": trial.trial_id,
            "config": trial.config, "pid": 1, "timestamp": 2, "time_total_s": 0.5}


def _records(path: Path) -> list[bytes]:
    data, at, out = path.read_bytes(), 0, []
    while at < len(data):
        (size,) = struct.unpack("<Q", data[at:at + 8])
        out.append(data[at:at + 12 + size + 4])
        at += 12 + size + 4
    return out


def _trials(tmp_path: Path, n: int) -> list[StandInTrial]:
    return [StandInTrial(tmp_path / f"staging{i}", tmp_path / "ray" / f"t{i}", f"t{i:07d}",
                         {"depth": 2}) for i in range(n)]


def test_results_start_no_thread_and_never_fsync(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    logger, trials = EpochTBXLogger(), _trials(tmp_path, 8)
    threads = threading.active_count()
    for trial in trials:
        logger.log_trial_start(trial)
    for epoch in (1, 2, 3):
        for trial in trials:
            logger.log_trial_result(epoch, trial, _result(epoch, epoch, trial))
    assert threading.active_count() == threads  # tensorboardX: 2 more per trial
    assert synced == []  # tensorboardX: one fsync per result
    for trial in trials:
        logger.log_trial_end(trial)
    assert threading.active_count() == threads


def test_each_epoch_is_one_event_readable_while_the_trial_runs(tmp_path: Path) -> None:
    logger, (trial,) = EpochTBXLogger(), _trials(tmp_path, 1)
    trial.evaluated_params = {"depth": 2}  # Tune draws hparams at the trial's end
    logger.log_trial_start(trial)
    staging = Path(trial.local_path)
    for epoch in (1, 2):
        logger.log_trial_result(epoch, trial, _result(epoch, epoch, trial))
        # TensorBoard reads the file as it grows: each epoch is there once reported
        assert curve(staging, "ray/tune/val_loss") == [
            (e, round(1.5 - e / 20, 4)) for e in range(1, epoch + 1)]
    (path,) = staging.glob("events.out.tfevents.*")
    events = [event_pb2.Event.FromString(r[12:-4]) for r in _records(path)]
    assert events[0].file_version == "brain.Event:2"
    assert [e.step for e in events[1:]] == [1, 2]  # one event per epoch, step = epoch
    assert {v.tag for v in events[1].summary.value} == {
        f"ray/tune/{k}" for k in ("epoch", "train_loss", "val_loss", "val_acc", "n_params",
                                  "flops", "trial_id")} - {"ray/tune/trial_id"}
    logger.log_trial_end(trial)
    tags = {v.tag for r in _records(path) for v in event_pb2.Event.FromString(r[12:-4])
            .summary.value}
    assert "_hparams_/experiment" in tags and "_hparams_/session_start_info" in tags
    # framed and checksummed as tensorboardX's own RecordWriter frames a record
    for record in _records(path):
        out = io.BytesIO()
        writer = RecordWriter.__new__(RecordWriter)
        writer._writer = out
        writer.write(record[12:-4])
        assert out.getvalue() == record


def test_a_list_result_is_drawn_as_a_histogram_as_tune_does(tmp_path: Path) -> None:
    logger, (trial,) = EpochTBXLogger(), _trials(tmp_path, 1)
    logger.log_trial_start(trial)
    logger.log_trial_result(1, trial, {**_result(1, 1, trial), "grad_norms": [0.1, 0.2, 0.4]})
    logger.log_trial_end(trial)
    (path,) = Path(trial.local_path).glob("events.out.tfevents.*")
    kinds = {v.tag: v.WhichOneof("value") for r in _records(path)
             for v in event_pb2.Event.FromString(r[12:-4]).summary.value}
    assert kinds["ray/tune/grad_norms"] == "histo" and kinds["ray/tune/val_loss"] == "simple_value"
