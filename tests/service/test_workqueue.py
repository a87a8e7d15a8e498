"""The work queue: one reconcile per burst of adds, one worker per key, delayed requeue."""

from __future__ import annotations

import threading
import time

import pytest

from controller.service.workqueue import WorkerPool, WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def drain(queue: WorkQueue) -> list[str]:
    """Take and finish every key ready now, in order."""
    taken: list[str] = []
    for _ in range(1000):
        key = queue.get(timeout=0)
        if key is None:
            return taken
        taken.append(key)
        queue.done(key)
    raise AssertionError("queue never emptied")


def test_a_key_added_twice_is_processed_once() -> None:
    queue = WorkQueue()
    for key in ("a", "b", "a", "a", "b"):
        queue.add(key)
    assert len(queue) == 2
    assert drain(queue) == ["a", "b"]


def test_a_key_re_added_while_processing_runs_again_after_done() -> None:
    queue = WorkQueue()
    queue.add("a")
    assert queue.get(timeout=0) == "a"
    queue.add("a")
    queue.add("a")
    assert queue.get(timeout=0) is None, "never handed to a second worker while in progress"
    queue.done("a")
    assert queue.get(timeout=0) == "a"
    queue.done("a")
    assert queue.get(timeout=0) is None


def test_add_after_waits_for_the_clock() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add_after("a", 5.0)
    assert queue.get(timeout=0) is None
    assert queue.scheduled("a") == pytest.approx(5.0)
    clock.advance(4.9)
    assert queue.get(timeout=0) is None
    clock.advance(0.2)
    assert drain(queue) == ["a"]
    assert queue.scheduled("a") is None


def test_the_earliest_of_several_delays_wins_and_fires_once() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add_after("a", 10.0)
    queue.add_after("a", 2.0)
    queue.add_after("a", 7.0)
    clock.advance(2.0)
    assert drain(queue) == ["a"]
    clock.advance(20.0)
    assert drain(queue) == [], "superseded delays must not fire later"


def test_a_delayed_key_that_is_already_queued_is_not_duplicated() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add("a")
    queue.add_after("a", 1.0)
    clock.advance(1.0)
    assert drain(queue) == ["a"]


def test_non_positive_delay_adds_now() -> None:
    queue = WorkQueue()
    queue.add_after("a", 0)
    assert drain(queue) == ["a"]


def test_pending_counts_ready_and_delayed() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add("a")
    queue.add_after("b", 3.0)
    assert (len(queue), queue.pending()) == (1, 2)


def test_shutdown_stops_handing_out_work_and_waits_for_in_flight() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("b")
    assert queue.get(timeout=0) == "a"
    queue.shutdown()
    assert queue.get(timeout=0) is None
    queue.add("c")
    assert queue.pending() == 1, "adds after shutdown are dropped; b stays unprocessed"
    assert queue.wait_idle(0.05) is False
    queue.done("a")
    assert queue.wait_idle(0.05) is True


def test_blocking_get_wakes_on_add() -> None:
    queue = WorkQueue()
    got: list[str | None] = []
    thread = threading.Thread(target=lambda: got.append(queue.get(timeout=2.0)))
    thread.start()
    time.sleep(0.05)
    queue.add("a")
    thread.join(timeout=2.0)
    assert got == ["a"]


def test_blocking_get_wakes_when_a_delay_expires() -> None:
    queue = WorkQueue()
    queue.add_after("a", 0.1)
    started = time.monotonic()
    assert queue.get(timeout=2.0) == "a"
    assert 0.09 <= time.monotonic() - started < 1.0


def test_pool_runs_keys_concurrently_so_a_slow_one_blocks_nobody() -> None:
    queue = WorkQueue()
    release = threading.Event()
    fast_done = threading.Event()

    def handle(key: str) -> None:
        if key == "slow":
            release.wait(5.0)
        else:
            fast_done.set()

    pool = WorkerPool(queue, handle, concurrency=2)
    pool.start()
    try:
        queue.add("slow")
        time.sleep(0.05)
        queue.add("fast")
        assert fast_done.wait(2.0)
    finally:
        release.set()
        assert pool.stop(2.0)


