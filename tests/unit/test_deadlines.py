"""`--timeout` as one deadline: the clock arithmetic, the AWS client hooks, and the converge loop
(short first polls backing off to --poll-interval, never sleeping past the deadline)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from test_ratelimit import FakeClock  # a clock that moves only when slept on

from controller.aws.clients import AwsOptions, Clients
from controller.aws.ratelimit import AdaptiveRate
from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.deadlines import Deadline, DeadlineExceeded
from controller.reconcile.converging import TIMED_OUT, converge, poll_intervals


def test_deadline_counts_down_and_raises_once_reached() -> None:
    clock = FakeClock()
    deadline = Deadline(10, clock=clock)
    clock.now += 4
    assert deadline.remaining() == 6
    deadline.check()
    clock.now += 7
    assert deadline.remaining() == 0 and deadline.expired
    with pytest.raises(DeadlineExceeded, match="--timeout 10s reached before waiting"):
        deadline.check("waiting")


def test_unbounded_deadline_never_expires() -> None:
    deadline = Deadline(None)
    assert deadline.remaining() == float("inf") and not deadline.expired


def test_deadline_sleep_stops_at_the_deadline() -> None:
    clock = FakeClock()
    deadline = Deadline(3, clock=clock)
    deadline.sleep(2, sleep=clock.sleep)
    with pytest.raises(DeadlineExceeded):
        deadline.sleep(4, sleep=clock.sleep)
    assert clock.sleeps == [2, 1]


def clients_with(deadline: Deadline) -> Clients:
    return Clients(AwsOptions(region="us-east-1", deadline=deadline))


class Highest(random.Random):
    """Jitter that always draws (almost) the top of its range: the longest backoff."""

    def random(self) -> float:
        return 0.999


READ = SimpleNamespace(name="DescribeEndpoint", service_model=SimpleNamespace(service_name="x"))


def retry_verdict(clients: Clients, attempts: int, **kwargs: object) -> float | bool:
    clients._jitter = Highest()
    pacer = AdaptiveRate()
    return clients._needs_retry(pacer, attempts=attempts, operation=READ, **kwargs)


@pytest.mark.parametrize(
    ("left", "attempts", "retry_allowed"),
    [
        (5.0, 1, True),  # first backoff is at most 0.1 s
        (0.05, 1, False),
        (0.5, 4, False),  # 4th backoff may be 0.8 s
        (30.0, 7, True),  # capped at 5 s
        (4.0, 7, False),
    ],
)
def test_no_retry_whose_backoff_could_outlast_the_deadline(
    left: float, attempts: int, retry_allowed: bool
) -> None:
    clients = clients_with(Deadline(left, clock=FakeClock()))
    throttled = (SimpleNamespace(status_code=400), {"Error": {"Code": "ThrottlingException"}})
    verdict = retry_verdict(clients, attempts, response=throttled)
    assert (verdict is not False) is retry_allowed


def test_no_http_attempt_after_the_deadline() -> None:
    clock = FakeClock()
    clients = clients_with(Deadline(1, clock=clock))
    clients._throttle()
    clock.now += 1
    with pytest.raises(DeadlineExceeded):
        clients._throttle()


def test_client_timeouts_never_exceed_the_time_left() -> None:
    clients = clients_with(Deadline(2.0))
    config = clients.sagemaker().meta.config
    assert config.connect_timeout <= 2.0 and config.read_timeout <= 2.0
    unbounded = clients_with(Deadline(None)).sagemaker().meta.config
    assert (unbounded.connect_timeout, unbounded.read_timeout) == (5.0, 30.0)


def test_poll_intervals_double_up_to_the_poll_interval() -> None:
    intervals = poll_intervals(1.0, 15.0)
    assert [next(intervals) for _ in range(7)] == [1, 2, 4, 8, 15, 15, 15]
    short = poll_intervals(1.0, 0.05)
    assert [next(short) for _ in range(2)] == [0.05, 0.05]


class ScriptedReconciler:
    """Says REQUEUE for `changing` passes per endpoint, then CONVERGED."""

    def __init__(self, changing: int, error: Exception | None = None) -> None:
        self.changing = changing
        self.error = error
        self.passes: dict[str, int] = {}

    def reconcile(self, snapshot: Any, key: str, *, apply: bool) -> Outcome:
        if self.error is not None:
            raise self.error
        self.passes[key] = self.passes.get(key, 0) + 1
        if self.passes[key] <= self.changing:
            return Outcome(key, OutcomeKind.REQUEUE, "endpoint is changing")
        return Outcome(key, OutcomeKind.CONVERGED, "in sync")


def run(rec: Any, clock: FakeClock, timeout: float, *, wait: bool = True) -> Any:
    return converge(
        rec,
        None,  # type: ignore[arg-type]  # the scripted reconciler never reads the snapshot
        ["us-east-1/a", "us-east-1/b"],
        wait=wait,
        deadline=Deadline(timeout, clock=clock),
        poll=15.0,
        clock=clock,
        sleep=clock.sleep,
    )


def test_wait_checks_early_then_backs_off() -> None:
    clock = FakeClock()
    result = run(ScriptedReconciler(changing=5), clock, timeout=3600)
    assert clock.sleeps == [1, 2, 4, 8, 15]
    assert not result.timed_out and not result.failed


def test_wait_never_sleeps_past_the_deadline_and_names_what_is_still_changing() -> None:
    clock = FakeClock()
    result = run(ScriptedReconciler(changing=100), clock, timeout=10)
    assert clock.sleeps == [1, 2, 4, 3]
    assert clock.now - 100.0 == 10
    assert result.timed_out
    assert result.still_changing == ["a", "b"]


def test_a_reconcile_cut_short_by_the_deadline_is_a_timeout_even_without_wait() -> None:
    clock = FakeClock()
    rec = ScriptedReconciler(changing=0, error=DeadlineExceeded("--timeout 1s reached"))
    result = run(rec, clock, timeout=1, wait=False)
    assert result.timed_out and clock.sleeps == []
    assert {o.reason for o in result.outcomes.values()} == {TIMED_OUT}


def test_no_wait_with_changes_in_flight_is_not_a_timeout() -> None:
    clock = FakeClock()
    result = run(ScriptedReconciler(changing=3), clock, timeout=3600, wait=False)
    assert not result.timed_out and clock.sleeps == []
    assert result.still_changing == ["a", "b"]


def test_a_connection_failure_with_no_time_to_retry_is_the_timeout() -> None:
    clients = clients_with(Deadline(0.05, clock=FakeClock()))
    timeout = ReadTimeoutError(endpoint_url="http://127.0.0.1")
    with pytest.raises(DeadlineExceeded, match=r"--timeout 0\.05s reached"):
        retry_verdict(clients, 1, caught_exception=timeout)
    roomy = clients_with(Deadline(60, clock=FakeClock()))
    assert retry_verdict(roomy, 1, caught_exception=timeout) is not False
