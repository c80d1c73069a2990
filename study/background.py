"""Set-up work that runs beside the driver's main thread: one thread, one result, one error.

A study's set-up has parts that do not need each other: splitting the jets while Ray starts,
the Bayes reference while the trials run (:mod:`jetstudy.study.launch`). ``ray.init`` and Tune
install signal handlers, which only the main thread may do, so the main thread keeps those and
the numpy work (which releases the GIL) moves to a :class:`Background` thread. Its error is
raised where the caller asks for the result, in the caller's thread, exactly once: the
command line prints it as it printed the same error raised in line.

>>> job = Background("demo", lambda: 6 * 7)
>>> job.result()
42
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, TypeVar

__all__ = ["Background"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Background(Generic[T]):
    """Run ``work()`` in a daemon thread named ``jetstudy-<name>``, started at once.

    :meth:`result` waits for it and returns its value or raises its exception (the first call
    only; later calls return the value or None). :meth:`settle` waits without raising, for
    clean-up paths that already carry an error of their own. Waiting is interruptible: a
    Ctrl-C while waiting raises ``KeyboardInterrupt`` in the waiting (main) thread. The thread
    is a daemon, so a work item abandoned that way never holds the process open."""

    def __init__(self, name: str, work: Callable[[], T]) -> None:
        self.name = name
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,),
                                        name=f"jetstudy-{name}", daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._value = work()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    def done(self) -> bool:
        """True once the work has returned or raised."""
        return not self._thread.is_alive()

    def result(self) -> T | None:
        """Wait; the work's value, or its exception raised here (once)."""
        self._thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error
        return self._value

    def settle(self) -> BaseException | None:
        """Wait, and return (not raise) the work's exception, if any; a Ctrl-C while
        waiting stops the wait (the daemon thread is left to finish or die with the
        process) and is passed on."""
        self._thread.join()
        error, self._error = self._error, None
        if error is not None:
            logger.debug("background %s failed after another error: %r", self.name, error)
        return error
