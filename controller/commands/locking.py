"""`apply --lease-table`: one apply per scope at a time, as Terraform locks its state.

The lock is the service's DynamoDB lease (controller/service/lease.py) under the name
`apply/<scope>`: taken before anything is read, renewed in the background while the apply runs,
released at exit (and left to expire if the process dies). A second apply of the same scope fails
at once with the holder's name instead of fighting over the same endpoints.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from controller.errors import ControllerError
from controller.service.lease import Lease, LeaseError

log = structlog.get_logger(__name__)


class LockHeld(ControllerError):
    """Another process holds the scope's lock."""


@contextmanager
def scope_lock(dynamodb: Any, table: str, scope: str, duration: float) -> Iterator[Lease]:
    """Hold the scope's lock for the body; raise LockHeld when another process holds it."""
    lease = Lease(dynamodb, table, name=f"apply/{scope}", duration=duration)
    try:
        lease.ensure_table()
        acquired = lease.try_acquire()
    except LeaseError as e:
        raise ControllerError(f"--lease-table {table}: cannot take the lock: {e}") from e
    if not acquired:
        holder = _holder(dynamodb, table, lease.name)
        raise LockHeld(
            f"another apply holds the lock for scope {scope!r}"
            + (f" ({holder})" if holder else "")
            + f" in table {table}; it is released when that apply exits, or expires "
            f"{duration:g}s after it stopped renewing"
        )
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lease, stop), name="scope-lock", daemon=True)
    renewer.start()
    try:
        yield lease
    finally:
        stop.set()
        renewer.join(timeout=5.0)
        lease.release()


def _renew(lease: Lease, stop: threading.Event) -> None:
    while not stop.wait(lease.duration / 3):
        try:
            if not lease.renew():
                log.error("scope lock lost: another apply may now run", lock=lease.name)
                return
        except LeaseError as e:
            log.warning("scope lock renewal failed; retrying", lock=lease.name, error=str(e))


def _holder(dynamodb: Any, table: str, name: str) -> str | None:
    try:
        item = dynamodb.get_item(
            TableName=table, Key={"name": {"S": name}}, ConsistentRead=True
        ).get("Item", {})
    except Exception:  # the holder is a courtesy in the message; never fail over it
        return None
    holder = item.get("holder", {}).get("S")
    return f"held by {holder}" if holder else None
