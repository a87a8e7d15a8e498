"""The replicas that are alive and the shards each holds, read from the lease table.

Each replica keeps one item `<lease-name>/member/<replica>` fresh (`expires_at` a lease duration
ahead, rewritten every renewal interval) and deletes it on a clean stop. One Scan of the
`<lease-name>/` prefix reads the members and the shard leases together: a member whose item has
expired is dead (its shard leases expire at the same pace), and a shard whose lease has expired
is free. The table holds a handful of items per replica and per shard, so a Scan is a page or two.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from controller.service.lease import lease_error

MAX_PAGES = 20  # 1 MB per page: far beyond any table of members and shards


@dataclass(frozen=True)
class TableView:
    """What one Scan of the lease table said."""

    members: frozenset[str] = frozenset()
    holders: dict[str, str] = field(default_factory=dict)  # shard -> replica, live leases only


class Roster:
    """Membership items of one lease name in one table."""

    def __init__(
        self,
        dynamodb_client: Any,
        table: str,
        *,
        name: str,
        replica: str,
        duration: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = dynamodb_client
        self.table = table
        self.prefix = f"{name}/"
        self.replica = replica
        self.duration = duration
        self._clock = clock

    def member_item(self, replica: str) -> str:
        return f"{self.prefix}member/{replica}"

    def shard_item(self, shard: str) -> str:
        return f"{self.prefix}shard/{shard}"

    def heartbeat(self) -> None:
        """Say we are alive for one more lease duration."""
        now = self._clock()
        item = {
            "name": {"S": self.member_item(self.replica)},
            "holder": {"S": self.replica},
            "expires_at": {"N": f"{now + self.duration:.3f}"},
            "renewed_at": {"N": f"{now:.3f}"},
        }
        with _translated("PutItem"):
            self.client.put_item(TableName=self.table, Item=item)

    def leave(self) -> None:
        """Say we are gone, so the others take our shards now rather than after expiry."""
        key = {"name": {"S": self.member_item(self.replica)}}
        with _translated("DeleteItem"):
            self.client.delete_item(TableName=self.table, Key=key)

    def read(self) -> TableView:
        """The live members and the holder of every live shard lease."""
        now = self._clock()
        members: set[str] = set()
        holders: dict[str, str] = {}
        start: dict[str, Any] | None = None
        for _ in range(MAX_PAGES):
            with _translated("Scan"):
                page = self.client.scan(
                    TableName=self.table,
                    ConsistentRead=True,
                    FilterExpression="begins_with(#n, :prefix)",
                    ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":prefix": {"S": self.prefix}},
                    **({"ExclusiveStartKey": start} if start else {}),
                )
            for item in page.get("Items", []):
                self._take(item, now, members, holders)
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return TableView(frozenset(members), holders)

    def _take(
        self, item: dict[str, Any], now: float, members: set[str], holders: dict[str, str]
    ) -> None:
        name = item["name"]["S"].removeprefix(self.prefix)
        holder = item.get("holder", {}).get("S")
        expires = float(item.get("expires_at", {}).get("N", "0"))
        if holder is None or expires <= now:
            return  # expired or released
        kind, _, rest = name.partition("/")
        if kind == "member":
            members.add(rest)
        elif kind == "shard":
            holders[rest] = holder


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """botocore's errors as the lease's typed LeaseError: the elector logs it and goes on."""
    try:
        yield
    except (ClientError, BotoCoreError) as e:
        raise lease_error(e, operation) from e
