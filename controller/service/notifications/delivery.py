"""Deliver events: deduplicate, queue (bounded), post on a background thread, retry with backoff.

`submit` is what the reconcile path calls, and it only ever takes a lock and puts on a queue
without waiting: a full queue drops the message (logged and counted) instead of blocking, so a
dead or slow receiver costs a reconcile nothing. One daemon thread posts each message to its
sink, retrying network errors, 429 and 5xx with full-jitter exponential backoff; other 4xx are
not retried (the request itself is wrong). Logs name the sink and the event, never a URL or a
token: a Slack webhook URL is a credential.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from controller.service.notifications.config import Notifications, Sink
from controller.service.notifications.messages import Request, build_request
from controller.service.status.events import Event

log = structlog.get_logger(__name__)

DEDUP_MEMORY = 10_000  # (endpoint, revision, event) keys remembered; oldest forgotten first
_RETRIED_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})

Observe = Callable[[str, str], None]  # (sink, result): the notifications metric


@dataclass(frozen=True)
class _Delivery:
    sink: Sink
    event: Event


class DeliveryError(Exception):
    """One failed attempt; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def post(request: Request, timeout: float) -> int:
    """POST `request`; its HTTP status, or DeliveryError. Messages never include the URL."""
    http = urllib.request.Request(request.url, request.body, request.headers, method="POST")
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        raise DeliveryError(f"HTTP {e.code}", retry=e.code in _RETRIED_STATUS) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DeliveryError(f"{type(reason).__name__}: {reason}", retry=True) from None


class Notifier:
    """Owns the queue and the delivery thread; `submit` never blocks."""

    def __init__(
        self,
        notifications: Notifications,
        *,
        observe: Observe | None = None,
        send: Callable[[Request, float], int] = post,
        rng: random.Random | None = None,
    ) -> None:
        self._config = notifications.config
        self._secrets = notifications.secrets
        self._observe = observe or (lambda sink, result: None)
        self._send = send
        self._rng = rng or random.Random()
        self._queue: queue.Queue[_Delivery | None] = queue.Queue(self._config.queue_size)
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="notifier", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the message in hand; what is still queued is dropped (and logged)."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # a full queue means the thread is not waiting
            self._queue.put_nowait(None)  # wake the thread
        self._thread.join(timeout)
        if self._queue.qsize():
            log.warning("notifications dropped at shutdown", count=self._queue.qsize())

    def submit(self, event: Event) -> None:
        """Queue `event` for every sink that wants it, once per (endpoint, revision, event)."""
        with self._lock:
            if event.dedup_key in self._seen:
                self._observe("*", "duplicate")
                return
            self._seen[event.dedup_key] = None
            while len(self._seen) > DEDUP_MEMORY:
                self._seen.popitem(last=False)
        for sink in self._config.sinks:
            if event.kind not in sink.events:
                continue
            try:
                self._queue.put_nowait(_Delivery(sink, event))
            except queue.Full:
                self._observe(sink.name, "dropped")
                log.warning("notification dropped: queue full", sink=sink.name, kind=event.kind)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            item = self._queue.get()
            if item is None:
                return
            try:
                self._deliver(item)
            except Exception:  # a bug in one message must not end delivery for the rest
                log.exception("notification failed", sink=item.sink.name, kind=item.event.kind)

    def _deliver(self, item: _Delivery) -> None:
        sink, event = item.sink, item.event
        request = build_request(sink, self._secrets[sink.name].get_secret_value(), event)
        if request is None:
            log.info("notification skipped: revision is not a commit", sink=sink.name)
            self._observe(sink.name, "skipped")
            return
        retry = self._config.retry
        for attempt in range(retry.attempts):
            try:
                self._send(request, self._config.timeout)
            except DeliveryError as e:
                last = attempt + 1 == retry.attempts or not e.retry
                fields = {"sink": sink.name, "kind": event.kind, "endpoint": event.endpoint}
                log.warning(
                    "notification attempt failed", error=str(e), attempt=attempt + 1, **fields
                )
                if last or self._stopping.wait(self._delay(attempt)):
                    self._observe(sink.name, "failed")
                    return
                continue
            self._observe(sink.name, "delivered")
            log.info("notified", sink=sink.name, kind=event.kind, endpoint=event.endpoint)
            return

    def _delay(self, attempt: int) -> float:
        retry = self._config.retry
        ceiling = min(retry.max_delay, retry.initial_delay * 2.0 ** min(attempt, 32))
        return max(retry.initial_delay / 2, self._rng.uniform(0.0, ceiling))
