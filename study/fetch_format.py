"""Whether a file ``jetstudy fetch`` downloaded is of the format its name says
(:mod:`jetstudy.study.fetch`'s data-format part).

The OpenML table and the HDF5 archives have no published SHA-256, so a server's error page, a
proxy's login page or a file cut short would be saved under the dataset's name unremarked;
their first (and, for Parquet, last) bytes tell them apart from the real thing.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["warn_if_not_format", "MAGIC"]

logger = logging.getLogger(__name__)

#: Suffix -> (first bytes, last bytes) of each format fetch downloads.
MAGIC = {".parquet": (b"PAR1", b"PAR1"), ".tar.gz": (b"\x1f\x8b", b"")}


def warn_if_not_format(part: Path, name: str, sha256: str | None, url: str) -> bool:
    """Warn (and return False) when ``part``, downloaded from ``url`` to be saved as ``name``,
    is not of the format ``name`` says; a file with a known ``sha256`` is checked by it
    instead. ``jetstudy run`` refuses such a file later in any case."""
    if sha256:
        return True  # checked by its digest
    for suffix, (head, tail) in MAGIC.items():
        if not name.endswith(suffix):
            continue
        size = part.stat().st_size
        with open(part, "rb") as f:
            start = f.read(max(len(head), 16))
            f.seek(max(0, size - len(tail)))
            end = f.read()
        if not start.startswith(head) or (tail and not end.endswith(tail)):
            seen = (f"it starts with {start[:16]!r}" if not start.startswith(head) else
                    f"it ends without {tail!r}: cut short? {size} bytes")
            logger.warning("fetch: %s from %s is not a %s file (%s): the server, mirror or "
                           "whoever put it there gave something else (an error page?); check "
                           "the URL, delete the file and fetch again", name, url, suffix[1:],
                           seen)
            return False
    return True
