"""Lease and LeaderElector against the sandbox's DynamoDB over loopback, fake and real clocks."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.aws.clients import AwsOptions, Clients
from controller.sandbox import Sandbox
from controller.service.lease import LeaderElector, Lease, LeaseError

TABLE = "gitops-leases"


class FakeClock:
    """Wall-clock seconds that move only when told to; `skew` shifts one replica's view."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def skewed(self, skew: float) -> Any:
        return lambda: self.now + skew

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A DynamoDB client on the project's sandbox (moto over loopback HTTP), table created."""
    for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in sandbox.env().items():
        monkeypatch.setenv(var, value)
    options = AwsOptions(region="us-east-1", calls_per_second=10_000, max_attempts=1)
    client = Clients(options).client("dynamodb")
    Lease(client, TABLE).ensure_table(timeout=10, poll=0.05)
    return client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pair(dynamodb: Any, clock: FakeClock, **kwargs: Any) -> tuple[Lease, Lease]:
    a = Lease(dynamodb, TABLE, holder="replica-a", clock=clock, **kwargs)
    b = Lease(dynamodb, TABLE, holder="replica-b", clock=clock, **kwargs)
    return a, b


def stored(dynamodb: Any, name: str = "sagemaker-gitops") -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName=TABLE, Key={"name": {"S": name}}, ConsistentRead=True
    )["Item"]
    return item


def test_ensure_table_creates_it_once(dynamodb: Any) -> None:
    Lease(dynamodb, "other").ensure_table(timeout=10, poll=0.05)
    Lease(dynamodb, "other").ensure_table(timeout=10, poll=0.05)  # idempotent
    table = dynamodb.describe_table(TableName="other")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_only_one_holder_and_renewal_keeps_token(dynamodb: Any, clock: FakeClock) -> None:
    a, b = pair(dynamodb, clock, duration=10.0)
    assert a.try_acquire() and a.is_leader() and a.fencing_token == 1
    assert not b.try_acquire() and not b.is_leader() and b.fencing_token is None
    clock.advance(5)
    assert a.renew() and a.try_acquire()
    assert a.fencing_token == 1  # renewing is not a new acquisition
    clock.advance(9)  # past the first expiry, but A renewed
    assert not b.try_acquire()
    item = stored(dynamodb)
    assert item["holder"] == {"S": "replica-a"}
    assert float(item["expires_at"]["N"]) == pytest.approx(clock.now - 9 + 10)
    assert float(item["renewed_at"]["N"]) == pytest.approx(clock.now - 9)
    assert item["token"] == {"N": "1"}


def test_expired_lease_moves_to_other_replica_with_higher_token(
    dynamodb: Any, clock: FakeClock
) -> None:
    a, b = pair(dynamodb, clock, duration=10.0)
    assert a.try_acquire()
    clock.advance(10.001)
    assert not a.is_leader()
    assert b.try_acquire() and b.fencing_token == 2
    assert a.renew() is False
    assert not a.is_leader() and a.fencing_token is None
    assert not a.try_acquire()  # B holds it now
    assert stored(dynamodb)["holder"] == {"S": "replica-b"}


def test_leader_stops_at_expiry_minus_margin_before_anyone_can_take_over(
    dynamodb: Any, clock: FakeClock
) -> None:
    a, b = pair(dynamodb, clock, duration=10.0, margin=2.0)
    assert a.try_acquire()
    clock.advance(7.999)
    assert a.is_leader() and a.remaining() == pytest.approx(0.001)
    clock.advance(0.001)
    assert not a.is_leader() and a.fencing_token is None
    assert not b.try_acquire()  # the lease is still A's in the table
    clock.advance(2.001)
    assert b.try_acquire()


