"""A whole-command time bound (`--timeout`), shared by every layer that may wait.

One `Deadline` is made when a command starts; the converge loop, the AWS clients (each HTTP
attempt, each retry backoff, the client-side rate limit) and apply's own retries ask it how much
time is left, so no single wait outlasts the command's budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from controller.errors import ControllerError


class DeadlineExceeded(ControllerError):
    """The command's `--timeout` ran out before the work was done."""


class Deadline:
    """A point in monotonic time; `None` seconds means unbounded."""

    def __init__(
        self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        """Seconds left (never negative); infinity when unbounded."""
        if self._at is None:
            return float("inf")
        return max(0.0, self._at - self._clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def check(self, doing: str = "") -> None:
        """Raise DeadlineExceeded once the time is up."""
        if self.expired:
            what = f" before {doing}" if doing else ""
            raise DeadlineExceeded(f"timed out: --timeout {self.seconds:g}s reached{what}")

    def sleep(self, seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Sleep `seconds`, but never past the deadline (and raise if it has passed)."""
        self.check("waiting")
        sleep(min(seconds, self.remaining()))
        self.check("waiting")
