"""The analysis package's user-facing error.

A report is built from files a user brings (perhaps mailed by a colleague, perhaps a snapshot of a
study still running), so most problems are problems with the input, not bugs. They are raised as
:class:`AnalysisError`, a :class:`~jetstudy.trainables.errors.JetstudyError`, whose message names the
file or column, the problem and the fix; the CLI prints it without a traceback.
"""

from __future__ import annotations

from jetstudy.trainables.errors import JetstudyError

__all__ = ["AnalysisError"]


class AnalysisError(JetstudyError):
    """Result tables cannot be analysed as asked: the message says which, why and what to do."""
