"""A trial's own folder, ``<results>/<study>/trials/<trial id>/``: names, paths and readers.

Torch-free, so the light trial processes of packed training (``jetstudy.trainables.packed_trial``) and
the driver's bookkeeping can use it without importing torch.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

from jetstudy.trainables.atomic import write_atomic
from jetstudy.trainables.plain_read import read_plain

__all__ = ["TUNE_KEYS", "STATE_FILE", "BEST_FILE", "EPOCHS_FILE", "CONFIG_FILE", "ENDED_FILE",
           "SEED_KEY", "trial_seed", "number_seed", "seed_for", "state_path", "best_path", "ended_marker",
           "mark_ended", "has_ended", "PASSED_FILE", "mark_passed", "passed_epoch", "for_tune",
           "append_epoch", "read_epochs", "trial_folder", "DIVERGED_FILE", "mark_diverged",
           "diverged_before", "RESTARTS_FILE", "mark_restarted", "restart_count",
           "RESUMED_FILE", "mark_resumed", "resume_count"]

#: What each epoch tells Ray Tune (ASHA, Optuna, the progress line, and through Tune's loggers
#: ``progress.csv``, ``result.json`` and TensorBoard). The full record goes to the trial's own
#: epoch log; fewer keys keep Tune's per-trial bookkeeping in the driver small.
TUNE_KEYS: tuple[str, ...] = ("epoch", "train_loss", "train_loss_running", "val_loss", "val_acc",
                              "val_auc", "n_params", "flops")

#: The trial's resumable state (model, optimiser, RNG, best epoch), in its own folder; written
#: every ``training.checkpoint_every`` epochs, at the last epoch and when the trial converges.
STATE_FILE = "state.pt"
#: The weights of the trial's best epoch so far, rewritten whenever that epoch improves (before
#: the epoch's line reaches the epoch log), whatever ``checkpoint_every`` says: a trial stopped
#: between checkpoints still has them, and the test evaluation reads them.
BEST_FILE = "best.pt"
#: One JSON line per trained epoch, appended as the trial goes (the trial's own learning curve:
#: Tune's result logs restart when Tune restarts a trial).
EPOCHS_FILE = "epochs.jsonl"
#: The trial's configuration, so the tables can list it even if Tune lost track of it.
CONFIG_FILE = "config.json"
#: Marks a trial Ray Tune has finished, so a restarted driver does not train it again.
ENDED_FILE = "ended"
#: Holds why a trial diverged (a non-finite training loss): Ray Tune restarts a failed trial
#: ``resources.max_failures`` times from its checkpoint, where it would only diverge again
#: (same weights, same batches); a restart that finds this file fails at once with its reason.
DIVERGED_FILE = "diverged"
#: The last epoch whose result the driver processed and let the trial go on from (ASHA's
#: decision made, not a stop): written by ``jetstudy.study.ledger.TrialLedger``, so that a
#: resume knows a trial killed while training the epoch after an ASHA rung had been promoted
#: there, and does not judge it again (``jetstudy.study.rungs``).
PASSED_FILE = "passed"
#: One line per time the trial went on from its checkpoint after a failure, holding its last
#: reported epoch: Ray Tune restarted it after its worker died (a lost node, the OOM killer) or
#: it raised (``resources.max_failures``; written by ``jetstudy.study.ledger.TrialLedger``), or
#: its pack died or evicted it (written by ``jetstudy.trainables.packed_trial``). Counted into
#: the trials table's ``restarts`` (epochs after the checkpoint were trained again).
RESTARTS_FILE = "restarts"
#: One line per time a ``--resume`` continued the trial from its checkpoint after the study's
#: driver stopped (a crash, a kill, a lost head node), holding its last logged epoch: not a
#: worker's loss, yet its epochs after the checkpoint train again. Written by the resuming
#: driver (``jetstudy.study.launch_resumed``), counted into the trials table's ``resumed``.
RESUMED_FILE = "resumed"


#: The config key carrying the trial's seed; the searcher puts it there
#: (``jetstudy.study.searcher.HonestOptunaSearch.suggest``), so a rerun of a study trains each
#: configuration from the same initial weights and batch order.
SEED_KEY = "seed"


def trial_seed(study_seed: int, trial_id: str) -> int:
    """A per-trial seed from Ray's trial id: stable across restarts of the same trial but not
    across reruns (Ray's ids are random). Only for configs without :data:`SEED_KEY` (studies
    started before the searcher set it)."""
    return (study_seed * 1_000_003 + zlib.crc32(trial_id.encode())) % (2**31)


def number_seed(study_seed: int, number: int) -> int:
    """The seed of the Optuna trial ``number`` of a study seeded ``search.seed``: the same on
    every rerun of the study, different for every trial."""
    return (study_seed * 1_000_003 + zlib.crc32(f"trial-{number}".encode())) % (2**31)


def seed_for(config: dict[str, Any], study_seed: int, trial_id: str) -> int:
    """The seed a trial trains with: its config's :data:`SEED_KEY`, else :func:`trial_seed`."""
    if config.get(SEED_KEY) is not None:
        return int(config[SEED_KEY])
    return trial_seed(study_seed, trial_id)


