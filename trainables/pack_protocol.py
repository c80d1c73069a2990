"""The words a pack (``jetstudy.trainables.pack_server``) and its trials (``jetstudy.trainables.packed_trial``)
exchange, in one torch-free place both import.

``register`` answers ``{"status": OK, "epoch": n}``, ``{"status": FULL}`` or
``{"status": DONE, "metrics": m}``; ``next_epoch`` answers the epoch's metrics, or
``{"status": NO_SLOT, "why": ...}`` when the pack does not know the trial (evicted, or the pack
restarted): the trial then registers again. Errors raised by a pack are real failures.
"""

from __future__ import annotations

__all__ = ["OK", "FULL", "DONE", "NO_SLOT"]

OK, FULL, DONE = "ok", "full", "done"
#: ``next_epoch``'s answer to a trial that holds no slot on this pack.
NO_SLOT = "no_slot"
