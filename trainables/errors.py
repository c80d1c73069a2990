"""The one exception type users see.

Every problem a user can fix (a missing file, a bad config value, a NaN in the data) is raised as
a :class:`JetstudyError` whose message names the thing, the problem and the fix. The CLI prints
the message alone (no traceback) and exits with status 2, so anything else reaching the top is a
bug in jetstudy, not in the user's input.
"""

from __future__ import annotations

__all__ = ["JetstudyError", "DataError", "ConfigError", "listed"]


class JetstudyError(Exception):
    """A problem with the user's input, explained in one message."""


class DataError(JetstudyError):
    """The jet data cannot be used: the message names the file, the problem and the fix."""


class ConfigError(JetstudyError):
    """A study config value is invalid: the message names the field, the value and the fix."""


def listed(names: list[str], limit: int = 5, total: bool = False) -> str:
    """The first ``limit`` of ``names`` for a message, then ``, ...`` (with ``total``:
    ``, ... (N in all)``) when there are more."""
    more = (f", ... ({len(names)} in all)" if total else ", ...") if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
