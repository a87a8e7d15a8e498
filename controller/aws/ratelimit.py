"""A thread-safe token bucket: the client-side cap on AWS calls per second.

SageMaker's control-plane limits are account-wide and low (a few calls per second for some
operations); botocore's adaptive retry reacts to throttling after the fact, this keeps a busy
controller from causing it in the first place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, bursts up to `burst`; `acquire` blocks until a token is free."""

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token now or return how long to wait for one."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self.rate

    def acquire(self, timeout: float = 60.0) -> None:
        deadline = self._clock() + timeout
        while (wait := self._reserve()) > 0:
            if self._clock() + wait > deadline:
                raise TimeoutError("rate limiter: no token within the timeout")
            self._sleep(wait)
