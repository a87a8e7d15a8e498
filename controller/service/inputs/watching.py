"""Watch the manifest tree and call back once per burst of changes.

The runner gives `Watcher` its reload trigger. An editor's save (temp file, rename, chmod) or a
`git pull` touching fifty files is one burst; `Debouncer` turns it into one callback after a quiet
period (200 ms), and never later than `max_delay` (2 s) after the first event, so a file rewritten
continuously still gets picked up. Where the platform reports a file closed after writing
(inotify), a burst whose every written file was closed (or renamed into place, or deleted) ends
after a shorter `settle` (50 ms) instead: the writer is done with it. A write with no close after
it (a chmod, an editor still writing, a platform without close events) waits the full quiet.
Hidden files and non-YAML files are ignored (editor swap files, `.git/`), with one exception:
Kubernetes ConfigMap volumes update by swapping the hidden `..data` symlink, so that name counts
as a change. The periodic resync catches anything missed.

The callback gets the `Change`: the files (root-relative) a burst touched, so the service reads
only those, or `everything` when a directory came, went or moved (or the change cannot be named),
so it walks the whole tree again.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = structlog.get_logger(__name__)

YAML_SUFFIXES = (".yaml", ".yml")
_CONFIGMAP_LINK = "..data"


@dataclass(frozen=True)
class Change:
    """What one burst touched."""

    paths: frozenset[str]
    """Files created, written, deleted or renamed (either name), relative to the root, posix."""
    everything: bool = False
    """A directory event, or a change that names no file: only a full walk can tell."""


class Debouncer:
    """Calls `callback` once, `quiet` seconds after the last `poke`, or `max_delay` after the first.

    One daemon thread sleeps until the burst is over; the callback runs on that thread, so it must
    return quickly (the runner's only sets a flag). It gets every path poked during the burst.
    """

    def __init__(
        self,
        callback: Callable[[Change], None],
        quiet: float = 0.2,
        max_delay: float = 2.0,
        settle: float | None = None,
    ) -> None:
        if quiet <= 0 or max_delay < quiet:
            raise ValueError("need 0 < quiet <= max_delay")
        self._callback = callback
        self._quiet = quiet
        self._settle = quiet if settle is None else min(settle, quiet)
        self._max_delay = max_delay
        self._cond = threading.Condition()
        self._first: float | None = None  # when the pending burst started
        self._last = 0.0
        self._paths: set[str] = set()
        self._everything = False
        self._writing: set[str | None] = set()  # written, not closed yet
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="debouncer", daemon=True)
        self._thread.start()

    def poke(self, path: str | None = None, *, done: bool = False) -> None:
        """Note a change of `path` (root-relative); None: of something only a walk can find.

        `done`: the change is complete (a file closed after writing, renamed into place,
        deleted); otherwise more writes may follow.
        """
        with self._cond:
            if path is None:
                self._everything = True
            else:
                self._paths.add(path)
            if done:
                self._writing.discard(path)
            else:
                self._writing.add(path)
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(timeout=1.0)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not self._due():
                    self._cond.wait(self._wait_time())
                if self._stopped:
                    return
                self._first = None
                change = Change(frozenset(self._paths), self._everything)
                self._paths, self._everything, self._writing = set(), False, set()
            try:
                self._callback(change)
            except Exception:
                log.exception("change callback failed")

    def _due(self) -> bool:
        if self._first is None:
            return False
        return time.monotonic() >= self._deadline()

    def _deadline(self) -> float:
        assert self._first is not None
        quiet = self._quiet if self._writing else self._settle
        return min(self._last + quiet, self._first + self._max_delay)

    def _wait_time(self) -> float | None:
        if self._first is None:
            return None
        return max(0.0, self._deadline() - time.monotonic())


def is_relevant(path: str, root: Path, *, is_directory: bool = False) -> bool:
    """Whether a change at `path` may change the manifests under `root`."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        return False
    if not parts:
        return False
    if parts[-1] == _CONFIGMAP_LINK:
        return True
    if any(part.startswith(".") for part in parts):
        return False
    return is_directory or parts[-1].lower().endswith(YAML_SUFFIXES)


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, poke: Callable[..., None]) -> None:
        super().__init__()
        self._root = root
        self._poke = poke

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        # A directory's own "modified" fires for any child, including ignored ones.
        if event.is_directory and event.event_type == "modified":
            return
        # Closed after writing, renamed into place, deleted: that file's change is complete.
        done = event.is_directory or event.event_type in ("closed", "moved", "deleted")
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw) if raw else ""
            if path and is_relevant(path, self._root, is_directory=event.is_directory):
                self._poke(None if event.is_directory else self._relative(path), done=done)

    def _relative(self, path: str) -> str | None:
        """The root-relative posix path of a file; None for the ConfigMap link swap."""
        relative = Path(path).relative_to(self._root)
        return None if relative.name == _CONFIGMAP_LINK else relative.as_posix()


class Watcher:
    """A watchdog observer on `root` (recursive) that calls `on_change` once per burst."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[Change], None],
        *,
        quiet: float = 0.2,
        max_delay: float = 2.0,
        settle: float | None = None,
    ) -> None:
        # Resolve once: inotify reports resolved paths, and relative_to needs the same prefix.
        self.root = root.resolve()
        self._debouncer: Debouncer | None = None
        self._on_change = on_change
        self._quiet = quiet
        self._max_delay = max_delay
        self._settle = settle  # None: every burst waits the full quiet period
        self._observer: Any = None

    def start(self) -> None:
        self._debouncer = Debouncer(self._on_change, self._quiet, self._max_delay, self._settle)
        self._observer = Observer()
        self._observer.schedule(
            _Handler(self.root, self._debouncer.poke), str(self.root), recursive=True
        )
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=2.0)
        if self._debouncer is not None:
            self._debouncer.stop()
