"""AdaptiveRate: slows a sender down to an account's real rate limit, and not for throttling
that does not depend on its rate. Simulated window by window (pure: no clock, no threads)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_ratelimit import FakeClock

from controller.aws.ratelimit import AdaptiveRate, RateState, Window, next_rate

WANTED = 200.0  # calls per second the sender would make uncapped (its concurrency's worth)
SAMPLES = 40


def simulate(throttled: Callable[[int, float], int], windows: int = 40) -> list[RateState]:
    """Run `windows` windows of SAMPLES attempts; `throttled(sent, seconds)` plays AWS."""
    state, states = RateState(), []
    for _ in range(windows):
        rate = min(WANTED, state.rate or WANTED)
        seconds = SAMPLES / rate
        state = next_rate(state, Window(SAMPLES, throttled(SAMPLES, seconds), seconds))
        states.append(state)
    return states


def sent_rate(state: RateState) -> float:
    return min(WANTED, state.rate or WANTED)


def account_limit(limit: float) -> Callable[[int, float], int]:
    """AWS-shaped: whatever exceeds `limit` calls per second is refused."""
    return lambda sent, seconds: max(0, round(sent - limit * seconds))


def fixed_share(share: float) -> Callable[[int, float], int]:
    """The sandbox's throttle_rate: the same share whatever the rate."""
    return lambda sent, _seconds: round(sent * share)


@pytest.mark.parametrize("limit", [5.0, 20.0, 80.0])
def test_settles_near_a_real_account_limit_without_a_storm(limit: float) -> None:
    states = simulate(account_limit(limit))
    settled = states[5:]
    rates = [sent_rate(s) for s in settled]
    assert max(rates) <= 2 * limit  # never far above the limit for long
    assert sum(rates) / len(rates) >= 0.6 * limit  # and does not crawl below it
    refused = [account_limit(limit)(SAMPLES, SAMPLES / r) / SAMPLES for r in rates]
    assert sum(refused) / len(refused) < 0.15


@pytest.mark.parametrize("share", [0.05, 0.3, 0.5])
def test_a_rate_independent_share_does_not_slow_the_sender(share: float) -> None:
    states = simulate(fixed_share(share))
    rates = [sent_rate(s) for s in states[5:]]
    assert sum(rates) / len(rates) >= 0.8 * WANTED


def test_no_throttling_no_cap() -> None:
    assert all(s.rate is None for s in simulate(lambda _sent, _seconds: 0))


def test_a_cap_is_lifted_once_throttling_stops() -> None:
    states = simulate(account_limit(10.0), windows=20)
    assert states[-1].rate is not None
    state = states[-1]
    for _ in range(40):
        seconds = SAMPLES / sent_rate(state)
        state = next_rate(state, Window(SAMPLES, 0, seconds))
    assert state.rate is None


def test_a_cap_never_goes_below_the_floor() -> None:
    state = next_rate(RateState(), Window(SAMPLES, SAMPLES, 1.0))  # everything refused
    assert state.rate == 1.0


def test_adaptive_rate_caps_after_a_throttled_window_and_paces_acquire() -> None:
    clock = FakeClock()
    pacer = AdaptiveRate(min_window=0.2, min_samples=10, clock=clock, sleep=clock.sleep)
    pacer.acquire()
    assert clock.sleeps == []  # no cap at first
    for i in range(10):
        clock.now += 0.05
        pacer.record(throttled=i % 2 == 0)  # half refused over 0.5 s: 10 served per second
    assert pacer.rate == pytest.approx(10.0)
    pacer.acquire()
    pacer.acquire()
    assert clock.sleeps == [pytest.approx(0.1)]  # one token per 1/rate seconds


def test_a_quiet_window_is_dropped_not_judged() -> None:
    clock = FakeClock()
    pacer = AdaptiveRate(min_samples=10, max_window=10.0, clock=clock, sleep=clock.sleep)
    for _ in range(9):
        clock.now += 2.0
        pacer.record(throttled=True)
    assert pacer.rate is None


def windows(pacer: AdaptiveRate, clock: FakeClock, shares: list[float]) -> list[bool]:
    """Close one window of 10 attempts per share; `steady_throttling` after each."""
    steady = []
    for share in shares:
        throttled = round(10 * share)
        for i in range(10):
            clock.now += 0.03
            pacer.record(throttled=i < throttled)
        steady.append(pacer.steady_throttling)
    return steady


def test_throttling_is_steady_only_once_slowing_down_was_shown_not_to_help() -> None:
    clock = FakeClock()
    pacer = AdaptiveRate(min_window=0.2, min_samples=10, clock=clock, sleep=clock.sleep)
    # A fixed 30% share: the first window cuts (a probe, not steady yet), the next shows the
    # cut did not help, and from then on the share is the baseline: steady.
    assert windows(pacer, clock, [0.3, 0.3, 0.3, 0.3]) == [False, True, True, True]
    assert pacer.rate is None
    # An account limit reached on top of it: the share rises above the baseline, and a
    # throttle gets the whole backoff again from that window on.
    assert windows(pacer, clock, [0.7]) == [False]


def test_a_real_account_limit_is_never_steady() -> None:
    clock = FakeClock()
    pacer = AdaptiveRate(min_window=0.2, min_samples=10, clock=clock, sleep=clock.sleep)
    # Half refused, then the cut to the served rate clears the throttling: the rate mattered.
    assert windows(pacer, clock, [0.5, 0.0, 0.0]) == [False, False, False]
    assert pacer.rate is not None
