"""`Sandbox`: start and stop a local SageMaker (moto + the sandbox app) on loopback HTTP.

Used by the pytest fixtures, `sagemaker-gitops sandbox` and `demo`. moto keeps its backends in
process-wide globals, so a Sandbox resets them when it starts and only one Sandbox may run in a
process at a time; starting a second one while the first runs raises `SandboxError` rather than
letting two sandboxes silently share (and reset) each other's state.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import ThreadedWSGIServer

from controller.sandbox.app import SandboxApp, check_transition_seconds
from controller.sandbox.context import SandboxState
from controller.sandbox.errors import SandboxError
from controller.sandbox.instrument.calls import CallCounter
from controller.sandbox.instrument.faults import FaultInjector, Faults
from controller.sandbox.registry.seeding import apply_seed, check_seed, load_seed

DUMMY_CREDENTIALS = "testing"

_active_lock = threading.Lock()
_active: Sandbox | None = None


IDLE_SECONDS = 30.0
"""A kept-alive connection with no request for this long is closed (frees its thread)."""


class _KeepAliveHandler(MotoRequestHandler):
    """moto's request handler (its environ) with HTTP/1.1 keep-alive and no per-request log.

    werkzeug's `run_wsgi` answers `Connection: close` and then drains the socket, which would
    swallow the next request on a reused connection; so each API call paid a new TCP
    connection. The sandbox app always reads the request body in full and returns one
    buffered body (see `app`), so writing its answer with a Content-Length is all it takes
    to keep the connection open. A client that sends `Connection: close` is still obeyed.
    """

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the
        # second one until the client's delayed ACK (~40 ms per call on a reused connection).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("Request timed out"):
            return  # an idle kept-alive connection closing, not a problem
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            captured[:] = [status, headers]
            return None

        try:
            body = b"".join(self.server.app(self.make_environ(), start_response))
        except Exception:  # a sandbox bug: answer 500 rather than drop the client
            traceback.print_exc(file=sys.stderr)
            captured[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            body = b"sandbox error"
        code, _, reason = str(captured[0]).partition(" ")
        try:
            self.send_response(int(code), reason)
            for key, value in captured[1]:
                if key.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except ConnectionError:  # the client left, or a dropped connection was injected
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server that can close its kept-alive connections on stop.

    Without that, a thread blocked reading the next request on an idle connection would keep
    serving a stopped sandbox until the client hung up.
    """

    def __init__(self, host: str, port: int, app: SandboxApp) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(host, port, app, handler=_KeepAliveHandler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)


def _check_bindable(host: str, port: int) -> None:
    """Fail with a clear SandboxError for a busy port (werkzeug would print and exit)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = error.strerror or str(error)
            raise SandboxError(f"cannot listen on {host}:{port}: {reason}") from error


class Sandbox:
    """A local SageMaker served over real HTTP from a background thread.

    `port=0` picks a free port (see `url`). Use as a context manager or call start()/stop().
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: Path | str | dict[str, Any] | None = None,
        transition_seconds: float = 0.0,
        faults: Faults | None = None,
        region: str = "us-east-1",
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_transition_seconds(transition_seconds)
        self.host = host
        self.port = port
        self.region = region
        self._seed = seed
        self._transition_seconds = float(transition_seconds)
        self._faults = faults or Faults()
        self._clock = clock
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._app: SandboxApp | None = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        server = self._require_server()
        host, port = server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Reset moto, bind the port, serve in a daemon thread, then load the seed if any."""
        global _active
        with _active_lock:
            if _active is not None:
                raise SandboxError(
                    "a Sandbox is already running in this process (moto's state is global); "
                    "stop it before starting another"
                )
            _active = self
        try:
            self._start_server()
            if self._seed is not None:
                self.seed_registry(self._seed)
        except BaseException:
            self.stop()
            raise

    def _start_server(self) -> None:
        moto_api_backend.reset()
        state = SandboxState(transition_seconds=self._transition_seconds, clock=self._clock)
        moto_app = DomainDispatcherApplication(create_backend_app)
        self._app = SandboxApp(
            state, FaultInjector(self._faults), CallCounter(), moto_app, self.region
        )
        _check_bindable(self.host, self.port)
        try:
            self._server = _Server(self.host, self.port, self._app)
        except SystemExit as error:  # werkzeug exits the process when it cannot bind
            raise SandboxError(f"cannot listen on {self.host}:{self.port}") from error
        # A short poll interval makes stop() (and so each test's teardown) take milliseconds.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sagemaker-sandbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port and the one-per-process slot (safe to call twice)."""
        global _active
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if thread is not None:
            thread.join(timeout=10)
        with _active_lock:
            if _active is self:
                _active = None

    def calls(self) -> dict[str, int]:
        """API operations served since start (`rejected` counts injected faults)."""
        return self._require_app().calls.snapshot()

    def calls_by_account(self) -> dict[str, dict[str, int]]:
        """Served operations per calling account (`GET /_sandbox/calls/by-account`)."""
        return self._require_app().calls.by_account()

    def requests(self, operation: str) -> list[dict[str, Any]]:
        """The parameters of the last served requests of `operation`, oldest first (as
        `GET /_sandbox/requests?operation=...`), so tests check exactly what a client sent."""
        return list(self._require_app().requests.of(operation))

    def reset_calls(self) -> None:
        """Zero the call counts, e.g. after a test's setup."""
        self._require_app().calls.reset()

    def traffic(self) -> dict[str, Any]:
        """Requests arrived and refused by `rate_limit`, per second (`GET /_sandbox/traffic`)."""
        return self._require_app().faults.traffic()

    def set_traffic(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Invocation profiles, seed and time scale of the synthesised metrics (as
        `POST /_sandbox/metrics`); ValueError and no change when anything is invalid."""
        app = self._require_app()
        with app.lock:
            app.state.traffic.update(changes, DEFAULT_ACCOUNT_ID, self.region)
            return app.state.traffic.as_json()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change latency_ms, throttle_rate, error_rate, seed or transition_seconds."""
        return self._require_app().update_settings(**changes)

    def seed_registry(self, seed: Path | str | dict[str, Any]) -> list[str]:
        """Load a seed (same shape as `--seed`); returns the new model package version ARNs."""
        app = self._require_app()
        parsed, name = load_seed(seed)
        check_seed(parsed, name)
        with app.lock:
            return apply_seed(
                lambda account: app.context(account or DEFAULT_ACCOUNT_ID, self.region), parsed
            )

    def env(self) -> dict[str, str]:
        """Environment for a client process: endpoint, dummy credentials and region.

        Both region variables: the AWS CLI v2 and most SDKs read AWS_REGION, botocore reads
        AWS_DEFAULT_REGION.
        """
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    def _require_server(self) -> _Server:
        if self._server is None:
            raise SandboxError("the sandbox is not running; call start() first")
        return self._server

    def _require_app(self) -> SandboxApp:
        self._require_server()
        assert self._app is not None
        return self._app
