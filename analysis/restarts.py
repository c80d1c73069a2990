"""Trials Ray Tune restarted from their checkpoint: the sentence the report's Outcomes part adds.

A trial whose worker died (a lost node, the OOM killer) or that raised is restarted by Tune from
its last checkpoint (``resources.max_failures``), a packed trial whose pack died goes on from it
on the restarted pack; the epochs after that checkpoint are trained again, and the epochs table keeps the last training of each. Its learning curve then joins two
runs, which a reader should be told. Read from the trials table's ``restarts`` column alone
(absent in tables written before it existed: nothing is said).

A trial a ``--resume`` continued from its checkpoint after the study's driver stopped is no
worker's loss, but its curve joins two runs too: the ``resumed`` column, a sentence of its own.

>>> import pandas as pd
>>> restart_lines(pd.DataFrame({"trial_id": ["a1b2", "c3d4", "e5f6"], "restarts": [1, 2, 0]}))
['2 trials restarted after their worker died or failed: a1b2 (1), c3d4 (2) (each went on from its last checkpoint, restarted by Ray Tune (resources.max_failures) or by its pack; the epochs after that checkpoint trained again, so their curves join two runs).']
"""

from __future__ import annotations

import pandas as pd

__all__ = ["restarted", "restart_lines", "LISTED"]

#: The column, and what the sentence says of such a trial (before the trials named).
_WHY = {"restarts": "restarted after {its} worker died or failed",
        "resumed": "continued by --resume after the study's driver stopped"}

#: The most trials the sentence names; more are counted.
LISTED = 10


def restarted(trials: pd.DataFrame, column: str = "restarts") -> pd.Series:
    """Restarts (``column``: ``resumed``, continuations by --resume) per trial id, only trials
    with at least one, in the table's order (an unreadable or missing count is none)."""
    if column not in trials.columns or "trial_id" not in trials.columns:
        return pd.Series(dtype="int64")
    counts = pd.to_numeric(trials[column], errors="coerce").fillna(0).astype("int64")
    keep = counts > 0
    return pd.Series(counts[keep].to_numpy(), index=trials.loc[keep, "trial_id"].astype(str))


def restart_lines(trials: pd.DataFrame) -> list[str]:
    """One sentence naming the restarted trials and how often each restarted, one naming the
    trials --resume continued; none without."""
    lines = []
    for column in ("restarts", "resumed"):
        counts = restarted(trials, column)
        if counts.empty:
            continue
        names = ", ".join(f"{tid} ({n})" for tid, n in counts.head(LISTED).items())
        more = f" and {len(counts) - LISTED} more" if len(counts) > LISTED else ""
        k = len(counts)
        which = "their curves join" if k > 1 else "its curve joins"
        why = _WHY[column].format(its="their" if k > 1 else "its")
        how = ("restarted by Ray Tune (resources.max_failures) or by its pack"
               if column == "restarts" else "not a worker's loss")
        lines.append(f"{k} trial{'s' if k > 1 else ''} {why}: {names}{more} (each went on "
                     f"from its last checkpoint, {how}; the epochs after that checkpoint "
                     f"trained again, so {which} two runs).")
    return lines
