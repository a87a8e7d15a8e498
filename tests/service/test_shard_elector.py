"""ShardElector against the sandbox's DynamoDB over loopback, with a fake clock: disjoint shards,
takeover after a replica dies, a newcomer takes only its share, and a busy shard is handed over
only once its reconcile ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from controller.aws.clients import AwsOptions, Clients
from controller.sandbox import Sandbox
from controller.service.lease import Lease
from controller.service.ports import ShardHooks
from controller.service.sharding.assignment import assign, share
from controller.service.sharding.elector import ShardElector
from tests.service.test_lease import FakeClock

TABLE = "gitops-shards"
SHARDS = frozenset(f"target-{i}" for i in range(6))


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One sandbox for the module: each test uses a lease name of its own."""
    options = AwsOptions(region="us-east-1", calls_per_second=10_000, max_attempts=1)
    with Sandbox(transition_seconds=0.0) as sandbox, pytest.MonkeyPatch.context() as patch:
        for var in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            patch.delenv(var, raising=False)
        for var, value in sandbox.env().items():
            patch.setenv(var, value)
        client = Clients(options).client("dynamodb")
        Lease(client, TABLE).ensure_table(timeout=10, poll=0.05)
        yield client


class Replica:
    """One elector with recording hooks; `busy` names shards with a reconcile in flight."""

    def __init__(self, dynamodb: Any, clock: FakeClock, name: str, lease: str) -> None:
        self.busy: set[str] = set()
        self.changes: list[tuple[frozenset[str], frozenset[str]]] = []
        hooks = ShardHooks(
            universe=lambda: SHARDS,
            busy=lambda shard: shard in self.busy,
            changed=lambda held, acquired: self.changes.append((held, acquired)),
        )
        self.elector = ShardElector(
            dynamodb, TABLE, hooks, name=lease, replica=name, duration=9.0, clock=clock
        )

    def owned(self) -> frozenset[str]:
        return frozenset(s for s in SHARDS if self.elector.owns(s))


def passes(replicas: list[Replica], rounds: int = 2) -> None:
    """Each replica runs a pass in turn: the second round sees what the first wrote."""
    for _ in range(rounds):
        for replica in replicas:
            replica.elector.run_pass()


def test_three_replicas_hold_disjoint_shards_covering_all(dynamodb: Any) -> None:
    clock = FakeClock()
    replicas = [Replica(dynamodb, clock, f"r{i}", "disjoint") for i in range(3)]
    passes(replicas)
    owned = [r.owned() for r in replicas]
    expected = assign(SHARDS, ["r0", "r1", "r2"])
    assert owned == [share(expected, f"r{i}") for i in range(3)]
    assert frozenset().union(*owned) == SHARDS and sum(map(len, owned)) == len(SHARDS)
    view = replicas[0].elector.view()
    assert view["members"] == ["r0", "r1", "r2"]
    assert view["holders"] == {} or set(view["holders"]) <= SHARDS  # as of its last read


def test_a_dead_replicas_shards_move_after_its_leases_expire_and_not_before(
    dynamodb: Any,
) -> None:
    clock = FakeClock()
    a, b, c = (Replica(dynamodb, clock, f"r{i}", "takeover") for i in range(3))
    passes([a, b, c])
    dead = c.owned()
    assert dead  # with these names c holds something; the assertions below need it
    clock.advance(3)  # c stops passing (SIGKILL): no heartbeat, no renewal, no release
    passes([a, b])
    assert not (a.owned() | b.owned()) & dead  # c's leases are still valid: nobody takes them
    clock.advance(6.5)  # past c's last expiry (9 s after its last pass)
    passes([a, b])
    assert a.owned() | b.owned() == SHARDS and not a.owned() & b.owned()
    assert any(acquired & dead for _, acquired in a.changes + b.changes)


def test_a_newcomer_takes_only_its_share_and_waits_for_a_busy_shard(dynamodb: Any) -> None:
    clock = FakeClock()
    a, b = (Replica(dynamodb, clock, f"r{i}", "scale-up") for i in range(2))
    passes([a, b])
    before = {"r0": a.owned(), "r1": b.owned()}
    c = Replica(dynamodb, clock, "r2", "scale-up")
    holders = {s: "r0" for s in before["r0"]} | {s: "r1" for s in before["r1"]}
    its_share = share(assign(SHARDS, ["r0", "r1", "r2"], holders), "r2")
    assert its_share
    busy_one = sorted(its_share)[0]
    holder = a if busy_one in before["r0"] else b
    holder.busy.add(busy_one)  # a reconcile of that shard is in flight on its old holder
    c.elector.run_pass()  # heartbeat: the others see three members on their next pass
    passes([a, b, c])
    assert not holder.elector.owns(busy_one)  # no new reconcile starts there...
    assert busy_one not in c.owned()  # ...and the newcomer waits: the lease is still held
    assert c.owned() == its_share - {busy_one}
    holder.busy.clear()
    passes([a, b, c])
    assert c.owned() == its_share
    assert a.owned() == before["r0"] - its_share and b.owned() == before["r1"] - its_share


def test_a_clean_stop_hands_shards_over_at_once(dynamodb: Any) -> None:
    clock = FakeClock()
    a, b = (Replica(dynamodb, clock, f"r{i}", "clean-stop") for i in range(2))
    passes([a, b])
    b.elector.stop(timeout=1)
    assert not b.owned() and b.changes[-1] == (frozenset(), frozenset())
    passes([a], rounds=1)  # no waiting for expiry: b left the roster and released its leases
    assert a.owned() == SHARDS
