"""A work queue and a worker pool per location (region or deployment target) for `run`.

SageMaker throttles per account and region, and each target has its own rate limit. With one
queue and one pool for every endpoint, a throttled target's keys hold every worker (each waits
out its rate limit and retry backoffs) while another target's edits wait in the queue behind
them. Here each location gets its own `WorkQueue` (urgent lane, dedup, delayed adds, as before)
and its own `WorkerPool` of `concurrency` workers plus the reserved urgent one, made when the
location's first key arrives: a slow account only slows itself. Keys without a location (the
tests' fakes) share one queue, which is exactly the single queue of before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from controller.core.snapshots import split_key
from controller.service.workqueue import Clock, QueueObserver, WorkerPool, WorkQueue

# How often `LocationQueues.get` looks again while a caller waits for a key (tests only: the
# workers block on their own location's queue).
GET_POLL = 0.01


def queue_of(key: str) -> str:
    """The queue of an endpoint key: its location (region or target); '' for a key that names
    none (the service's tests use bare keys)."""
    location, name = split_key(key)
    return location if name else ""


class LocationQueues:
    """`WorkQueue`'s interface over one queue per location; listeners hear of each new one."""

    def __init__(
        self, clock: Clock = time.monotonic, observer: QueueObserver | None = None
    ) -> None:
        self._clock = clock
        self._observer = observer
        self._queues: dict[str, WorkQueue] = {}
        self._listeners: list[Callable[[str, WorkQueue], None]] = []
        self._shutting_down = False
        self._lock = threading.Lock()

    def subscribe(self, listener: Callable[[str, WorkQueue], None]) -> None:
        """Call `listener(location, queue)` for every queue, those made so far included."""
        with self._lock:
            self._listeners.append(listener)
            known = list(self._queues.items())
        for location, queue in known:
            listener(location, queue)

    def add(self, key: str, *, urgent: bool = False) -> None:
        self._queue(key).add(key, urgent=urgent)

    def add_after(self, key: str, delay: float) -> None:
        self._queue(key).add_after(key, delay)

    def done(self, key: str) -> None:
        queue = self._existing(key)
        if queue is not None:
            queue.done(key)

    def cancel(self, key: str) -> None:
        queue = self._existing(key)
        if queue is not None:
            queue.cancel(key)

    def scheduled(self, key: str) -> float | None:
        queue = self._existing(key)
        return queue.scheduled(key) if queue is not None else None

    def get(self, timeout: float = 0.0, *, urgent_only: bool = False) -> str | None:
        """The next key of any location, urgent keys first (locations in name order); None when
        none is ready within `timeout` seconds. For driving the queue without workers (tests):
        each pool's workers take keys from their own location's queue."""
        deadline = time.monotonic() + timeout
        while True:
            queues = self._all()
            for lane_urgent in (True, False) if not urgent_only else (True,):
                for queue in queues:
                    key = queue.get(timeout=0, urgent_only=lane_urgent)
                    if key is not None:
                        return key
            if self.shutting_down or time.monotonic() >= deadline:
                return None
            time.sleep(GET_POLL)

    def __len__(self) -> int:
        """Keys ready to be processed now, every location's (the queue-depth metric)."""
        return sum(len(queue) for queue in self._all())

    def pending(self) -> int:
        return sum(queue.pending() for queue in self._all())

    def in_progress(self) -> set[str]:
        return set().union(*(queue.in_progress() for queue in self._all()))

    def shutdown(self) -> None:
        with self._lock:
            self._shutting_down = True
        for queue in self._all():
            queue.shutdown()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no key of any location is in progress; False if some still are after
        `timeout` seconds."""
        deadline = time.monotonic() + timeout
        return all(queue.wait_idle(max(0.0, deadline - time.monotonic())) for queue in self._all())

    @property
    def shutting_down(self) -> bool:
        with self._lock:
            return self._shutting_down

    def _queue(self, key: str) -> WorkQueue:
        location = queue_of(key)
        with self._lock:
            queue = self._queues.get(location)
            if queue is not None:
                return queue
            queue = WorkQueue(self._clock, observer=self._observer)
            if self._shutting_down:
                queue.shutdown()
            self._queues[location] = queue
            listeners = list(self._listeners)
        for listener in listeners:
            listener(location, queue)
        return queue

    def _existing(self, key: str) -> WorkQueue | None:
        with self._lock:
            return self._queues.get(queue_of(key))

    def _all(self) -> list[WorkQueue]:
        with self._lock:
            return [self._queues[location] for location in sorted(self._queues)]


class LocationPools:
    """A `WorkerPool` per queue of `queues`, started with the others (or at once, when its
    location's first key arrives after `start`)."""

    def __init__(
        self,
        queues: LocationQueues,
        handle: Callable[[str], object],
        concurrency: int = 8,
        reserved: int = 0,
    ) -> None:
        if concurrency < 1 or reserved < 0:
            raise ValueError("concurrency must be at least 1 and reserved at least 0")
        self._queues = queues
        self._handle = handle
        self._concurrency, self._reserved = concurrency, reserved
        self._pools: dict[str, WorkerPool] = {}
        self._started = self._stopping = False
        self._lock = threading.Lock()
        queues.subscribe(self._added)

    def _added(self, location: str, queue: WorkQueue) -> None:
        pool = WorkerPool(queue, self._handle, self._concurrency, self._reserved)
        # Registered and started under one lock: `stop` must never see a pool half started (it
        # joined a thread not started yet when a location appeared during a shutdown).
        with self._lock:
            self._pools[location] = pool
            if self._started and not self._stopping:
                pool.start()

    def start(self) -> None:
        with self._lock:
            self._started = True
            for pool in self._pools.values():
                pool.start()

    def alive(self) -> bool:
        with self._lock:
            pools = list(self._pools.values())
        return all(pool.alive() for pool in pools)

    def stop(self, timeout: float) -> bool:
        """Stop taking work and wait up to `timeout` s for in-flight keys; True if all finished."""
        self._queues.shutdown()
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stopping = True
            pools = list(self._pools.values())
        finished = [pool.stop(max(0.0, deadline - time.monotonic())) for pool in pools]
        return all(finished)
