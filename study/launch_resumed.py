"""The trials a ``--resume`` continues from their checkpoint, recorded in each trial's folder.

A driver that stopped (a crash, ``kill -9``, a lost head node) leaves Ray Tune's last
experiment state with its running trials; ``--resume`` restores them and each goes on from its
last checkpoint, training the epochs after it again. That is no worker's loss (Tune's
``on_trial_recover`` is not called, ``restarts`` stays 0), yet its curve joins two runs as a
restarted trial's does: the resuming driver appends ``{"after_epoch": N}`` to
``trials/<id>/resumed`` (the trials table's ``resumed``, named by the report's Outcomes part).
Tune's state is read as plain JSON: nothing in it is unpickled. A trial that trained after
Tune's last snapshot is unknown to it: the resumed searcher adopts it under a new id
(:meth:`jetstudy.study.searcher.HonestOptunaSearch._adopt`) and it goes on from its checkpoint
too, recorded alike (:func:`mark_adopted`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from jetstudy.trainables.trialfiles import ended_marker, mark_resumed, read_epochs
from jetstudy.trainables.plain_read import read_plain

__all__ = ["continued_trials", "mark_continued", "mark_adopted"]

logger = logging.getLogger(__name__)


def continued_trials(folder: Path) -> dict[str, int]:
    """Trial id -> last logged epoch of each trial Tune's newest ``ray/experiment_state-*.json``
    holds unfinished (neither TERMINATED nor ERROR) that logged an epoch and was not ended by
    Tune after that state was saved (its ``ended`` marker); {} where there is no state or it
    cannot be read."""
    states = sorted((Path(folder) / "ray").glob("experiment_state-*.json"))
    if not states:
        return {}
    try:
        data = json.loads(read_plain(states[-1]))
        trials = [json.loads(item[0]) for item in data["trial_data"]]
        unfinished = [str(t["trial_id"]) for t in trials
                      if t.get("status") not in ("TERMINATED", "ERROR")]
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        logger.warning("--resume: could not read which trials Ray Tune continues from %s (%s); "
                       "the trials table's resumed column counts none of them", states[-1], exc)
        return {}
    state_dir = str(Path(folder) / "trials")
    out = {}
    for trial_id in unfinished:
        if ended_marker(state_dir, trial_id).is_file():
            continue
        epochs = read_epochs(state_dir, trial_id)
        if epochs:
            out[trial_id] = int(epochs[-1]["epoch"])
    return out


def _record(state_dir: str, trial_id: str, epoch: int) -> None:
    try:
        mark_resumed(state_dir, trial_id, epoch)
    except OSError as exc:
        logger.warning("trial %s: could not record that --resume continued it (%s); the "
                       "trials table's resumed column misses it", trial_id, exc.strerror or exc)


def mark_adopted(state_dir: Path, trial_id: str) -> None:
    """Record that ``--resume`` continued the lost trial now in ``state_dir/trial_id`` (its
    folder, moved there by the adoption) after its last logged epoch; none logged: nothing to
    record (it starts afresh)."""
    epochs = read_epochs(str(state_dir), trial_id)
    if epochs:
        _record(str(state_dir), trial_id, int(epochs[-1]["epoch"]))


def mark_continued(folder: Path) -> dict[str, int]:
    """Record each of :func:`continued_trials` in its folder; returns them. A record that
    cannot be written is warned about and never stops the study."""
    continued = continued_trials(folder)
    for trial_id, epoch in continued.items():
        _record(str(Path(folder) / "trials"), trial_id, epoch)
    if continued:
        logger.info("--resume continues %d trial(s) from their checkpoint: %s", len(continued),
                    ", ".join(continued))
    return continued
