"""Which live replica should hold a shard: sticky rendezvous hashing with bounded loads.

Every replica computes the same answer from the same inputs with no coordination: the known
shards, the live members, and who holds each shard now (all read from the lease table in one
Scan). The rules, in order:
1. The split is balanced: every member holds `shards // members` or one more (ten targets over
   three replicas are 4/3/3; pure hashing gave six shards over three replicas 3/3/0 in a test:
   with so few shards its spread is luck).
2. A live holder keeps its shards up to that cap (those it scores highest on): a scale-up or a
   restart elsewhere moves nothing that need not move.
3. Every other shard (new, released, its holder dead, or over its holder's cap) goes to the
   member with the highest hash of (shard, member) that still has room.
So a newcomer receives exactly the excess of the members now over the cap, a dead member's
shards spread over the survivors, and no shard moves between two members that stay. The leases,
not this function, keep two replicas from acting on a shard at once: replicas that briefly
disagree (one read the table a moment earlier) only race for a lease one of them wins.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def score(shard: str, member: str) -> int:
    """A stable pseudo-random weight for (shard, member); the same on every host and release."""
    digest = hashlib.blake2b(f"{shard}\0{member}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(
    shards: Iterable[str], members: Iterable[str], holders: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Shard -> member for every shard; empty when there are no members.

    `holders`: shard -> the replica holding its lease now; holders that are not live members
    are ignored.
    """
    live = sorted(set(members))
    pending = sorted(set(shards))
    if not live:
        return {}
    loads = _Loads(live, len(pending))
    result: dict[str, str] = {}
    kept: dict[str, list[str]] = {m: [] for m in live}
    wanted = set(pending)
    for shard, holder in (holders or {}).items():
        if holder in kept and shard in wanted:
            kept[holder].append(shard)
    # The members holding most keep first, so a member over the cap is the one that gives.
    for member in sorted(live, key=lambda m: (-len(kept[m]), m)):
        for shard in sorted(kept[member], key=lambda s: (score(s, member), s), reverse=True):
            if loads.room(member):
                result[shard] = loads.take(member)
    for shard in pending:
        if shard not in result:
            ranked = sorted(live, key=lambda m: (score(shard, m), m), reverse=True)
            result[shard] = loads.take(next(m for m in ranked if loads.room(m)))
    return result


class _Loads:
    """Shards per member, within the balanced split: S // M each, and S % M members one more."""

    def __init__(self, members: list[str], shards: int) -> None:
        self.floor, self.extra = divmod(shards, len(members))
        self.load = dict.fromkeys(members, 0)
        self.over = 0  # members already at floor + 1

    def room(self, member: str) -> bool:
        n = self.load[member]
        return n < self.floor or (n == self.floor and self.over < self.extra)

    def take(self, member: str) -> str:
        if self.load[member] == self.floor:
            self.over += 1
        self.load[member] += 1
        return member


def share(assignment: Mapping[str, str], member: str) -> frozenset[str]:
    """The shards `assignment` gives `member`."""
    return frozenset(s for s, m in assignment.items() if m == member)
