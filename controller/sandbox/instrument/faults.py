"""Fault injection: latency, throttling and 5xx answers at configurable rates.

The controller must survive a slow, throttling, flaky SageMaker; these knobs let tests and
benchmarks prove it. Decisions come from a seeded `random.Random`, so a test that sends the same
requests in the same order sees the same faults every run.

Throttling comes in two shapes: `throttle_rate` refuses a fixed share of requests whatever
their rate (a stress test: no client pacing can avoid it), while `rate_limit` refuses what an
account sends beyond so many calls per second, which is how AWS throttles; `traffic()` reports
what arrived per second, so a test can show a client settles under the limit without a storm.

Two kinds of failure: a *rejected* request (throttle, 5xx) never reached the backend, while an
*ambiguous* one (after_commit_*) did: a write that took effect, then answered 5xx or with a
dropped connection, as when AWS commits and the response is lost. A client cannot tell the two
apart, so a retry of a create may meet "already exists" for its own earlier attempt.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from controller.sandbox.errors import ApiError

MAX_LATENCY_MS = 60_000
"""A cap so a typo cannot hang every request for hours."""
MAX_RATE_LIMIT = 100_000.0


@dataclass(frozen=True)
class Faults:
    """What to inject into every AWS API request (control routes are never affected)."""

    latency_ms: int = 0
    """Delay added before each request is handled, in milliseconds."""
    throttle_rate: float = 0.0
    """Share of requests answered with HTTP 400 ThrottlingException (botocore retries these)."""
    error_rate: float = 0.0
    """Share of requests answered with HTTP 500 InternalFailure or 503 ServiceUnavailable."""
    after_commit_error_rate: float = 0.0
    """Share of successful writes answered 500/503 although they took effect."""
    after_commit_drop_rate: float = 0.0
    """Share of successful writes whose connection is dropped, with no answer, after they
    took effect."""
    rate_limit: float = 0.0
    """Calls per second each account may make (0: unlimited). As AWS does, a token bucket per
    account holding one second's worth refuses what exceeds it with ThrottlingException;
    a refused request takes no token."""
    seed: int = 0
    """Seed of the random generator that picks which requests fail."""
    failing_operations: tuple[str, ...] = ()
    """Operations (e.g. "UpdateEndpoint") answered 500 InternalFailure every time, before they
    act: a persistent server error, as plain moto answers an API it lacks (NotImplemented)."""

    def __post_init__(self) -> None:
        _check_int("latency_ms", self.latency_ms, 0, MAX_LATENCY_MS)
        _check_rate("throttle_rate", self.throttle_rate)
        _check_rate("error_rate", self.error_rate)
        _check_rate("after_commit_error_rate", self.after_commit_error_rate)
        _check_rate("after_commit_drop_rate", self.after_commit_drop_rate)
        ok = isinstance(self.rate_limit, (int, float)) and not isinstance(self.rate_limit, bool)
        if not ok or not 0.0 <= self.rate_limit <= MAX_RATE_LIMIT:  # NaN fails both
            raise ValueError(
                f"rate_limit must be a number from 0 to {MAX_RATE_LIMIT:g}, got {self.rate_limit!r}"
            )
        if self.after_commit_error_rate + self.after_commit_drop_rate > 1.0:
            raise ValueError(
                "after_commit_error_rate + after_commit_drop_rate must be at most 1, got "
                f"{self.after_commit_error_rate} + {self.after_commit_drop_rate}"
            )
        failing = self.failing_operations
        if not isinstance(failing, tuple) or not all(isinstance(o, str) for o in failing):
            raise ValueError(f"failing_operations must be operation names, got {failing!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _check_rate(name: str, value: Any) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")


FAULT_FIELDS = frozenset(f.name for f in fields(Faults))

WRITE_PREFIXES = (
    "Add",
    "Create",
    "Delete",
    "Deregister",
    "Put",
    "Register",
    "Remove",
    "Start",
    "Stop",
    "Tag",
    "Untag",
    "Update",
)
"""Operation name prefixes of calls that change state (CreateModel, UpdateEndpoint, ...)."""


def is_write(operation: str) -> bool:
    return operation.startswith(WRITE_PREFIXES)


class Drop:
    """Marker: close the connection without answering."""


DROP = Drop()


@dataclass(frozen=True)
class Decision:
    """What happens to one request: a delay, and possibly an injected error instead of service."""

    delay_seconds: float
    error: ApiError | None


class FaultInjector:
    """Thread-safe holder of the current `Faults` and their random generator."""

    def __init__(self, faults: Faults, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._clock = clock
        self._started = clock()
        self._buckets: dict[str, tuple[float, float]] = {}  # account -> (tokens, when)
        self._arrived: Counter[int] = Counter()  # whole seconds since start -> requests
        self._refused: Counter[int] = Counter()  # ... -> requests refused by rate_limit

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def update(self, **changes: Any) -> Faults:
        """Apply a partial update; an invalid value raises ValueError and changes nothing."""
        unknown = set(changes) - FAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        if isinstance(changes.get("failing_operations"), list):  # JSON has no tuples
            changes["failing_operations"] = tuple(changes["failing_operations"])
        with self._lock:
            updated = replace(self._faults, **changes)
            self._faults = updated
            if "seed" in changes:
                self._random = random.Random(updated.seed)
            if "rate_limit" in changes:
                self._buckets.clear()
            return updated

    def traffic(self) -> dict[str, Any]:
        """Requests that arrived and were refused by `rate_limit`, per second since start."""
        with self._lock:
            last = max(self._arrived, default=-1)
            arrived = [self._arrived[s] for s in range(last + 1)]
            refused = [self._refused[s] for s in range(last + 1)]
        served = [a - r for a, r in zip(arrived, refused, strict=True)]
        return {
            "arrived_per_second": arrived,
            "rate_limited_per_second": refused,
            "peak_arrived": max(arrived, default=0),
            "peak_served": max(served, default=0),
            "rate_limited": sum(refused),
        }

    def _over_limit(self, account: str, second: int, limit: float) -> bool:
        """Take a token from the account's bucket (refilled at `limit`/s, holding `limit`)."""
        now = self._clock()
        tokens, when = self._buckets.get(account, (limit, now))
        tokens = min(limit, tokens + (now - when) * limit)
        if tokens < 1.0:
            self._buckets[account] = (tokens, now)
            self._refused[second] += 1
            return True
        self._buckets[account] = (tokens - 1.0, now)
        return False

    def decide(self, account: str = "", operation: str = "") -> Decision:
        """Draw the fate of one request; one draw per request keeps sequences reproducible.

        The rate limit is checked first and draws nothing, so the random faults hit the same
        requests whether or not it is set.
        """
        with self._lock:
            faults = self._faults
            delay = faults.latency_ms / 1000.0
            second = int(self._clock() - self._started)
            self._arrived[second] += 1
            if faults.rate_limit and self._over_limit(account, second, faults.rate_limit):
                return Decision(delay, ApiError("ThrottlingException", "Rate exceeded", 400))
            if operation and operation in faults.failing_operations:  # draws nothing either
                message = f"An internal error occurred (injected: {operation} always fails)."
                return Decision(delay, ApiError("InternalFailure", message, 500))
            if faults.throttle_rate == 0.0 and faults.error_rate == 0.0:
                return Decision(delay, None)
            draw = self._random.random()
            if draw < faults.throttle_rate:
                return Decision(delay, ApiError("ThrottlingException", "Rate exceeded", 400))
            if draw < faults.throttle_rate + faults.error_rate:
                return Decision(delay, self._server_error())
            return Decision(delay, None)

    def after_commit(self, operation: str) -> ApiError | Drop | None:
        """The fate of a write that succeeded: answered as is (None), a 5xx, or dropped.

        Draws only for writes and only while an after-commit rate is set, so turning these
        knobs on does not change which requests the other faults hit before.
        """
        with self._lock:
            faults = self._faults
            error_rate, drop_rate = faults.after_commit_error_rate, faults.after_commit_drop_rate
            if (error_rate == 0.0 and drop_rate == 0.0) or not is_write(operation):
                return None
            draw = self._random.random()
            if draw < error_rate:
                return self._server_error(" after the change was made")
            if draw < error_rate + drop_rate:
                return DROP
            return None

    def _server_error(self, when: str = "") -> ApiError:
        if self._random.random() < 0.5:
            return ApiError("InternalFailure", f"An internal error occurred (injected{when}).", 500)
        return ApiError("ServiceUnavailable", f"Service is unavailable (injected{when}).", 503)
