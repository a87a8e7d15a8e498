"""A local HTTP receiver on 127.0.0.1 that records what notification sinks post to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    """Answers with `statuses` in turn (then 200); holds each request while `hold` is clear."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived in all (bounded by `timeout`)."""
        for _ in range(count - len(self.received)):
            if not self.arrived.acquire(timeout=timeout):
                break
        with self.lock:
            return list(self.received)


@contextmanager
def receiving(hold: bool = False, statuses: list[int] | None = None) -> Iterator[Receiver]:
    receiver = Receiver(statuses=list(statuses or []))
    if not hold:
        receiver.hold.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.hold.wait(10.0)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, dict(self.headers.items()), json.loads(body or b"null"))
                )
                code = receiver.statuses.pop(0) if receiver.statuses else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            receiver.arrived.release()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield receiver
    finally:
        receiver.hold.set()
        server.shutdown()
        thread.join(5)
        server.server_close()
