"""A real HTTP server on 127.0.0.1 for the ``fetch`` tests: the server, a quiet handler that
sends a body (or half of it, then drops the connection, while ``cut_first`` lasts) and the
serving thread. Each test module's handler decides what it serves (files by path, one body
with an ETag)."""

from __future__ import annotations

import http.server
import socket
import socketserver
import threading
from contextlib import contextmanager
from typing import Iterator, TypeVar

__all__ = ["FileServer", "QuietHandler", "serving"]


class FileServer(http.server.ThreadingHTTPServer):
    cut_first: int  # how many responses are cut off halfway
    requests: list[dict]


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def send_rest(self, rest: bytes) -> None:
        """The body after the headers: half of it and a dropped connection while the
        server's ``cut_first`` lasts, else all of it."""
        server: FileServer = self.server  # type: ignore[assignment]
        if server.cut_first > 0:  # send half, then drop the connection
            server.cut_first -= 1
            self.wfile.write(rest[:len(rest) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(rest)


S = TypeVar("S", bound=socketserver.BaseServer)


@contextmanager
def serving(srv: S) -> Iterator[S]:
    """``srv`` answering in a thread for the block, then shut down and closed."""
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
