"""Fault injection: latency, throttling and 5xx answers at configurable rates.

The controller must survive a slow, throttling, flaky SageMaker; these knobs let tests and
benchmarks prove it. Decisions come from a seeded `random.Random`, so a test that sends the same
requests in the same order sees the same faults every run.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, fields, replace
from typing import Any

from controller.sandbox.errors import ApiError

MAX_LATENCY_MS = 60_000
"""A cap so a typo cannot hang every request for hours."""


@dataclass(frozen=True)
class Faults:
    """What to inject into every AWS API request (control routes are never affected)."""

    latency_ms: int = 0
    """Delay added before each request is handled, in milliseconds."""
    throttle_rate: float = 0.0
    """Share of requests answered with HTTP 400 ThrottlingException (botocore retries these)."""
    error_rate: float = 0.0
    """Share of requests answered with HTTP 500 InternalFailure or 503 ServiceUnavailable."""
    seed: int = 0
    """Seed of the random generator that picks which requests fail."""

    def __post_init__(self) -> None:
        _check_int("latency_ms", self.latency_ms, 0, MAX_LATENCY_MS)
        _check_rate("throttle_rate", self.throttle_rate)
        _check_rate("error_rate", self.error_rate)
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


@dataclass(frozen=True)
class Decision:
    """What happens to one request: a delay, and possibly an injected error instead of service."""

    delay_seconds: float
    error: ApiError | None


class FaultInjector:
    """Thread-safe holder of the current `Faults` and their random generator."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._faults = faults
        self._random = random.Random(faults.seed)

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def update(self, **changes: Any) -> Faults:
        """Apply a partial update; an invalid value raises ValueError and changes nothing."""
        unknown = set(changes) - FAULT_FIELDS
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            updated = replace(self._faults, **changes)
            self._faults = updated
            if "seed" in changes:
                self._random = random.Random(updated.seed)
            return updated

    def decide(self) -> Decision:
        """Draw the fate of one request; one draw per request keeps sequences reproducible."""
        with self._lock:
            faults = self._faults
            delay = faults.latency_ms / 1000.0
            if faults.throttle_rate == 0.0 and faults.error_rate == 0.0:
                return Decision(delay, None)
            draw = self._random.random()
            if draw < faults.throttle_rate:
                return Decision(delay, ApiError("ThrottlingException", "Rate exceeded", 400))
            if draw < faults.throttle_rate + faults.error_rate:
                return Decision(delay, self._server_error())
            return Decision(delay, None)

    def _server_error(self) -> ApiError:
        if self._random.random() < 0.5:
            return ApiError("InternalFailure", "An internal error occurred (injected).", 500)
        return ApiError("ServiceUnavailable", "Service is unavailable (injected).", 503)
