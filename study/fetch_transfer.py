"""The transfer part of ``jetstudy fetch`` (:mod:`jetstudy.study.fetch`): one request for
the rest of a file, appended to its ``.part``.

A resume asks for the bytes after those the part holds (``Range``) of the same file only
(``If-Range`` with the version the server named when the part was started: a file changed
since comes whole, and the part starts over).
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.request
from pathlib import Path
from typing import Callable

__all__ = ["Progress", "transfer", "range_total"]

_CHUNK = 1 << 16
Progress = Callable[[str, int, "int | None"], None]  # (name, bytes so far, total or None)


def _open(url: str, start: int, timeout: float,
          if_range: str | None = None) -> http.client.HTTPResponse:
    request = urllib.request.Request(url, headers={"User-Agent": "jetstudy-fetch"})
    if start:
        request.add_header("Range", f"bytes={start}-")
        if if_range:  # the rest only of the same file: a changed one is sent whole (200)
            request.add_header("If-Range", if_range)
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http(s) only)


def _version(response: http.client.HTTPResponse) -> str | None:
    """The file's version the server names (a strong ``ETag``, else ``Last-Modified``): what a
    resume sends as ``If-Range``, so bytes of a file changed since are never appended."""
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def range_total(content_range: str | None) -> int | None:
    """N of a 416's ``Content-Range: bytes */N`` (the file's size), else None."""
    match = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", content_range or "")
    return int(match[1]) if match else None


def transfer(url: str, part: Path, progress: Progress | None, name: str,
             timeout: float, claim: Callable[[str | None], None] = lambda version: None,
             if_range: str | None = None) -> None:
    """Append the rest of ``url`` to ``part`` (a Range request when ``part`` has bytes; a
    server that ignores the Range sends everything, and ``part`` starts over). ``claim`` is
    called before ``part`` is opened and again once it is (the record then names its inode),
    with the file's version (``If-Range`` of the next resume); it is never opened through a
    link."""
    start = part.stat().st_size if part.exists() else 0
    with _open(url, start, timeout, if_range) as response:
        resumed = start > 0 and response.status == 206
        if start and not resumed:
            start = 0
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        done = start
        version = _version(response)
        claim(version)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if resumed else os.O_TRUNC)
        with os.fdopen(os.open(part, flags, 0o666), "ab" if resumed else "wb") as out:
            claim(version)
            while True:
                block = response.read(_CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if progress:
                    progress(name, done, total)
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)