def test_pool_survives_a_handler_exception() -> None:
    queue = WorkQueue()
    seen: list[str] = []
    done = threading.Event()

    def handle(key: str) -> None:
        seen.append(key)
        if key == "boom":
            raise RuntimeError("bug")
        done.set()

    pool = WorkerPool(queue, handle, concurrency=1)
    pool.start()
    queue.add("boom")
    queue.add("ok")
    assert done.wait(2.0)
    assert seen == ["boom", "ok"]
    assert pool.alive()
    assert pool.stop(1.0)


def test_pool_stop_is_bounded_when_work_hangs() -> None:
    queue = WorkQueue()
    hang = threading.Event()
    started = threading.Event()

    def handle(key: str) -> None:
        started.set()
        hang.wait(10.0)

    pool = WorkerPool(queue, handle, concurrency=1)
    pool.start()
    queue.add("stuck")
    assert started.wait(2.0)
    t0 = time.monotonic()
    assert pool.stop(0.2) is False
    assert time.monotonic() - t0 < 1.0
    hang.set()


def test_pool_rejects_zero_concurrency() -> None:
    with pytest.raises(ValueError):
        WorkerPool(WorkQueue(), lambda key: None, concurrency=0)


def test_cancel_drops_a_pending_delay() -> None:
    clock = FakeClock()
    queue = WorkQueue(clock)
    queue.add_after("a", 5.0)
    queue.cancel("a")
    queue.cancel("never-added")
    assert queue.scheduled("a") is None
    clock.advance(10.0)
    assert drain(queue) == []
    queue.add_after("a", 1.0)  # a later delay still works after a cancel
    clock.advance(1.0)
    assert drain(queue) == ["a"]


def test_urgent_keys_go_ahead_of_a_queued_resync() -> None:
    queue = WorkQueue()
    for key in ("r1", "r2", "r3"):
        queue.add(key)
    queue.add("edit", urgent=True)
    assert drain(queue) == ["edit", "r1", "r2", "r3"]


def test_an_urgent_add_promotes_a_key_already_queued_once() -> None:
    queue = WorkQueue()
    for key in ("r1", "r2", "r3"):
        queue.add(key)
    queue.add("r3", urgent=True)
    queue.add("r3", urgent=True)
    assert len(queue) == 3
    assert drain(queue) == ["r3", "r1", "r2"]


def test_a_key_made_urgent_while_in_progress_comes_back_first() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("r1")
    assert queue.get(timeout=0) == "a"
    queue.add("a", urgent=True)
    queue.done("a")
    assert drain(queue) == ["a", "r1"]
    queue.add("a")
    queue.add("r2")
    assert drain(queue) == ["a", "r2"], "urgency lasts one processing, not forever"


def test_urgent_only_get_takes_no_resync_key() -> None:
    queue = WorkQueue()
    queue.add("r1")
    assert queue.get(timeout=0, urgent_only=True) is None
    queue.add("edit", urgent=True)
    assert queue.get(timeout=0, urgent_only=True) == "edit"
    assert queue.get(timeout=0, urgent_only=True) is None
    assert queue.get(timeout=0) == "r1"


def test_reserved_worker_runs_an_edit_while_every_worker_is_busy() -> None:
    queue = WorkQueue()
    release = threading.Event()
    busy = threading.Semaphore(0)
    edited = threading.Event()
    seen: list[str] = []

    def handle(key: str) -> None:
        seen.append(key)
        if key == "edit":
            edited.set()
            return
        busy.release()
        release.wait(5.0)

    pool = WorkerPool(queue, handle, concurrency=2, reserved=1)
    pool.start()
    try:
        for key in ("r1", "r2", "r3", "r4"):
            queue.add(key)
        assert busy.acquire(timeout=2.0) and busy.acquire(timeout=2.0)  # both general workers
        queue.add("edit", urgent=True)
        assert edited.wait(2.0)
        # The reserved worker took the edit and nothing else: r3 and r4 still wait their turn.
        assert sorted(seen) == ["edit", "r1", "r2"]
        assert len(queue) == 2
    finally:
        release.set()
        assert pool.stop(2.0)


def test_pool_rejects_negative_reserved() -> None:
    with pytest.raises(ValueError):
        WorkerPool(WorkQueue(), lambda key: None, concurrency=1, reserved=-1)


def test_a_pool_stopped_before_it_started_stops_cleanly() -> None:
    pool = WorkerPool(WorkQueue(), lambda key: None, concurrency=2)

    assert pool.stop(0.1) is True  # it used to join threads never started: RuntimeError
