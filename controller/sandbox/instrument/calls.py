"""Counting of served API operations, for API-call budget tests and benchmarks.

The controller promises a no-op pass costs about one DescribeEndpoint per endpoint; tests read
these counts (`GET /_sandbox/calls`, `Sandbox.calls()`) to hold it to that. Requests refused by
fault injection are counted under `rejected`, so retries do not inflate the budget figures.
"""

from __future__ import annotations

import threading
from collections import Counter

REJECTED = "rejected"


class CallCounter:
    """A thread-safe counter of operation names."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def served(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    def rejected(self) -> None:
        with self._lock:
            self._counts[REJECTED] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy, sorted by name so printed counts are stable."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
