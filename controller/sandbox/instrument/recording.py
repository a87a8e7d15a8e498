"""Parameters of served API requests, per operation, for tests that check what a client sent.

Call counts (`calls`) say how many requests a pass made; tests of the controller's apply also
need to know WHAT it sent (the exact CreateEndpointConfig, the DeploymentConfig of an
UpdateInferenceComponent). The log keeps the last `limit` requests of each operation, so a
long-running sandbox (the demo, `sandbox` command) cannot grow without bound.
Served over `GET /_sandbox/requests[?operation=Name]` and cleared with `DELETE`.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from controller.sandbox.errors import ApiError
from controller.sandbox.protocol import ApiRequest

DEFAULT_LIMIT = 200
"""Requests kept per operation: enough for any test's pass, small enough to never matter."""
MAX_OPERATIONS = 1000
"""Distinct operation names kept: the name comes from a header, so it is bounded too."""


class RequestLog:
    """A thread-safe, bounded record of request parameters by operation name."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._by_operation: dict[str, deque[dict[str, Any]]] = {}

    def record(self, operation: str, params: dict[str, Any]) -> None:
        with self._lock:
            kept = self._by_operation.get(operation)
            if kept is None:
                if len(self._by_operation) >= MAX_OPERATIONS:
                    return
                kept = self._by_operation[operation] = deque(maxlen=self._limit)
            kept.append(copy.deepcopy(params))

    def of(self, operation: str) -> list[dict[str, Any]]:
        """The kept requests of one operation, oldest first (a copy)."""
        with self._lock:
            return copy.deepcopy(list(self._by_operation.get(operation, ())))

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every operation's kept requests, by operation name (sorted, copies)."""
        with self._lock:
            by_name = sorted(self._by_operation.items())
            return {op: copy.deepcopy(list(kept)) for op, kept in by_name}

    def reset(self) -> None:
        with self._lock:
            self._by_operation.clear()


def request_params(request: ApiRequest) -> dict[str, Any]:
    """What a request asked for: the JSON or CBOR body, or a query call's form fields (less
    Action)."""
    if request.protocol in ("json", "cbor"):
        try:
            return request.params()
        except ApiError:
            return {}
    if request.protocol == "query":
        fields = parse_qs(request.body.decode("utf-8", errors="replace"))
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items() if k != "Action"}
    return {}
