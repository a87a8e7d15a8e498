"""Shard assignment: one owner per shard, balanced loads, and membership changes move little."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controller.service.sharding.assignment import assign, share

names = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=12)
shard_sets = st.sets(names, min_size=1, max_size=40)
member_sets = st.sets(names, min_size=1, max_size=8)


def loads(assignment: dict[str, str], members: set[str]) -> list[int]:
    return [len(share(assignment, m)) for m in members]


@given(shard_sets, member_sets)
def test_every_shard_goes_to_one_live_member_whatever_the_order(
    shards: set[str], members: set[str]
) -> None:
    forward = assign(sorted(shards), sorted(members))
    backward = assign(sorted(shards, reverse=True), sorted(members, reverse=True))
    assert forward == backward  # every replica computes the same answer
    assert set(forward) == shards and set(forward.values()) <= members
    counts = loads(forward, members)
    assert max(counts) - min(counts) <= 1


@given(shard_sets, member_sets, names)
def test_a_newcomer_receives_only_the_excess_of_the_others(
    shards: set[str], members: set[str], newcomer: str
) -> None:
    members -= {newcomer}
    if not members:
        return
    before = assign(shards, members)
    after = assign(shards, members | {newcomer}, holders=before)
    moved = {s for s in shards if before[s] != after[s]}
    assert all(after[s] == newcomer for s in moved)  # nothing moves between the old members
    counts = loads(after, members | {newcomer})
    assert max(counts) - min(counts) <= 1  # still balanced, so the newcomer took its share
    assert assign(shards, members | {newcomer}, holders=after) == after  # and it stays


@given(shard_sets, st.sets(names, min_size=2, max_size=8))
def test_a_dead_members_shards_spread_and_nothing_else_moves(
    shards: set[str], members: set[str]
) -> None:
    dead = sorted(members)[0]
    before = assign(shards, members)
    holders = {s: m for s, m in before.items() if m != dead}
    after = assign(shards, members - {dead}, holders=holders)
    assert {s for s in shards if before[s] != after[s]} == share(before, dead)


def test_no_members_means_no_owner() -> None:
    assert assign(["prod"], []) == {}


def test_ten_targets_over_three_replicas_are_four_three_three() -> None:
    shards = [f"target-{i}" for i in range(10)]
    members = {"r1", "r2", "r3"}
    assert sorted(loads(assign(shards, members), members)) == [3, 3, 4]


def test_holders_that_are_not_members_are_ignored() -> None:
    fresh = assign(["a", "b"], ["r1"])
    assert assign(["a", "b"], ["r1"], holders={"a": "dead", "b": "dead"}) == fresh
