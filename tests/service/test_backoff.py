"""Backoff: full jitter within exponential bounds, reset on success, and a bounded call rate."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.service.backoff import Backoff
from controller.service.workqueue import WorkQueue


def test_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=1.0, cap=600.0)
    assert [backoff.ceiling(n) for n in range(12)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        600,
        600,
    ]
    assert backoff.ceiling(10_000) == 600.0, "no overflow after many failures"


@given(
    seed=st.integers(0, 2**32),
    failures=st.integers(0, 40),
    base=st.floats(0.1, 5.0),
)
def test_each_delay_lies_between_floor_and_ceiling(seed: int, failures: int, base: float) -> None:
    backoff = Backoff(base=base, cap=base * 100, rng=random.Random(seed))
    for _ in range(failures):
        backoff.next_delay("k")
    delay = backoff.next_delay("k")
    assert backoff.floor <= delay <= max(backoff.floor, backoff.ceiling(failures))


def test_reset_starts_again_from_the_base() -> None:
    backoff = Backoff(base=1.0, cap=600.0, rng=random.Random(1))
    for _ in range(15):
        backoff.next_delay("k")
    assert backoff.failures("k") == 15
    backoff.reset("k")
    assert backoff.failures("k") == 0
    assert backoff.next_delay("k") <= 1.0


def test_keys_back_off_independently() -> None:
    backoff = Backoff(rng=random.Random(2))
    for _ in range(10):
        backoff.next_delay("failing")
    assert backoff.failures("healthy") == 0
    assert backoff.next_delay("healthy") <= backoff.base


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(base=0)
    with pytest.raises(ValueError):
        Backoff(base=10, cap=5)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", range(20))
def test_a_failing_key_makes_few_attempts_per_hour(seed: int) -> None:
    """Queue + backoff, as the runner uses them, over one simulated hour of constant failure."""
    clock = FakeClock()
    queue = WorkQueue(clock)
    backoff = Backoff(base=1.0, cap=600.0, rng=random.Random(seed))
    queue.add("broken")
    attempts = 0
    while clock.now < 3600.0:
        key = queue.get(timeout=0)
        if key is None:
            clock.now += queue.scheduled("broken") or 0.01  # jump to the retry
            continue
        attempts += 1
        queue.add_after(key, backoff.next_delay(key))
        queue.done(key)
    # ~10 attempts while the ceiling grows to the cap, then one per ~5 minutes on average.
    assert 8 <= attempts <= 45
