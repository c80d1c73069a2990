"""The words a pack (``jetstudy.trainables.pack_server``) and its trials (``jetstudy.trainables.packed_trial``)
exchange, in one torch-free place both import.

``register`` answers ``{"status": OK, "epoch": n}``, ``{"status": FULL}`` or
``{"status": DONE, "metrics": m}``; ``next_epoch`` answers the epoch's metrics, or
``{"status": NO_SLOT, "why": ...}`` when the pack does not know the trial (evicted, or the pack
restarted): the trial then registers again. Errors raised by a pack are real failures.

:class:`PackActor` is the pack's Ray actor class. Ray imports an actor class's module in every
process that unpickles a handle to it (the trials hold the packs' handles), so the class lives
here, torch-free, and builds the torch-holding ``PackServer`` in the pack's own process: a
trial process imports neither torch nor the training code.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OK", "FULL", "DONE", "NO_SLOT", "PackActor"]

OK, FULL, DONE = "ok", "full", "done"
#: ``next_epoch``'s answer to a trial that holds no slot on this pack.
NO_SLOT = "no_slot"


class PackActor:
    """The Ray actor of a pack: ``ray.remote(PackActor)`` with ``PackServer``'s arguments.

    Each method awaits the ``PackServer`` method of the same name (see there); a test checks
    that every public ``PackServer`` method is here."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from jetstudy.trainables.pack_server import PackServer  # torch: the pack's process only

        self._server = PackServer(*args, **kwargs)

    async def register(self, trial_id: str, config: dict[str, Any]) -> dict[str, Any]:
        return await self._server.register(trial_id, config)

    async def next_epoch(self, trial_id: str) -> dict[str, Any]:
        return await self._server.next_epoch(trial_id)

    async def release(self, trial_id: str) -> None:
        await self._server.release(trial_id)

    async def stats(self) -> dict[str, Any]:
        return await self._server.stats()
