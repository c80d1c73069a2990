"""The result loggers' cost per result in the driver, without Ray: Tune's calls replayed on
jetstudy's loggers (``jetstudy.study.run_logs``) for stand-in trials.

    python -m bench.loggers --trials 16 --epochs 100
    python -m bench.loggers --trials 16 --epochs 100 --tensorboardx   # tensorboardX's writer

Per logger: CPU ms per result (``time.process_time``: the process, all threads, so a writer's
own threads count), and the threads and file descriptors added while the trials run
(``open_files_added``: Tune's CSV and JSON loggers kept 2 per trial open, before 2026-11-29
session 12; now none between results). ``--tensorboardx`` draws
TensorBoard through tensorboardX's ``SummaryWriter`` as Tune's own logger does (the writer
before 2026-11-29), for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["StandIn", "measure", "main"]


class StandIn:
    """What Tune's loggers read of a trial (its folders, id, config)."""

    def __init__(self, folder: Path, trial_id: str) -> None:
        import pyarrow.fs

        self.local_path = str(folder / "staging" / trial_id)
        self.storage = argparse.Namespace(trial_fs_path=str(folder / "ray" / trial_id),
                                          storage_filesystem=pyarrow.fs.LocalFileSystem())
        self.trial_id, self.checkpoint = trial_id, None
        self.config = {"depth": 2, "widths": [16, 8], "lr": 0.003, "dropout": 0.1}
        self.evaluated_params = dict(self.config)
        self.init_local_path()

    def init_local_path(self) -> None:
        Path(self.local_path).mkdir(parents=True, exist_ok=True)


def _result(trial: StandIn, epoch: int) -> dict[str, Any]:
    """An epoch's result as Tune hands it to the loggers (jetstudy's keys and Tune's own)."""
    return {"epoch": epoch, "train_loss": 1.2, "train_loss_running": 1.3, "val_loss": 1.1,
            "val_acc": 0.6, "val_auc": 0.8, "n_params": 181, "flops": 400, "timestamp": 1,
            "checkpoint_dir_name": None, "done": False, "training_iteration": epoch,
            "trial_id": trial.trial_id, "date": "2026-11-29_01-00-00", "time_this_iter_s": 0.1,
            "time_total_s": 1.0, "pid": 123, "hostname": "vm", "node_ip": "10.0.0.1",
            "config": trial.config, "time_since_restore": 1.0, "iterations_since_restore": epoch}


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def measure(trials: int, epochs: int, folder: Path, tensorboardx: bool = False) -> dict[str, Any]:
    from jetstudy.study.run_logs import run_log_callbacks

    loggers = run_log_callbacks(None)
    if tensorboardx:
        from tensorboardX import SummaryWriter

        for logger in loggers:
            if hasattr(logger, "_summary_writer_cls"):
                logger._summary_writer_cls = SummaryWriter
    stand_ins = [StandIn(folder, f"t{i:07d}") for i in range(trials)]
    threads_before, fds_before = threading.active_count(), _open_fds()
    for logger in loggers:
        for trial in stand_ins:
            logger.log_trial_start(trial)
    spent = {type(logger).__name__: 0.0 for logger in loggers}
    threads_running = fds_running = 0
    for epoch in range(1, epochs + 1):
        for trial in stand_ins:
            result = _result(trial, epoch)
            for logger in loggers:
                began = time.process_time()
                logger.log_trial_result(epoch, trial, result)
                spent[type(logger).__name__] += time.process_time() - began
        threads_running = max(threads_running, threading.active_count() - threads_before)
        fds_running = max(fds_running, _open_fds() - fds_before)
    for logger in loggers:
        for trial in stand_ins:
            logger.log_trial_end(trial)
    n = trials * epochs
    return {"trials": trials, "epochs": epochs, "results": n, "tensorboardx": tensorboardx,
            "ms_per_result": {k: round(1000 * v / n, 3) for k, v in spent.items()},
            "ms_per_result_all": round(1000 * sum(spent.values()) / n, 3),
            "threads_added": threads_running, "open_files_added": fds_running}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--tensorboardx", action="store_true",
                        help="TensorBoard through tensorboardX's SummaryWriter (as before)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    from bench import emit, require_positive

    require_positive(parser, args, ["trials", "epochs"])
    with tempfile.TemporaryDirectory(prefix="bench-loggers-") as tmp:
        result = measure(args.trials, args.epochs, Path(tmp), args.tensorboardx)
    emit(json.dumps(result, indent=1), args.out)


if __name__ == "__main__":
    main()
