"""What wakes the control loop: requests (reload, fetch, resync), the watcher's bursts, timers.

Kept apart from the Runner so that every trigger of `run` (a file watch, a webhook, a git poll, a
resync timer, leadership) goes through one condition variable with one bookkeeping of which
files changed: the loop takes a batch of requests, and a reload reads only the files the watcher
named since the last one (or walks the tree when any trigger could not name them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from controller.service.inputs.watching import Change


class Triggers:
    """The control loop's wake-up: pending requests, changed files and the two timers."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        resync_interval: float,
        poll_interval: float,
        polling: bool,
    ) -> None:
        self._clock = clock
        self._resync_interval = resync_interval
        self._poll_interval = poll_interval
        self._polling = polling  # a git source is polled; a watched directory is not
        self._wake = threading.Condition()
        self._requests: set[str] = set()
        # Directory mode: files the watcher saw change since the last load; None: walk the tree.
        self._changed: set[str] | None = None
        self._taken: frozenset[str] | None = None  # `_changed` as the current reload took it
        self.heartbeat = time.monotonic()
        self._next_resync = clock() + resync_interval
        self._next_poll = clock() + poll_interval

    @property
    def taken(self) -> frozenset[str] | None:
        """The files the batch being handled may have changed (None: any of them)."""
        return self._taken

    def request(self, what: str) -> None:
        with self._wake:
            if what == "reload":  # not the watcher's (a webhook, the first load): walk all
                self._changed = None
            self._requests.add(what)
            self._wake.notify_all()

    def watched(self, change: Change) -> None:
        """The watcher's burst: reload, reading only the files it names when it can name them."""
        with self._wake:
            if change.everything:
                self._changed = None
            elif self._changed is not None:
                self._changed |= change.paths
            self._requests.add("reload")
            self._wake.notify_all()

    def forget_changed(self) -> None:
        """The files named for a reload were not taken in (it failed): walk the tree next time."""
        with self._wake:
            self._changed = None

    def poll_in(self, delay: float) -> None:
        """Poll the git source next after `delay` seconds (after a fetch, or a failed one)."""
        self._next_poll = self._clock() + delay

    def poll_later(self) -> None:
        self.poll_in(self._poll_interval)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def next_batch(self, stopping: threading.Event) -> set[str]:
        """Block until a trigger or a timer is due; the loop beats at least once a second."""
        with self._wake:
            while not stopping.is_set():
                self.heartbeat = time.monotonic()
                self._requests |= self._due_timers()
                if self._requests:
                    break
                self._wake.wait(1.0)
            requests, self._requests = self._requests, set()
            if "reload" in requests:
                changed, self._changed = self._changed, set()
                self._taken = None if changed is None else frozenset(changed)
            return requests

    def _due_timers(self) -> set[str]:
        now, due = self._clock(), set()
        if now >= self._next_resync:
            self._next_resync = now + self._resync_interval
            due.add("resync")
        if self._polling and now >= self._next_poll:
            due.add("fetch")
        return due
