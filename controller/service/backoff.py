"""Per-endpoint exponential backoff with full jitter, for transient reconcile failures.

A throttled or failing endpoint retries after a random delay in [0, min(cap, base * 2**n)), the
"full jitter" scheme from the AWS Architecture Blog: the random spread keeps many failing
endpoints from retrying in lockstep against an already throttled API, and the cap keeps a
long-broken endpoint checked every few minutes rather than hot-looping. Success resets the count.
A floor keeps the jittered delay from collapsing to ~0, which would let a failure loop fast.
"""

from __future__ import annotations

import random
import threading


class Backoff:
    """Failure counts per key and the delay before the next attempt."""

    def __init__(
        self,
        base: float = 1.0,
        cap: float = 600.0,
        *,
        floor: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("need 0 < base <= cap")
        self.base = base
        self.cap = cap
        # A retry never comes sooner than half the base delay, so even the first retries are
        # spaced out; full jitter alone could draw 0 s over and over.
        self.floor = base / 2 if floor is None else floor
        self._rng = rng or random.Random()
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def next_delay(self, key: str) -> float:
        """Record one more failure of `key` and return how long to wait before retrying it."""
        with self._lock:
            attempt = self._failures.get(key, 0)
            self._failures[key] = attempt + 1
            ceiling = self.ceiling(attempt)
            return max(self.floor, self._rng.uniform(0.0, ceiling))

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay after `attempt` earlier failures (0-based)."""
        # Cap the exponent first: 2**attempt overflows a float after ~1000 failures.
        return min(self.cap, self.base * 2.0 ** min(attempt, 64))

    def failures(self, key: str) -> int:
        with self._lock:
            return self._failures.get(key, 0)

    def reset(self, key: str) -> None:
        """Forget the failures of `key`: it succeeded, or its input changed."""
        with self._lock:
            self._failures.pop(key, None)
