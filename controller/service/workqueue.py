"""A per-key, deduplicating, delaying work queue and the worker pool that drains it.

Modelled on client-go's workqueue: a key added while it is already queued is processed once; a key
added while a worker holds it is queued again only after that worker calls `done`, so one endpoint
is never reconciled by two workers at once and a burst of triggers costs one reconcile. Delayed
adds (`add_after`) carry an endpoint that is Creating/Updating or backing off, so workers are never
parked on one endpoint while others starve. Urgent adds (a manifest edit, a new git revision) go
ahead of everything queued, so an edit never waits behind a periodic resync of the fleet. The
runner is the only user.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

Clock = Callable[[], float]


class QueueObserver(Protocol):
    """client-go's workqueue metrics hooks (`service.metrics.Metrics` implements them)."""

    def queue_added(self, delayed: bool) -> None: ...
    def queue_started(self, waited: float) -> None: ...
    def queue_finished(self, worked: float) -> None: ...


class WorkQueue:
    """Thread-safe queue of string keys; `clock` is injectable so tests can move time."""

    def __init__(
        self, clock: Clock = time.monotonic, observer: QueueObserver | None = None
    ) -> None:
        self._clock = clock
        self._observer = observer
        self._since: dict[str, float] = {}  # key -> when it was queued, then when it was taken
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._urgent: deque[str] = deque()  # served before `_queue`
        self._urgent_keys: set[str] = set()  # queued or to be re-queued urgently
        self._dirty: set[str] = set()  # queued or to be re-queued when done
        self._processing: set[str] = set()
        self._waiting: dict[str, float] = {}  # key -> earliest due time of a delayed add
        self._heap: list[tuple[float, int, str]] = []  # may hold stale entries; _waiting rules
        self._seq = itertools.count()
        self._shutting_down = False

    def add(self, key: str, *, urgent: bool = False) -> None:
        """Queue `key` now unless it is already queued; a key in progress is re-queued on done.

        An urgent add goes ahead of every non-urgent key, and promotes a key already queued.
        """
        with self._cond:
            if urgent:
                self._promote_urgent_locked(key)
            self._add_locked(key)

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` after `delay` seconds; of several pending delays the earliest wins."""
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutting_down:
                return
            due = self._clock() + delay
            if self._observer is not None:
                self._observer.queue_added(delayed=True)
            if key in self._waiting and self._waiting[key] <= due:
                return
            self._waiting[key] = due
            heapq.heappush(self._heap, (due, next(self._seq), key))
            self._cond.notify()

    def get(self, timeout: float | None = None, *, urgent_only: bool = False) -> str | None:
        """The next key to process, marked in progress; None on timeout or after shutdown.

        `timeout=0` never blocks, which is how tests drive the queue with a fake clock.
        `urgent_only` takes keys from the urgent lane alone (the worker kept for edits).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._promote_locked()
                if self._shutting_down:
                    return None
                lane = self._urgent if urgent_only else (self._urgent or self._queue)
                if lane:
                    key = lane.popleft()
                    self._observe_start(key)
                    self._processing.add(key)
                    self._dirty.discard(key)
                    self._urgent_keys.discard(key)
                    return key
                wait = self._wait_time_locked(deadline)
                if wait is not None and wait <= 0:
                    return None
                self._cond.wait(wait)

    def done(self, key: str) -> None:
        """Mark `key` finished; if it was added meanwhile, queue it again."""
        with self._cond:
            self._processing.discard(key)
            taken = self._since.pop(key, None)
            if self._observer is not None and taken is not None:
                self._observer.queue_finished(self._clock() - taken)
            if key in self._dirty and not self._shutting_down:
                self._since[key] = self._clock()
                self._lane(key).append(key)
            self._cond.notify_all()

    def cancel(self, key: str) -> None:
        """Drop a pending delayed add of `key` (the key needs no further look); no-op if none."""
        with self._cond:
            self._waiting.pop(key, None)  # its heap entry goes stale and is skipped

    def scheduled(self, key: str) -> float | None:
        """Seconds until the pending delayed add of `key`, or None if there is none."""
        with self._cond:
            due = self._waiting.get(key)
            return None if due is None else max(0.0, due - self._clock())

    def __len__(self) -> int:
        """Keys ready to be processed now (the queue-depth metric)."""
        with self._cond:
            self._promote_locked()
            return len(self._urgent) + len(self._queue)

    def pending(self) -> int:
        """Keys ready now plus keys waiting for a delay."""
        with self._cond:
            self._promote_locked()
            return len(self._urgent) + len(self._queue) + len(self._waiting)

    def shutdown(self) -> None:
        """Stop handing out work; keys in progress may still finish and call `done`."""
        with self._cond:
            self._shutting_down = True
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no key is in progress; False if some still are after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._processing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def in_progress(self) -> set[str]:
        with self._cond:
            return set(self._processing)

    def _observe_start(self, key: str) -> None:
        now = self._clock()
        if self._observer is not None and key in self._since:
            self._observer.queue_started(now - self._since[key])
        self._since[key] = now

    def _add_locked(self, key: str) -> None:
        if self._observer is not None and not self._shutting_down:
            self._observer.queue_added(delayed=False)
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._since[key] = self._clock()
            self._lane(key).append(key)
            self._cond.notify()

    def _lane(self, key: str) -> deque[str]:
        return self._urgent if key in self._urgent_keys else self._queue

    def _promote_urgent_locked(self, key: str) -> None:
        """Mark `key` urgent; if it already waits in the normal lane, move it ahead."""
        if key in self._urgent_keys or self._shutting_down:
            return
        self._urgent_keys.add(key)
        if key in self._dirty and key not in self._processing:
            self._queue.remove(key)  # O(n), only when an edit lands on a queued key
            self._urgent.append(key)
            self._cond.notify()

    def _promote_locked(self) -> None:
        """Move delayed keys whose time has come into the queue."""
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            due, _, key = heapq.heappop(self._heap)
            if self._waiting.get(key) == due:
                del self._waiting[key]
                self._add_locked(key)

    def _wait_time_locked(self, deadline: float | None) -> float | None:
        """How long to sleep: until the next delayed key, the caller's deadline, or forever."""
        waits = []
        if self._heap:
            # Re-check at least once a second: a fake clock may move without notifying us.
            waits.append(min(1.0, max(0.0, self._heap[0][0] - self._clock())))
        if deadline is not None:
            waits.append(deadline - time.monotonic())
        return min(waits) if waits else None


class WorkerPool:
    """`concurrency` threads that take keys from a queue and hand each to `handle`, plus
    `reserved` threads that take urgent keys only.

    The urgent lane puts an edit ahead of every queued resync key, but during a resync every
    general worker is busy with an endpoint whose calls take a while; a worker kept for urgent
    keys starts the edit at once instead of after one of those finishes.

    A handler exception is logged and the key released, so one broken endpoint never takes a
    worker down with it. Threads are daemons: a call stuck past the shutdown bound cannot keep
    the process alive.
    """

    def __init__(
        self,
        queue: WorkQueue,
        handle: Callable[[str], object],
        concurrency: int = 8,
        reserved: int = 0,
    ) -> None:
        if concurrency < 1 or reserved < 0:
            raise ValueError("concurrency must be at least 1 and reserved at least 0")
        self._queue = queue
        self._handle = handle
        self._threads = [
            threading.Thread(target=self._loop, args=(False,), name=f"worker-{i}", daemon=True)
            for i in range(concurrency)
        ] + [
            threading.Thread(target=self._loop, args=(True,), name=f"urgent-{i}", daemon=True)
            for i in range(reserved)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self._threads)

    def stop(self, timeout: float) -> bool:
        """Stop taking work and wait up to `timeout` s for in-flight keys; True if all finished."""
        self._queue.shutdown()
        finished = self._queue.wait_idle(timeout)
        deadline = time.monotonic() + 1.0
        for thread in self._threads:
            if thread.ident is None:  # never started: a pool stopped before its start
                continue
            thread.join(max(0.0, deadline - time.monotonic()) if finished else 0.0)
        return finished

    def _loop(self, urgent_only: bool) -> None:
        while True:
            key = self._queue.get(timeout=0.5, urgent_only=urgent_only)
            if key is None:
                if self._queue.shutting_down:
                    return
                continue
            try:
                self._handle(key)
            except Exception:
                log.exception("worker failed", endpoint=key)
            finally:
                self._queue.done(key)