def state_path(state_dir: str, trial_id: str) -> Path:
    """Where a trial keeps its resumable state (under the shared results folder)."""
    return Path(state_dir) / trial_id / STATE_FILE


def best_path(state_dir: str, trial_id: str) -> Path:
    """Where a trial keeps its best epoch's weights (:data:`BEST_FILE`)."""
    return Path(state_dir) / trial_id / BEST_FILE


def ended_marker(state_dir: str, trial_id: str) -> Path:
    """Written by the driver when Tune has finished a trial (see ``jetstudy.study.ledger``)."""
    return Path(state_dir) / trial_id / ENDED_FILE


def mark_ended(state_dir: str, trial_id: str, epoch: int) -> None:
    """Write the trial's :data:`ENDED_FILE` marker, holding the epoch Tune ended it at; the
    one writer (the ledger when Tune finishes a trial, the rung replay when a resume finds a
    trial below ASHA's cut). Raises ``OSError``; the caller says what it means."""
    marker = ended_marker(state_dir, trial_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{epoch}\n")


def mark_passed(state_dir: str, trial_id: str, epoch: int) -> None:
    """Record that the driver processed the trial's result of ``epoch`` and let it go on
    (:data:`PASSED_FILE`). Raises ``OSError``."""
    path = Path(state_dir) / trial_id / PASSED_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{epoch}\n")


def passed_epoch(state_dir: str, trial_id: str) -> int:
    """The epoch :func:`mark_passed` last recorded for the trial; 0 if none (a study of an
    older jetstudy, or a record cut by a kill)."""
    try:
        return int(read_plain(Path(state_dir) / trial_id / PASSED_FILE).strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return 0


def has_ended(state_dir: str, trial_id: str, epochs_trained: int, max_epochs: int,
              converged: bool = False) -> bool:
    """Nothing is left to train: all epochs done, the trial converged (stopped by its
    patience; its last epoch says ``"converged": true``), or Tune finished it (its marker)."""
    return (epochs_trained >= max_epochs or bool(converged)
            or ended_marker(state_dir, trial_id).is_file())


def mark_diverged(state_dir: str, trial_id: str, reason: str) -> None:
    """Record that the trial diverged and why (:data:`DIVERGED_FILE`), never through a link;
    each further attempt adds a line."""
    path = Path(state_dir) / trial_id / DIVERGED_FILE
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    _append_line(fd, reason.replace("\n", " "))


def _append_line(fd: int, line: str) -> None:
    """Append ``line`` and a newline to the open file ``fd`` (then closed), in one write,
    after a newline of its own when the file ends in a line a kill cut short: the new line is
    never glued to that fragment (both would be lost to the reader)."""
    try:
        size = os.fstat(fd).st_size
        cut = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
        os.write(fd, (("\n" if cut else "") + line + "\n").encode())
    finally:
        os.close(fd)


def _add_after_epoch(path: Path, epoch: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    _append_line(fd, json.dumps({"after_epoch": int(epoch)}))


def mark_restarted(state_dir: str, trial_id: str, epoch: int) -> None:
    """Add a line to the trial's :data:`RESTARTS_FILE` (never through a link). Raises
    ``OSError``; the caller says what it means."""
    _add_after_epoch(Path(state_dir) / trial_id / RESTARTS_FILE, epoch)


def mark_resumed(state_dir: str, trial_id: str, epoch: int) -> None:
    """Add a line to the trial's :data:`RESUMED_FILE` (never through a link). Raises
    ``OSError``; the caller says what it means."""
    _add_after_epoch(Path(state_dir) / trial_id / RESUMED_FILE, epoch)


def restart_count(state_dir: str, trial_id: str) -> int:
    """How many times Ray Tune restarted the trial after a failure (:func:`mark_restarted`'s
    lines, a line cut by a kill among them); 0 without the file."""
    return _lines(Path(state_dir) / trial_id / RESTARTS_FILE)


def resume_count(state_dir: str, trial_id: str) -> int:
    """How many times a ``--resume`` continued the trial (:func:`mark_resumed`'s lines)."""
    return _lines(Path(state_dir) / trial_id / RESUMED_FILE)


def _lines(path: Path) -> int:
    if path.is_symlink() or not path.is_file():
        return 0
    try:
        return sum(1 for line in read_plain(path).splitlines() if line.strip())
    except (OSError, UnicodeDecodeError):
        return 0


def diverged_before(state_dir: str, trial_id: str) -> str | None:
    """The reason an earlier attempt of this trial diverged, or None."""
    path = Path(state_dir) / trial_id / DIVERGED_FILE
    if path.is_symlink() or not path.is_file():
        return None
    lines = read_plain(path).splitlines()
    return lines[0] if lines else None


def for_tune(metrics: dict[str, Any]) -> dict[str, Any]:
    """The part of an epoch's metrics that is reported to Ray Tune (:data:`TUNE_KEYS`), plus
    ``"converged": True`` on the epoch where the trial stopped by its patience."""
    out = {key: metrics[key] for key in TUNE_KEYS if key in metrics}  # older records: fewer
    if metrics.get("converged"):
        out["converged"] = True
    return out


def append_epoch(state_dir: str, trial_id: str, metrics: dict[str, Any],
                 **extra: Any) -> None:
    """Append one epoch's line (``metrics`` and ``extra``) to the trial's epoch log."""
    path = Path(state_dir) / trial_id / EPOCHS_FILE
    # never through a link: a link planted there would append to the file it points at
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    if os.fstat(fd).st_nlink > 1:  # a hard link: the same bytes under a name of the user's
        os.close(fd)
        raise OSError(f"{path} is hard-linked to another file; jetstudy appends only to its "
                      f"own epoch log: remove the link and resume the study")
    _append_line(fd, json.dumps({**metrics, **extra}))


def trial_folder(state_dir: str, trial_id: str, config: dict[str, Any]) -> Path:
    """The trial's folder, made if needed, with its ``config.json``.

    ``state_dir`` itself must exist: the driver makes it, so a node that cannot see it (not
    mounted, e.g. one added later by the autoscaler) fails here instead of writing a private
    copy nobody reads.
    """
    if not Path(state_dir).is_dir():
        raise RuntimeError(f"this node cannot see {state_dir}: storage.results_dir "
                           f"must be a path mounted on every node (see docs/cluster.md)")
    folder = Path(state_dir) / trial_id
    if folder.is_symlink():  # its checkpoints would replace files wherever it points
        raise RuntimeError(f"{folder} is a link (to {os.readlink(folder)}), not the trial's "
                           f"own folder; jetstudy writes only inside the study folder: remove "
                           f"the link and resume the study")
    folder.mkdir(exist_ok=True)
    path = folder / CONFIG_FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return folder  # never through a link, never over a folder: kept as it is
    if not _json_file(path):  # absent, or cut (a kill between its creation and its bytes)
        write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(config)))
    return folder


def _json_file(path: Path) -> bool:
    """``path`` is a file holding one whole JSON value (what :func:`trial_folder` writes)."""
    try:
        json.loads(read_plain(path))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return True


def read_epochs(state_dir: str, trial_id: str) -> list[dict[str, Any]]:
    """The trial's per-epoch metrics, one entry per epoch (the latest when an epoch was trained
    twice, i.e. after a restart from an earlier checkpoint)."""
    path = Path(state_dir) / trial_id / EPOCHS_FILE
    if not path.is_file():
        return []
    by_epoch: dict[int, dict[str, Any]] = {}
    for line in read_plain(path).splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a line cut by a crash
            continue
        by_epoch[int(row["epoch"])] = row
    return [by_epoch[e] for e in sorted(by_epoch)]
