"""The `run` service's HTTP endpoint: probes, metrics, status, suspend/resume and the git webhook.

Stdlib `ThreadingHTTPServer` on a daemon thread; the runner implements `Control` and owns the
server. Routes:

    GET  /            the status page (HTML, statuspage.py); ?q= filters
    GET  /endpoints/<location>/<name> one endpoint (its key: target name or region / name)
    GET  /healthz     200 while the control loop and workers are alive, else 503
    GET  /readyz      200 once the initial sync finished and AWS answered last time, else 503
    GET  /metrics     Prometheus text
    GET  /status      JSON: global revision, leader, suspended_all, endpoints[...]
    POST /suspend     stop applying for every endpoint (still reconciles and reports)
    POST /resume      apply again; every endpoint is re-checked
                      (both: a JSON content type or X-Requested-By, no foreign Origin, and the
                      bearer token when --control-token-file is set; controlguard.py)
    POST /hooks/git   X-Hub-Signature-256-signed delivery -> immediate git fetch
                      (404 without --webhook-secret-file, 401 on a bad signature; a replayed
                      delivery is answered 200 without a fetch)

The server binds 127.0.0.1 unless told otherwise, and exposing it is the operator's decision (a
NetworkPolicy, a sidecar). Request bodies are read only up to a bound, connections are capped and
each request has a deadline (connections.py), so no client can make us buffer or hold threads
without limit.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import structlog

from controller.service.metrics import CONTENT_TYPE
from controller.service.web import controlguard, statuspage
from controller.service.web.connections import MAX_CONNECTIONS, REQUEST_DEADLINE, Connections
from controller.service.web.webhook import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    Deliveries,
    verify_signature,
)

log = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024  # GitHub caps webhook payloads at 25 MB but push events are far smaller
HTML = "text/html; charset=utf-8"
# The status page needs no script, frame or form target elsewhere: forbid them all, so even an
# escaping bug could not run injected code.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class Control(Protocol):
    """What the HTTP routes need from the runner."""

    def alive(self) -> bool: ...
    def ready(self) -> tuple[bool, str]: ...
    def status(self) -> dict[str, Any]: ...
    def plan_text(self, key: str) -> str | None: ...
    def metrics_text(self) -> bytes: ...
    def suspend(self) -> None: ...
    def resume(self) -> None: ...
    def trigger_fetch(self) -> None: ...


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        control: Control,
        secret: bytes | None,
        token: bytes | None,
        connections: Connections,
        observe: Callable[[str], None],
    ) -> None:
        self.control = control
        self.observe_refused = observe
        self.webhook_secret = secret
        self.control_token = token
        self.connections = connections
        self.deliveries = Deliveries()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.admit(request)  # full: the slowest client makes room, never this one
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        self.connections.release(request)
        super().close_request(request)

    def service_actions(self) -> None:
        """serve_forever's poll loop (every poll_interval): cut requests over the deadline."""
        self.connections.reap()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds one read may wait; the whole request's bound is Connections'
    protocol_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        connections = self.server.connections
        connections.begin(self.connection)
        try:
            super().handle_one_request()
        finally:
            connections.end(self.connection)

    def do_GET(self) -> None:
        control = self.server.control
        path = self.path.split("?", 1)[0]
        if path == "/" or path.startswith("/endpoints/"):
            self._page(path)
        elif path == "/healthz":
            ok = control.alive()
            self._json(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, {"alive": ok})
        elif path == "/readyz":
            ready, why = control.ready()
            code = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            self._json(code, {"ready": ready, "reason": why})
        elif path == "/metrics":
            self._send(HTTPStatus.OK, control.metrics_text(), CONTENT_TYPE)
        elif path == "/status":
            self._json(HTTPStatus.OK, control.status())
        elif path in ("/suspend", "/resume", "/hooks/git"):
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use POST"})
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _page(self, path: str) -> None:
        control = self.server.control
        status = control.status()
        if path == "/":
            params = parse_qs(urlsplit(self.path).query)
            query, project = params.get("q", [""])[0], params.get("project", [""])[0]
            self._html(HTTPStatus.OK, statuspage.render_index(status, query, project))
            return
        parts = path.split("/")  # "", "endpoints", location, name: the endpoint's key
        key = "/".join(unquote(p) for p in parts[2:4]) if len(parts) == 4 else ""
        entry = next(
            (e for e in status.get("endpoints", []) if e.get("key") == key),
            None,
        )
        if entry is None:
            self._html(HTTPStatus.NOT_FOUND, statuspage.render_not_found(f"no endpoint {key!r}"))
            return
        self._html(HTTPStatus.OK, statuspage.render_detail(entry, control.plan_text(entry["key"])))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        body = self._read_body()
        if body is None:
            return
        control = self.server.control
        if path in ("/suspend", "/resume"):
            refusal = controlguard.check(self.headers, self.server.control_token)
            if refusal is not None:
                log.warning("control request refused", path=path, error=refusal.error)
                self.server.observe_refused(refusal.reason)
                self._json(refusal.status, {"error": refusal.error})
            elif path == "/suspend":
                control.suspend()
                self._json(HTTPStatus.OK, {"suspended_all": True})
            else:
                control.resume()
                self._json(HTTPStatus.OK, {"suspended_all": False})
        elif path == "/hooks/git":
            self._git_hook(body)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def _git_hook(self, body: bytes) -> None:
        secret = self.server.webhook_secret
        if not secret:
            self._json(HTTPStatus.NOT_FOUND, {"error": "webhook not configured"})
            return
        signature = self.headers.get(SIGNATURE_HEADER)
        if not verify_signature(secret, body, signature):
            log.warning("webhook signature rejected", client=self.client_address[0])
            self._json(HTTPStatus.UNAUTHORIZED, {"error": "bad signature"})
            return
        delivery = self.headers.get(DELIVERY_HEADER)
        if not self.server.deliveries.first_time(delivery, signature or ""):
            log.info("webhook delivery repeated: ignored", delivery=delivery)
            self.server.observe_refused("replayed")
            self._json(HTTPStatus.OK, {"triggered": False, "duplicate": True})
            return
        self.server.control.trigger_fetch()
        self._json(HTTPStatus.OK, {"triggered": True})

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering 400/413 for a bad or oversized one."""
        text = self.headers.get("Content-Length")
        try:
            length = int(text) if text is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._json(HTTPStatus.BAD_REQUEST, {"error": "bad Content-Length"})
            return None
        if length > MAX_BODY:
            # Not reading the body: close instead, so it is not parsed as the next request.
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": f"max {MAX_BODY} bytes"})
            return None
        return self.rfile.read(length) if length else b""

    def _json(self, code: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, indent=1, sort_keys=True, default=str).encode()
        self._send(code, body, "application/json")

    def _html(self, code: HTTPStatus, page: str) -> None:
        self._send(code, page.encode(), HTML, PAGE_HEADERS)

    def _send(
        self,
        code: HTTPStatus,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http", client=self.client_address[0], request=format % args)


class HttpServer:
    """Owns the listening socket and its thread; `port` is the bound one (0 picks a free port)."""

    def __init__(
        self,
        control: Control,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        webhook_secret: bytes | None = None,
        control_token: bytes | None = None,
        max_connections: int = MAX_CONNECTIONS,
        request_deadline: float = REQUEST_DEADLINE,
        observe_refused: Callable[[str], None] | None = None,
    ) -> None:
        """`observe_refused(reason)`: told of each refused or cut request (the metric)."""
        observe = observe_refused or (lambda reason: None)
        connections = Connections(max_connections, request_deadline, observe=observe)
        self._server = _Server(
            (host, port), control, webhook_secret, control_token, connections, observe
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="http",
            daemon=True,
        )

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("http server listening", host=self.host, port=self.port)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=2.0)
        self._server.server_close()