def test_clock_skew_below_margin_never_gives_two_leaders(dynamodb: Any, clock: FakeClock) -> None:
    """A's clock runs 1.9 s behind B's (margin 2 s): A stops before B may take over."""
    a = Lease(dynamodb, TABLE, holder="a", duration=10.0, margin=2.0, clock=clock.skewed(-1.9))
    b = Lease(dynamodb, TABLE, holder="b", duration=10.0, margin=2.0, clock=clock)
    assert a.try_acquire()  # stored expires_at = true time + 8.1
    clock.advance(7.99)
    assert a.is_leader() and not b.try_acquire()
    clock.advance(0.02)  # true time + 8.01: A's own deadline (exp - margin) has passed
    assert not a.is_leader() and not b.try_acquire()
    clock.advance(0.1)  # past the stored expiry by B's clock
    assert b.try_acquire() and not a.is_leader()


def test_release_lets_standby_acquire_at_once(dynamodb: Any, clock: FakeClock) -> None:
    a, b = pair(dynamodb, clock)
    assert a.try_acquire()
    a.release()
    assert not a.is_leader() and a.fencing_token is None
    assert b.try_acquire() and b.fencing_token == 2
    a.release()  # releasing what we do not hold is a no-op
    assert b.is_leader()


def test_release_after_losing_does_not_free_the_new_holders_lease(
    dynamodb: Any, clock: FakeClock
) -> None:
    a, b = pair(dynamodb, clock, duration=10.0)
    assert a.try_acquire()
    clock.advance(11)
    assert b.try_acquire()
    a.release()  # A still thinks it holds token 1; the conditional write must fail quietly
    assert stored(dynamodb)["holder"] == {"S": "replica-b"}
    assert not a.try_acquire()


def test_renew_without_holding_is_false(dynamodb: Any, clock: FakeClock) -> None:
    a, _ = pair(dynamodb, clock)
    assert a.renew() is False


def test_aws_error_keeps_leading_only_until_own_deadline(dynamodb: Any, clock: FakeClock) -> None:
    a, _ = pair(dynamodb, clock, duration=10.0, margin=2.0)
    assert a.try_acquire()
    dynamodb.delete_table(TableName=TABLE)  # renewals now fail with a non-conditional error
    clock.advance(5)
    with pytest.raises(LeaseError) as caught:
        a.renew()
    assert caught.value.code == "ResourceNotFoundException"
    assert a.is_leader()  # not sure we lost it, and not yet past our own deadline
    clock.advance(2.999)
    assert a.is_leader()
    clock.advance(0.001)
    assert not a.is_leader()  # expires_at - margin, although nobody told us we lost it


def test_separate_lease_names_do_not_interfere(dynamodb: Any, clock: FakeClock) -> None:
    one = Lease(dynamodb, TABLE, name="team-a", holder="x", clock=clock)
    two = Lease(dynamodb, TABLE, name="team-b", holder="y", clock=clock)
    assert one.try_acquire() and two.try_acquire()


def test_invalid_timing_is_refused(dynamodb: Any) -> None:
    with pytest.raises(ValueError):
        Lease(dynamodb, TABLE, duration=1.0, margin=1.0)
    with pytest.raises(ValueError):
        LeaderElector(
            Lease(dynamodb, TABLE, duration=1.0),
            renew_every=0.9,
            on_started_leading=lambda: None,
            on_stopped_leading=lambda: None,
        )


# Each step: (replica, action, seconds to advance the shared clock afterwards).
STEPS = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["try_acquire", "renew", "release"]),
        # Half the pauses land near the 10 s duration, where overlaps would hide.
        st.one_of(st.floats(0, 12), st.floats(8, 10.5)),
    ),
    max_size=25,
)
COUNTER = iter(range(1_000_000))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, skews=st.lists(st.floats(-0.9, 0.9), min_size=3, max_size=3))
def test_never_two_leaders_and_tokens_increase(
    dynamodb: Any, steps: list[tuple[int, str, float]], skews: list[float]
) -> None:
    """Any interleaving, clocks skewed by less than the margin (2 s apart at most < margin)."""
    clock = FakeClock()
    name = f"prop-{next(COUNTER)}"  # a fresh item per example, on the shared table
    leases = [
        Lease(
            dynamodb,
            TABLE,
            name=name,
            holder=f"r{i}",
            duration=10.0,
            margin=2.0,
            clock=clock.skewed(skew),
        )
        for i, skew in enumerate(skews)
    ]
    last_token = 0
    for who, action, pause in steps:
        getattr(leases[who], action)()
        leaders = [lease for lease in leases if lease.is_leader()]
        assert len(leaders) <= 1
        for lease in leaders:
            assert lease.fencing_token is not None and lease.fencing_token >= last_token
            last_token = lease.fencing_token
        clock.advance(pause)
        assert sum(lease.is_leader() for lease in leases) <= 1


