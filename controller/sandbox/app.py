"""The sandbox's WSGI app: moto's server app wrapped with control routes, faults and overrides.

Order for each AWS request: control routes (`/_sandbox/...`) are answered first and never
delayed or failed; then latency and the fault draw; then call counting; then, under one lock,
either a sandbox override (see `overrides`) or moto. One lock serialises the backend because
moto's stores are plain dicts and lazy status settling mutates them; latency is slept outside
the lock so slow requests do not queue behind each other.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from moto.core.exceptions import ServiceException
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import get_account_id_from

from controller.sandbox.context import Context, SandboxState
from controller.sandbox.errors import ApiError
from controller.sandbox.hosting.validation import validate_input
from controller.sandbox.instrument.calls import CallCounter
from controller.sandbox.instrument.faults import FAULT_FIELDS, FaultInjector
from controller.sandbox.instrument.recording import RequestLog, request_params
from controller.sandbox.overrides import AUTOSCALING_PREFIX, BY_PREFIX, SAGEMAKER_PREFIX
from controller.sandbox.protocol import (
    ApiRequest,
    Response,
    answer,
    error_response,
    json_response,
    parse_request,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_TRANSITION_SECONDS = 3600.0
SETTING_FIELDS = FAULT_FIELDS | {"transition_seconds"}


class SandboxApp:
    """WSGI callable serving one sandbox."""

    def __init__(
        self,
        state: SandboxState,
        faults: FaultInjector,
        calls: CallCounter,
        moto_app: WsgiApp,
        default_region: str,
    ) -> None:
        self.state = state
        self.faults = faults
        self.calls = calls
        self.requests = RequestLog()
        self.lock = threading.RLock()
        self._moto = moto_app
        self._default_region = default_region

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        response = self.handle(environ)
        if response.drop:
            _drop_connection(environ)
        reason = HTTPStatus(response.status).phrase
        start_response(f"{response.status} {reason}", response.headers)
        return [response.body]

    def context(self, account: str, region: str) -> Context:
        return Context(self.state, account, region)

    def settings(self) -> dict[str, Any]:
        """Current fault and transition settings, as the faults route reports them."""
        faults = self.faults.faults
        return {
            "latency_ms": faults.latency_ms,
            "throttle_rate": faults.throttle_rate,
            "error_rate": faults.error_rate,
            "after_commit_error_rate": faults.after_commit_error_rate,
            "after_commit_drop_rate": faults.after_commit_drop_rate,
            "rate_limit": faults.rate_limit,
            "seed": faults.seed,
            "transition_seconds": self.state.transition_seconds,
        }

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Partial update of faults and transition time; ValueError and no change if invalid."""
        unknown = set(changes) - SETTING_FIELDS
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        seconds = changes.pop("transition_seconds", None)
        if seconds is not None:
            check_transition_seconds(seconds)
        with self.lock:
            if changes:
                self.faults.update(**changes)
            if seconds is not None:
                # Only deployments started from now on use the new duration.
                self.state.transition_seconds = float(seconds)
        return self.settings()

    def handle(self, environ: dict[str, Any]) -> Response:
        # Every body is read in full before anything else: a kept-alive connection must not
        # be left holding unread bytes that the next request line would be parsed from.
        body = _read_body(environ)
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_sandbox/"):
            return self._control(environ, path, body)
        request = parse_request(environ, body, self._default_region)
        if request.operation is None:
            with self.lock:
                return self._forward(environ, body)
        account = get_account_id_from(request.access_key or "")
        decision = self.faults.decide(account, str(request.operation))
        if decision.delay_seconds:
            time.sleep(decision.delay_seconds)
        if decision.error is not None:
            self.calls.rejected()
            return error_response(request, decision.error)
        self.calls.served(request.operation, account)
        self.requests.record(request.operation, request_params(request))
        with self.lock:
            response = self._serve(environ, request)
        if response.status >= 300:
            return response
        return self._after_commit(request, response)

    def _after_commit(self, request: ApiRequest, response: Response) -> Response:
        """An ambiguous failure: the write took effect, the client hears otherwise."""
        fate = self.faults.after_commit(str(request.operation))
        if fate is None:
            return response
        if isinstance(fate, ApiError):
            return error_response(request, fate)
        return Response(500, [("Content-Length", "0")], b"", drop=True)

    def _serve(self, environ: dict[str, Any], request: ApiRequest) -> Response:
        try:
            return self._dispatch(environ, request)
        except ApiError as error:
            return error_response(request, error)
        except ServiceException as error:
            return error_response(request, ApiError(error.code, error.message))
        except Exception as error:  # a sandbox bug must not look like a hung server
            traceback.print_exc(file=sys.stderr)
            failure = ApiError("InternalFailure", f"sandbox error: {error!r}", 500)
            return error_response(request, failure)

    def _dispatch(self, environ: dict[str, Any], request: ApiRequest) -> Response:
        handlers = BY_PREFIX.get(request.target_prefix or "")
        if handlers is None or request.operation is None:
            return self._forward(environ, request.body)
        params = request.params()
        if request.target_prefix == SAGEMAKER_PREFIX:
            validate_input(request.operation, params)
        elif request.target_prefix == AUTOSCALING_PREFIX:
            validate_input(request.operation, params, "application-autoscaling")
        handler = handlers.get(request.operation)
        if handler is None:
            return self._forward(environ, request.body)
        account = get_account_id_from(request.access_key or "")
        ctx = Context(self.state, account, request.region, request.access_key)
        result = handler(ctx, params)
        if result is None:
            return self._forward(environ, request.body)
        return answer(request, result)

    def _forward(self, environ: dict[str, Any], body: bytes) -> Response:
        """Run moto's app on the (already read) request and buffer its answer."""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        result = self._moto(environ, start)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status = int(str(captured["status"]).split(" ", 1)[0])
        data = b"".join(chunks)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        # A length (rather than chunking) lets the connection be reused for the next call.
        headers.append(("Content-Length", str(len(data))))
        return Response(status, headers, data)

    def _control(self, environ: dict[str, Any], path: str, body: bytes) -> Response:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if path == "/_sandbox/calls" and method == "GET":
            return json_response({"calls": self.calls.snapshot()})
        if path == "/_sandbox/calls/by-account" and method == "GET":
            return json_response({"accounts": self.calls.by_account()})
        if path == "/_sandbox/requests" and method in {"GET", "DELETE"}:
            return self._requests_route(environ, method)
        if path == "/_sandbox/faults" and method == "GET":
            return json_response(self.settings())
        if path == "/_sandbox/faults" and method == "POST":
            return self._post_faults(body)
        if path == "/_sandbox/traffic" and method == "GET":
            return json_response(self.faults.traffic())
        if path == "/_sandbox/metrics" and method == "GET":
            return json_response(self.state.traffic.as_json())
        if path == "/_sandbox/metrics" and method == "POST":
            return self._post_metrics(body)
        return json_response({"message": f"no control route {method} {path}"}, status=404)

    def _requests_route(self, environ: dict[str, Any], method: str) -> Response:
        if method == "DELETE":
            self.requests.reset()
            return json_response({})
        operation = parse_qs(str(environ.get("QUERY_STRING", ""))).get("operation")
        if operation:
            return json_response({"requests": {operation[0]: self.requests.of(operation[0])}})
        return json_response({"requests": self.requests.snapshot()})

    def _post_metrics(self, body: bytes) -> Response:
        try:
            changes = json.loads(body or b"{}")
            with self.lock:
                self.state.traffic.update(changes, DEFAULT_ACCOUNT_ID, self._default_region)
                return json_response(self.state.traffic.as_json())
        except ValueError as error:
            return json_response({"message": str(error)}, status=400)

    def _post_faults(self, body: bytes) -> Response:
        try:
            changes = json.loads(body or b"{}")
        except ValueError as error:
            return json_response({"message": f"body is not JSON: {error}"}, status=400)
        if not isinstance(changes, dict):
            return json_response({"message": "body must be a JSON object"}, status=400)
        try:
            return json_response(self.update_settings(**changes))
        except (TypeError, ValueError) as error:
            return json_response({"message": str(error)}, status=400)


def check_transition_seconds(value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= MAX_TRANSITION_SECONDS:
        raise ValueError(
            f"transition_seconds must be a number from 0 to {MAX_TRANSITION_SECONDS:g}, "
            f"got {value!r}"
        )


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if environ.get("wsgi.input_terminated"):  # chunked upload: the stream ends with the body
        return bytes(stream.read())
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    return bytes(stream.read(length))


def _drop_connection(environ: dict[str, Any]) -> None:
    """Shut the client's socket so it sees the connection close with no response."""
    connection = environ.get("werkzeug.socket")
    if connection is None:
        return
    with contextlib.suppress(OSError):  # the client may already be gone
        connection.shutdown(socket.SHUT_RDWR)
