"""Bound the HTTP server's connections: how many at once, and how long one request may take.

The stdlib server starts a thread per connection and its socket timeout is per read, so a client
that trickles one byte every few seconds holds its thread for ever, and a crowd of them holds any
number of threads. `Connections` keeps both bounded:

- at most `limit` connections are served at once; a new one beyond that evicts the connection
  that has waited longest on its current request (a probe or a webhook finishes in milliseconds,
  so the evicted one is the slowest client, never the newcomer), so `/healthz` and the webhook
  always get a thread;
- a request (from the first byte awaited to the last byte of the answer) that takes longer than
  `deadline` seconds has its socket shut down, which wakes the blocked read or write at once.

The server calls `admit` as it accepts, `reap` from its poll loop, `begin`/`end` around each request
and `release` when the connection closes. Shutting a socket down (not closing it) leaves closing
to the thread that owns it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

MAX_CONNECTIONS = 64  # a probe, a scrape, a webhook and people: far fewer at once
REQUEST_DEADLINE = 30.0  # seconds for one whole request, 1 MB webhook body included


class Connections:
    """The connections being served and since when each has waited on its current request."""

    def __init__(
        self,
        limit: int = MAX_CONNECTIONS,
        deadline: float = REQUEST_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        if limit < 1 or deadline <= 0:
            raise ValueError("limit must be at least 1 and deadline positive")
        self.limit = limit
        self.deadline = deadline
        self._clock = clock
        self._observe = observe or (lambda reason: None)  # the http_refused metric
        self._lock = threading.Lock()
        # socket -> when its current request began (None between requests: handled already)
        self._since: dict[socket.socket, float | None] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._since)

    def admit(self, sock: socket.socket) -> None:
        """Track a new connection; when full, first evict the one slowest on its request."""
        with self._lock:
            victim = None
            if len(self._since) >= self.limit:
                waiting = [(t, id(s), s) for s, t in self._since.items() if t is not None]
                if waiting:
                    victim = min(waiting)[2]
                    self._since.pop(victim)
            self._since[sock] = self._clock()
        if victim is not None:
            log.warning("http connection evicted: too many at once", limit=self.limit)
            self._observe("evicted")
            _cut(victim)

    def begin(self, sock: socket.socket) -> None:
        """A request is awaited on `sock` (keep-alive: the next one): its deadline starts."""
        with self._lock:
            if sock in self._since:
                self._since[sock] = self._clock()

    def end(self, sock: socket.socket) -> None:
        """The request was answered; the connection idles until its next request."""
        with self._lock:
            if sock in self._since:
                self._since[sock] = None

    def release(self, sock: socket.socket) -> None:
        with self._lock:
            self._since.pop(sock, None)

    def reap(self) -> int:
        """Cut every request past its deadline; how many were cut."""
        now = self._clock()
        with self._lock:
            late = [s for s, t in self._since.items() if t is not None and now - t > self.deadline]
            for sock in late:
                self._since.pop(sock)
        for sock in late:
            self._observe("deadline")
            _cut(sock)
        if late:
            log.warning("http requests cut: over the deadline", count=len(late))
        return len(late)


def _cut(sock: socket.socket) -> None:
    """Wake the thread blocked on `sock` (its read sees end of file); it closes the socket."""
    with contextlib.suppress(OSError):  # already closed by its thread, or the peer is gone
        sock.shutdown(socket.SHUT_RDWR)
