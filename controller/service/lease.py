"""Leader election through one DynamoDB item, so only one `run` replica changes SageMaker.

`run --lease-table NAME` builds a `Lease` on a client from `controller.aws.clients.Clients` and a
`LeaderElector` that renews it in the background and tells the runner when to start and stop.
The item (hash key `name`) holds `holder`, `expires_at` (epoch seconds), `token` and `renewed_at`.
Every write is conditional, so DynamoDB decides each race on the one item atomically:
acquire needs `attribute_not_exists(name) OR expires_at < :now OR holder = :me`; renew and release
need `holder = :me AND token = :token`.

Safety argument (why two replicas never act at once):
1. A replica computes `expires_at = now + duration` from its clock *before* sending the write, so
   the expiry it believes in is never later than the one stored.
2. The holder stops acting at `expires_at - margin` by its own clock (`is_leader()` turns False;
   the elector's watchdog thread calls `on_stopped_leading`). The watchdog does not wait for a
   renewal call that may hang in retries: losing contact with DynamoDB ends leadership on time.
3. Another replica takes the lease only once its own clock is past `expires_at`.
4. Assumption: any two replicas' clocks differ by less than `margin` (default duration/5, 3 s for
   the default 15 s; NTP keeps hosts within milliseconds) and a process is not frozen for longer
   than `margin` between checking `is_leader()` and acting. Then when a newcomer's clock passes
   `expires_at`, the old holder's clock is past `expires_at - margin` and it has already stopped.
What this cannot prevent: a process paused (GC, SIGSTOP, VM migration) after its check, whose
request reaches SageMaker late. SageMaker cannot check a fence, so the fencing `token` (incremented
on every new acquisition, never reset because the item is never deleted) goes into logs and
metrics to make any overlap visible; the runner should check `is_leader()` right before each
mutating call. Every action is idempotent and derived from git, which bounds the harm of an overlap.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from controller.errors import AwsError

log = structlog.get_logger(__name__)

_NAMES = {"#n": "name", "#h": "holder", "#e": "expires_at", "#t": "token", "#r": "renewed_at"}
_ACQUIRE_IF = "attribute_not_exists(#n) OR #e < :now OR #h = :me"
_OURS_IF = "#h = :me AND #t = :token"


class LeaseError(AwsError):
    """A lease call failed for a reason other than losing the race (network, throttling, no table).

    We cannot tell who holds the lease then: a holder keeps leading only until its own deadline.
    """


@dataclass(frozen=True)
class _Held:
    """What we hold: replaced as a whole, so readers on other threads see a consistent pair."""

    token: int
    expires_at: float  # as written to DynamoDB, from our clock before the request


def default_holder() -> str:
    """A replica id unique across hosts, processes and restarts."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Lease:
    """One named lease in a DynamoDB table; thread-safe."""

    def __init__(
        self,
        dynamodb_client: Any,
        table: str,
        *,
        name: str = "sagemaker-gitops",
        holder: str | None = None,
        duration: float = 15.0,
        margin: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.margin = duration / 5 if margin is None else margin
        if duration <= 0 or not 0 <= self.margin < duration:
            raise ValueError("need duration > 0 and 0 <= margin < duration")
        self.client = dynamodb_client
        self.table = table
        self.name = name
        self.holder = holder or default_holder()
        self.duration = duration
        self._clock = clock
        self._held: _Held | None = None
        self._lock = threading.Lock()  # one DynamoDB write at a time, so state follows the table

    def ensure_table(self, *, timeout: float = 60.0, poll: float = 1.0) -> None:
        """Create the table if missing and wait (at most `timeout`) until it is ACTIVE."""
        status = self._table_status()
        if status is None:
            try:
                self.client.create_table(
                    TableName=self.table,
                    BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
                )
            except ClientError as e:
                if _code(e) != "ResourceInUseException":  # another replica created it first
                    raise lease_error(e, "CreateTable") from e
            except BotoCoreError as e:
                raise lease_error(e, "CreateTable") from e
        deadline = time.monotonic() + timeout
        while (status := self._table_status()) != "ACTIVE":
            if time.monotonic() >= deadline:
                raise LeaseError(
                    f"lease table {self.table} not ACTIVE after {timeout:g}s: {status}"
                )
            time.sleep(poll)

    def try_acquire(self) -> bool:
        """Renew the lease if we hold it, else take it if it is free or expired."""
        with self._lock:
            if self._held is not None and self._renew_locked():
                return True
            return self._acquire_locked()

    def renew(self) -> bool:
        """Extend our lease; False if we do not hold it (anymore). LeaseError if we cannot tell."""
        with self._lock:
            return self._renew_locked()

    def release(self) -> None:
        """Give the lease up at once (clean shutdown), so a standby need not wait for expiry.

        Best effort: we stop leading first, whatever happens; if the write fails the lease simply
        expires on its own.
        """
        with self._lock:
            held, self._held = self._held, None
            if held is None:
                return
            try:
                self._update(
                    "SET #e = :zero REMOVE #h", _OURS_IF, {":zero": {"N": "0"}, **self._ours(held)}
                )
            except ClientError as e:
                if _code(e) != "ConditionalCheckFailedException":
                    log.warning("lease.release_failed", table=self.table, error=str(e))
            except BotoCoreError as e:
                log.warning("lease.release_failed", table=self.table, error=str(e))

    @property
    def fencing_token(self) -> int | None:
        """The counter of the acquisition we hold; None when not leader."""
        held = self._held
        return held.token if held is not None and self._valid(held) else None

    def is_leader(self) -> bool:
        """Held and not within `margin` of expiry by our own clock."""
        held = self._held
        return held is not None and self._valid(held)

    def remaining(self) -> float | None:
        """Seconds until we must stop leading (may be <= 0); None when we hold nothing."""
        held = self._held
        return None if held is None else held.expires_at - self.margin - self._clock()

    def _valid(self, held: _Held) -> bool:
        return self._clock() < held.expires_at - self.margin

    def _acquire_locked(self) -> bool:
        now = self._clock()
        expires = _ms(now + self.duration)
        values = {":me": {"S": self.holder}, ":now": _num(now), ":exp": _num(expires)}
        values[":one"] = {"N": "1"}
        try:
            item = self._update(
                "SET #h = :me, #e = :exp, #r = :now ADD #t :one", _ACQUIRE_IF, values
            )
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                return False  # someone else holds it and it has not expired
            raise lease_error(e, "UpdateItem") from e
        except BotoCoreError as e:
            raise lease_error(e, "UpdateItem") from e
        self._held = _Held(int(item["token"]["N"]), expires)
        log.info("lease.acquired", table=self.table, holder=self.holder, token=self._held.token)
        return True

    def _renew_locked(self) -> bool:
        held = self._held
        if held is None:
            return False
        now = self._clock()
        expires = _ms(now + self.duration)
        values = {":now": _num(now), ":exp": _num(expires), **self._ours(held)}
        try:
            self._update("SET #e = :exp, #r = :now", _OURS_IF, values)
        except ClientError as e:
            if _code(e) == "ConditionalCheckFailedException":
                self._held = None  # someone took it after it expired (or the item is gone)
                log.warning("lease.lost", table=self.table, holder=self.holder, token=held.token)
                return False
            raise lease_error(e, "UpdateItem") from e  # keep _held: leading until its deadline
        except BotoCoreError as e:
            raise lease_error(e, "UpdateItem") from e
        self._held = _Held(held.token, expires)
        return True

    def _ours(self, held: _Held) -> dict[str, Any]:
        return {":me": {"S": self.holder}, ":token": {"N": str(held.token)}}

    def _update(self, expression: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        """One conditional UpdateItem on our item; returns the item as written."""
        names = {k: v for k, v in _NAMES.items() if k in expression or k in condition}
        response = self.client.update_item(
            TableName=self.table,
            Key={"name": {"S": self.name}},
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        attributes: dict[str, Any] = response.get("Attributes", {})
        return attributes

    def _table_status(self) -> str | None:
        try:
            table = self.client.describe_table(TableName=self.table)["Table"]
        except ClientError as e:
            if _code(e) == "ResourceNotFoundException":
                return None
            raise lease_error(e, "DescribeTable") from e
        except BotoCoreError as e:
            raise lease_error(e, "DescribeTable") from e
        return str(table["TableStatus"])


class LeaderElector:
    """Keeps trying to acquire and renew a Lease on a background thread; reports transitions.

    `on_started_leading` and `on_stopped_leading` run on the elector's threads, strictly
    alternating, and must return quickly (set a flag, signal a queue): the stop callback is what
    keeps us within the lease, and it must not wait for work in progress to finish.
    """

    def __init__(
        self,
        lease: Lease,
        *,
        renew_every: float | None = None,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
    ) -> None:
        self.lease = lease
        self.renew_every = renew_every if renew_every is not None else lease.duration / 3
        if not 0 < self.renew_every < lease.duration - lease.margin:
            raise ValueError("renew_every must be positive and shorter than duration - margin")
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._cond = threading.Condition()  # guards _leading and wakes the watchdog
        self._stopping = threading.Event()
        self._leading = False
        self._threads: list[threading.Thread] = []

    @property
    def leading(self) -> bool:
        """Whether we last told the runner to lead."""
        return self._leading

    def start(self) -> None:
        """Start the renewal loop and the expiry watchdog (daemon threads)."""
        if self._threads:
            raise RuntimeError("LeaderElector already started")
        self._threads = [
            threading.Thread(target=self._loop, name="lease-renew", daemon=True),
            threading.Thread(target=self._watch, name="lease-watchdog", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop leading (callback first), end the threads, then release the lease."""
        self._stopping.set()
        with self._cond:
            self._set_leading(False)
            self._cond.notify_all()
        for thread in self._threads:
            # A renewal stuck in botocore retries may outlive this; it releases when it returns.
            thread.join(timeout if timeout is not None else self.lease.duration)
        self.lease.release()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                ok = self.lease.try_acquire()
                wait = self.renew_every
            except LeaseError as e:
                log.warning("lease.renew_error", table=self.lease.table, error=str(e))
                ok, wait = self.lease.is_leader(), self.renew_every / 2
            if self._stopping.is_set():
                self.lease.release()  # stop() ran while we were acquiring
                return
            self._update(ok)
            self._stopping.wait(wait)

    def _watch(self) -> None:
        """End leadership at the local deadline, even while a renewal call hangs."""
        with self._cond:
            while not self._stopping.is_set():
                if self._leading and not self.lease.is_leader():
                    log.warning("lease.expired_locally", table=self.lease.table)
                    self._set_leading(False)
                left = self.lease.remaining() if self._leading else None
                self._cond.wait(None if left is None else max(left, 0.001))

    def _update(self, ok: bool) -> None:
        with self._cond:
            want = ok and self.lease.is_leader() and not self._stopping.is_set()
            if want != self._leading:
                self._set_leading(want)
            self._cond.notify_all()  # the deadline moved: the watchdog recomputes its wait

    def _set_leading(self, value: bool) -> None:
        """Flip the state and tell the runner; call with _cond held."""
        if value == self._leading:
            return
        self._leading = value
        callback = self._on_started if value else self._on_stopped
        token = self.lease.fencing_token
        log.info(
            "lease.leading" if value else "lease.standby", holder=self.lease.holder, token=token
        )
        try:
            callback()
        except Exception:
            log.exception("lease.callback_failed", leading=value)


def _ms(value: float) -> float:
    """Round to the millisecond we store, so our deadline is exactly the one in the table."""
    return float(f"{value:.3f}")


def _num(value: float) -> dict[str, str]:
    return {"N": f"{value:.3f}"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def lease_error(error: Exception, operation: str) -> LeaseError:
    """A botocore error on the lease table as a LeaseError (also the shard roster's)."""
    code = _code(error) if isinstance(error, ClientError) else type(error).__name__
    return LeaseError(f"lease {operation} failed: {error}", operation=operation, code=code)
