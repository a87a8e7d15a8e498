"""Run one function over endpoint keys with a worker pool per location (region or target).

SageMaker throttles per account and region, and each target has its own rate limit: with one
shared pool, a throttled or slow target could hold every worker while the others' endpoints
wait. A pool per location gives each target its own `concurrency` workers, so a slow account
only slows itself. Without targets (one region) this is exactly one pool, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import TypeVar

from controller.core.snapshots import split_key

T = TypeVar("T")


def map_by_location(fn: Callable[[str], T], keys: Sequence[str], concurrency: int) -> list[T]:
    """`[fn(k) for k in keys]`, run concurrently with a pool per location; results in order."""
    locations = sorted({split_key(key)[0] for key in keys})
    with ExitStack() as stack:
        pools = {
            location: stack.enter_context(
                ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=location)
            )
            for location in locations
        }
        futures: list[Future[T]] = [pools[split_key(key)[0]].submit(fn, key) for key in keys]
        return [future.result() for future in futures]
