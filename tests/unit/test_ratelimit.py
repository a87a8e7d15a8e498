"""The client-side token bucket, driven by a fake clock (no real sleeping)."""

from __future__ import annotations

import pytest

from controller.aws.ratelimit import TokenBucket


class FakeClock:
    """A clock that only moves when the bucket sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def bucket(rate: float, burst: int | None = None) -> tuple[TokenBucket, FakeClock]:
    clock = FakeClock()
    return TokenBucket(rate, burst, clock=clock, sleep=clock.sleep), clock


def test_burst_then_rate() -> None:
    limiter, clock = bucket(rate=2, burst=4)
    for _ in range(4):
        limiter.acquire()
    assert clock.sleeps == []  # the burst is free
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [0.5, 0.5]  # then one token every 1/rate seconds
    assert clock.now == 101.0


def test_tokens_refill_while_idle_up_to_the_burst() -> None:
    limiter, clock = bucket(rate=4, burst=2)
    limiter.acquire()
    limiter.acquire()
    clock.now += 60  # a long pause refills only up to the burst
    for _ in range(2):
        limiter.acquire()
    assert clock.sleeps == []
    limiter.acquire()
    assert clock.sleeps == [0.25]


def test_partial_refill_waits_only_for_the_rest() -> None:
    limiter, clock = bucket(rate=1, burst=1)
    limiter.acquire()
    clock.now += 0.75
    limiter.acquire()
    assert clock.sleeps == [0.25]


@pytest.mark.parametrize(("rate", "capacity"), [(0.5, 1.0), (1, 1.0), (10, 10.0), (2.5, 2.0)])
def test_default_burst_is_the_rate(rate: float, capacity: float) -> None:
    limiter, _ = bucket(rate)
    assert limiter.capacity == capacity


def test_timeout_when_no_token_comes_in_time() -> None:
    limiter, clock = bucket(rate=1, burst=1)
    limiter.acquire()
    with pytest.raises(TimeoutError):
        limiter.acquire(timeout=0.5)
    assert clock.sleeps == []  # it gives up at once rather than sleeping past the deadline


def test_waits_that_fit_the_timeout_succeed() -> None:
    limiter, clock = bucket(rate=1, burst=1)
    limiter.acquire()
    limiter.acquire(timeout=1.0)
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("rate", [0, -1])
def test_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate)
