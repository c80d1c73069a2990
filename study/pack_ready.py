"""A packed study's packs warm up while Tune starts the trials, and a pack that fails to start
still stops the study with its own error.

A pack's start (a Ray worker, ``import torch``, the jets to the device, a CUDA context) took
seconds the trials' own start (each a Ray worker importing ``ray.tune``) could hide: the study
waited for the packs before building its Tuner. Now :func:`jetstudy.study.packing.launch_packs`
returns their handles at once, the trials' first calls queue on a pack until it is built, and
:class:`PacksReady`, a Tune callback, looks (without waiting) after every step of Tune's loop
whether the packs answered their first ``stats`` call: a pack whose start failed raises that
call's error there, which ends ``tuner.fit()`` with it, the error ``start_packs`` raised when
it waited (once: the study stops at the first one). :meth:`PacksReady.wait` is the same check,
waiting, for when Tune's loop ended before the packs answered.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

__all__ = ["PacksReady"]

logger = logging.getLogger(__name__)


class PacksReady(Callback):
    """Watches the packs' first ``stats`` calls (see the module docstring)."""

    def __init__(self, packs: list[Any], pack_size: int) -> None:
        self._pending = [p.stats.remote() for p in packs]
        self._count, self._pack_size = len(packs), pack_size
        self.ready = not self._pending

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks: no object refs
        return {"_pending": [], "_count": self._count, "_pack_size": self._pack_size,
                "ready": True}

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        if not self.ready:
            self._check(timeout=0)

    def wait(self) -> None:
        """Wait for every pack to answer; a pack's start error is raised here."""
        if not self.ready:
            self._check(timeout=None)

    def _check(self, timeout: float | None) -> None:
        import ray

        done, self._pending = ray.wait(self._pending, num_returns=len(self._pending),
                                       timeout=timeout)
        stats = ray.get(done)  # a pack that failed to start: its error, raised here
        if not self._pending:
            self.ready = True
            logger.info("%d pack(s) of %d on %s", self._count, self._pack_size,
                        stats[0]["device"] if stats else "?")
