"""Client-side pacing of AWS calls: a fixed cap (`TokenBucket`) and one that follows throttling.

SageMaker's control-plane limits are account-wide and low (a few calls per second for some
operations). `--calls-per-second` is an opt-in fixed cap for sharing an account's budget;
`AdaptiveRate` caps a sender only while AWS throttles it for its rate, and keeps it there
without the retry storm that short backoffs alone would make.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


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

    def set_rate(self, rate: float) -> None:
        """Change the rate in place: callers already waiting follow the new rate at once."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self._refill_locked()  # tokens earned at the old rate stay earned
            self.rate = rate

    def _refill_locked(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def _reserve(self) -> float:
        """Take a token now or return how long to wait for one."""
        with self._lock:
            self._refill_locked()
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


@dataclass(frozen=True)
class Window:
    """What one measuring window saw: attempts sent, how many were throttled, over how long."""

    sent: int
    throttled: int
    seconds: float

    @property
    def share(self) -> float:
        return self.throttled / self.sent if self.sent else 0.0

    @property
    def served_rate(self) -> float:
        return (self.sent - self.throttled) / self.seconds if self.seconds > 0 else 0.0

    @property
    def sent_rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class RateState:
    """The pacing decision: a cap (None: none) and what the last windows taught.

    `baseline` is the throttle share that did not fall when the sender slowed down: throttling
    that does not depend on this sender's rate (other callers, a fixed fault share). Only the
    share above it is taken as a sign of sending too fast. `probe` remembers the share and the
    cap from before a slow-down, to tell next window whether slowing down helped.
    """

    rate: float | None = None
    baseline: float = 0.0
    probe: tuple[float, float | None] | None = None


HIGH_EXCESS = 0.1  # a throttle share this far above the baseline means "too fast"
SAME_SHARE = 0.15  # a share within this of the probe's did not move: slowing down did not help
BASELINE_WEIGHT = 0.2  # how fast the baseline falls to a lower share (exponential average)
GROWTH = 1.25  # a capped rate grows this much after a clean window
FLOOR = 1.0  # calls per second: a cap never goes below it


def next_rate(state: RateState, window: Window) -> RateState:
    """AIMD-like pacing that slows down only when slowing down lowers the throttle share.

    AWS throttles a caller that exceeds the account's rate: its served rate is then the limit,
    whatever it sends, so the cap goes to the served rate. If the next window's share stayed
    where it was, the throttling was not about this sender's rate: the cap from before the
    first cut comes back and that share becomes the baseline. (A share that moved, up or down,
    means the sender's rate matters: keep cutting while it is high; an account's burst allowance
    can inflate the first served rate.) A clean window grows a cap by GROWTH, and drops it once
    it is twice what the sender uses. botocore's adaptive mode instead cuts its rate by 30% after
    every throttle, down to 0.5 calls/s, whatever caused it.
    """
    share = window.share
    baseline = state.baseline
    if state.probe is not None:
        before_share, before_rate = state.probe
        if abs(share - before_share) <= SAME_SHARE:  # slowing down did not help: restore
            return RateState(before_rate, baseline=share)
    elif share < baseline:
        # Only a restore raises the baseline (throttling shown not to follow the rate); a lower
        # share pulls it down gradually, so a throttling that stopped is forgotten.
        baseline += BASELINE_WEIGHT * (share - baseline)
    if share - baseline > HIGH_EXCESS:
        cap = max(FLOOR, window.served_rate)
        if state.rate is not None:
            cap = min(cap, state.rate)
        original = state.probe[1] if state.probe is not None else state.rate
        return RateState(cap, baseline, probe=(share, original))
    if state.rate is None or share - baseline > HIGH_EXCESS / 2:
        return RateState(state.rate, baseline)
    grown = state.rate * GROWTH
    return RateState(None if grown > 2 * window.sent_rate else grown, baseline)


class AdaptiveRate:
    """A per-account pacer: counts attempts and throttles in windows and applies `next_rate`.

    `acquire` waits for the current cap (none at first); `record` is told of every attempt.
    A window closes once it holds `min_samples` attempts and lasted `min_window` seconds, so a
    fast sender is corrected within a fraction of a second and a quiet one never draws
    conclusions from three calls; a window that stays quieter than that for `max_window`
    seconds is dropped.
    """

    def __init__(
        self,
        *,
        min_window: float = 0.2,
        max_window: float = 10.0,
        min_samples: int = 40,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._min_window, self._max_window = min_window, max_window
        self._min_samples = min_samples
        self._clock = clock
        self._lock = threading.Lock()
        self.state = RateState()
        # One bucket whose rate changes in place, so callers already waiting follow a cut.
        self._bucket = TokenBucket(1.0, burst=1, clock=clock, sleep=sleep)
        self._started = clock()
        self._sent = self._throttled = 0
        self._last_share: float | None = None  # the last closed window's throttled share

    @property
    def rate(self) -> float | None:
        return self.state.rate

    @property
    def steady_throttling(self) -> bool:
        """True while the throttling is what slowing down was shown not to lower: a baseline was
        learned, no cut is being tested, and the last window's share was within the baseline.

        A long backoff after such a throttle only slows the sender, like the cap this pacer took
        back, so `retrying` waits less then. A share that rises above the baseline (an account
        limit reached) makes this False within a window, and the full backoff returns.
        """
        state, last = self.state, self._last_share
        if state.baseline <= 0 or state.probe is not None or last is None:
            return False
        return last - state.baseline <= HIGH_EXCESS / 2

    def acquire(self, timeout: float = 60.0) -> None:
        if self.state.rate is not None:
            self._bucket.acquire(timeout=timeout)

    def record(self, throttled: bool) -> None:
        with self._lock:
            self._sent += 1
            self._throttled += int(throttled)
            elapsed = self._clock() - self._started
            if elapsed < self._min_window or self._sent < self._min_samples:
                if elapsed > self._max_window:
                    self._started, self._sent, self._throttled = self._clock(), 0, 0
                return
            window = Window(self._sent, self._throttled, elapsed)
            self._started, self._sent, self._throttled = self._clock(), 0, 0
            self.state = next_rate(self.state, window)
            self._last_share = window.share
            if self.state.rate is not None:
                self._bucket.set_rate(self.state.rate)