class Recorder:
    """An elector's callbacks: the flag the runner would check, and a transition log."""

    def __init__(self) -> None:
        self.leading = False
        self.events: list[tuple[str, float]] = []

    def started(self) -> None:
        self.leading = True
        self.events.append(("started", time.time()))

    def stopped(self) -> None:
        self.leading = False
        self.events.append(("stopped", time.time()))


def elector(dynamodb: Any, holder: str, duration: float = 0.5) -> tuple[LeaderElector, Recorder]:
    rec = Recorder()
    lease = Lease(dynamodb, TABLE, holder=holder, duration=duration)
    return LeaderElector(lease, on_started_leading=rec.started, on_stopped_leading=rec.stopped), rec


def wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def sample_never_both(recs: list[Recorder], seconds: float) -> int:
    """Sample every 10 ms for `seconds`; return how many samples had both leading."""
    overlaps = 0
    for _ in range(int(seconds / 0.01)):
        overlaps += all(r.leading for r in recs)
        time.sleep(0.01)
    return overlaps


def test_two_electors_one_leader_and_handover_on_stop(dynamodb: Any) -> None:
    # A 2 s lease (renewed every 0.67 s) rather than the default 0.5 s: the handover below must
    # beat expiry to prove the lease was released, and a loaded CI machine can stall a thread
    # for longer than 0.5 s.
    (ea, ra), (eb, rb) = elector(dynamodb, "a", 2.0), elector(dynamodb, "b", 2.0)
    ea.start()
    eb.start()
    try:
        assert wait_for(lambda: ra.leading or rb.leading, timeout=4.0)
        assert sample_never_both([ra, rb], seconds=1.5) == 0  # > 2 renewals
        assert ra.leading != rb.leading
        (leader, lrec), (standby, srec) = (
            ((ea, ra), (eb, rb)) if ra.leading else ((eb, rb), (ea, ra))
        )
        stop_thread = threading.Thread(target=leader.stop)
        started = time.monotonic()
        stop_thread.start()
        overlaps = 0
        while not srec.leading and time.monotonic() - started < 4.0:
            overlaps += lrec.leading and srec.leading
            time.sleep(0.01)
        took = time.monotonic() - started
        stop_thread.join(timeout=4.0)
        assert overlaps == 0
        assert srec.leading and took < leader.lease.duration
        assert not lrec.leading and [e for e, _ in lrec.events] == ["started", "stopped"]
        assert standby.lease.fencing_token == 2
    finally:
        ea.stop(timeout=2.0)
        eb.stop(timeout=2.0)


def test_elector_that_cannot_renew_stops_before_its_lease_expires(dynamodb: Any) -> None:
    el, rec = elector(dynamodb, "a")
    el.start()
    try:
        assert wait_for(lambda: rec.leading, timeout=2.0)
        deleted_at = time.time()
        dynamodb.delete_table(TableName=TABLE)
        assert wait_for(lambda: not rec.leading, timeout=2.0)
        stopped_at = rec.events[-1][1]
        # The last successful renewal was before the delete, so the stored expiry is at most
        # deleted_at + duration; we stopped before it, by about the margin.
        assert stopped_at < deleted_at + el.lease.duration - el.lease.margin + 0.05
        assert [e for e, _ in rec.events] == ["started", "stopped"]
    finally:
        el.stop(timeout=2.0)


def test_stop_before_leading_and_double_start(dynamodb: Any) -> None:
    el, rec = elector(dynamodb, "a")
    el.start()
    with pytest.raises(RuntimeError):
        el.start()
    el.stop(timeout=2.0)
    assert not rec.leading and not el.leading and not el.lease.is_leader()
    later = Lease(dynamodb, TABLE, holder="b", duration=0.5)
    assert later.try_acquire()  # the stopped elector released what it may have taken
