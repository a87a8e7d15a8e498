"""Counting of served API operations, for API-call budget tests and benchmarks.

The controller promises a no-op pass costs about one DescribeEndpoint per endpoint; tests read
these counts (`GET /_sandbox/calls`, `Sandbox.calls()`) to hold it to that. Requests refused by
fault injection are counted under `rejected`, so retries do not inflate the budget figures.
Served calls are also kept per calling account (`GET /_sandbox/calls/by-account`), so a run over
several deployment targets, each in its own account, can say what each target cost.
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
        self._by_account: dict[str, Counter[str]] = {}

    def served(self, operation: str, account: str | None = None) -> None:
        with self._lock:
            self._counts[operation] += 1
            if account is not None:
                self._by_account.setdefault(account, Counter())[operation] += 1

    def rejected(self) -> None:
        with self._lock:
            self._counts[REJECTED] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy, sorted by name so printed counts are stable."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def by_account(self) -> dict[str, dict[str, int]]:
        """Served operations per calling account (the account its credentials act in), sorted."""
        with self._lock:
            return {
                account: dict(sorted(counts.items()))
                for account, counts in sorted(self._by_account.items())
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._by_account.clear()
