"""The sandbox's AWS-shaped throttling: a token bucket per account, refused calls take no token."""

from __future__ import annotations

import pytest

from controller.sandbox.instrument.faults import FaultInjector, Faults


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def refused(injector: FaultInjector, account: str, count: int) -> int:
    return sum(injector.decide(account).error is not None for _ in range(count))


def test_a_second_worth_of_burst_then_the_rate_per_account() -> None:
    clock = Clock()
    injector = FaultInjector(Faults(rate_limit=10.0), clock=clock)
    assert refused(injector, "111111111111", 15) == 5  # 10 in the bucket
    assert refused(injector, "222222222222", 10) == 0  # another account, its own bucket
    clock.now += 0.5  # 5 tokens back
    assert refused(injector, "111111111111", 8) == 3
    error = injector.decide("111111111111").error
    assert error is not None and (error.code, error.status) == ("ThrottlingException", 400)
    traffic = injector.traffic()
    assert traffic["rate_limited"] == 9 and traffic["arrived_per_second"] == [34]


def test_a_sender_under_the_limit_is_never_refused() -> None:
    clock = Clock()
    injector = FaultInjector(Faults(rate_limit=20.0), clock=clock)
    for _ in range(200):
        clock.now += 0.06  # 16.7 calls per second
        assert injector.decide("a").error is None
    assert injector.traffic()["peak_served"] <= 20


def test_the_rate_limit_draws_no_random_numbers() -> None:
    plain = FaultInjector(Faults(throttle_rate=0.3, seed=4))
    limited = FaultInjector(Faults(throttle_rate=0.3, seed=4, rate_limit=1e5))
    assert [plain.decide().error is None for _ in range(50)] == [
        limited.decide("a").error is None for _ in range(50)
    ]


@pytest.mark.parametrize("value", [-1.0, float("nan"), 1e6, True, "5"])
def test_invalid_rate_limits_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="rate_limit"):
        Faults(rate_limit=value)  # type: ignore[arg-type]
