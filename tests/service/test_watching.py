"""The manifest watcher: one callback per burst, within a second, and only for YAML that matters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.service.inputs.watching import Change, Debouncer, Watcher, is_relevant


class Calls:
    """Counts callbacks and lets a test wait for the n-th one."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.changes: list[Change] = []
        self._cond = threading.Condition()

    def __call__(self, change: Change) -> None:
        with self._cond:
            self.times.append(time.monotonic())
            self.changes.append(change)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.times) >= count, timeout)


def test_a_burst_of_pokes_gives_one_callback_after_the_quiet_period() -> None:
    calls = Calls()
    debouncer = Debouncer(calls, quiet=0.1, max_delay=1.0)
    try:
        started = time.monotonic()
        for _ in range(50):
            debouncer.poke()
        assert calls.wait_for(1, 1.0)
        assert 0.09 <= calls.times[0] - started < 0.5
        time.sleep(0.25)
        assert len(calls.times) == 1
    finally:
        debouncer.stop()


def test_continuous_changes_still_fire_after_max_delay() -> None:
    calls = Calls()
    debouncer = Debouncer(calls, quiet=0.1, max_delay=0.3)
    try:
        started = time.monotonic()
        while time.monotonic() - started < 0.6:  # never quiet for 100 ms
            debouncer.poke()
            time.sleep(0.02)
        assert calls.times, "max_delay bounds how long a busy writer can defer the reload"
        assert calls.times[0] - started < 0.45
    finally:
        debouncer.stop()


def test_debouncer_rejects_bad_timing() -> None:
    with pytest.raises(ValueError):
        Debouncer(lambda _: None, quiet=0, max_delay=1)
    with pytest.raises(ValueError):
        Debouncer(lambda _: None, quiet=2, max_delay=1)


ROOT = Path("/srv/manifests")


@pytest.mark.parametrize(
    ("path", "is_directory", "expected"),
    [
        ("/srv/manifests/prod/churn.yaml", False, True),
        ("/srv/manifests/churn.yml", False, True),
        ("/srv/manifests/CHURN.YAML", False, True),
        ("/srv/manifests/README.md", False, False),
        ("/srv/manifests/.churn.yaml.swp", False, False),
        ("/srv/manifests/.git/HEAD", False, False),
        ("/srv/manifests/.hidden/churn.yaml", False, False),
        ("/srv/manifests/churn.yaml~", False, False),
        ("/srv/manifests/prod", True, True),
        ("/srv/manifests/.git", True, False),
        ("/srv/manifests/..data", False, True),  # Kubernetes ConfigMap volume swap
        ("/srv/other/churn.yaml", False, False),
        ("/srv/manifests", True, False),
    ],
)
def test_is_relevant(path: str, is_directory: bool, expected: bool) -> None:
    assert is_relevant(path, ROOT, is_directory=is_directory) is expected


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, Calls]]:
    calls = Calls()
    watcher = Watcher(tmp_path, calls, quiet=0.2, max_delay=2.0)
    watcher.start()
    time.sleep(0.1)  # let the observer attach before the test writes
    try:
        yield tmp_path, calls
    finally:
        watcher.stop()


def test_writing_twenty_manifests_gives_exactly_one_reload(watched: tuple[Path, Calls]) -> None:
    root, calls = watched
    (root / "prod").mkdir()
    for i in range(20):
        (root / "prod" / f"endpoint-{i}.yaml").write_text(f"metadata: {{name: e{i}}}\n")
    written = time.monotonic()
    assert calls.wait_for(1, 2.0)
    assert calls.times[0] - written < 1.0, "act within a second of the last write"
    time.sleep(0.5)
    assert len(calls.times) == 1


def test_an_edit_rename_and_delete_each_trigger(watched: tuple[Path, Calls]) -> None:
    root, calls = watched
    manifest = root / "a.yaml"
    manifest.write_text("x: 1\n")
    assert calls.wait_for(1, 2.0)
    # An editor's atomic save: write a hidden temp file, then rename it over the manifest.
    (root / ".a.yaml.tmp").write_text("x: 2\n")
    (root / ".a.yaml.tmp").rename(manifest)
    assert calls.wait_for(2, 2.0)
    manifest.unlink()
    assert calls.wait_for(3, 2.0)


def test_hidden_and_non_yaml_files_are_ignored(watched: tuple[Path, Calls]) -> None:
    root, calls = watched
    (root / "notes.txt").write_text("hello\n")
    (root / ".git").mkdir()
    (root / ".git" / "index.yaml").write_text("x: 1\n")
    (root / ".swap.yaml").write_text("x: 1\n")
    time.sleep(0.6)
    assert calls.times == []


def test_a_burst_names_the_files_it_touched(watched: tuple[Path, Calls]) -> None:
    root, calls = watched
    (root / "a.yaml").write_text("x: 1\n")
    (root / "b.yaml").write_text("x: 1\n")
    assert calls.wait_for(1, 2.0)
    assert calls.changes[0] == Change(frozenset({"a.yaml", "b.yaml"}))
    # An atomic save names the manifest, not the hidden temp file; a rename names both.
    (root / ".a.yaml.tmp").write_text("x: 2\n")
    (root / ".a.yaml.tmp").rename(root / "a.yaml")
    assert calls.wait_for(2, 2.0)
    assert calls.changes[1] == Change(frozenset({"a.yaml"}))
    (root / "b.yaml").rename(root / "c.yaml")
    assert calls.wait_for(3, 2.0)
    assert calls.changes[2] == Change(frozenset({"b.yaml", "c.yaml"}))


def test_a_directory_event_asks_for_a_full_walk(watched: tuple[Path, Calls]) -> None:
    root, calls = watched
    (root / "prod").mkdir()
    assert calls.wait_for(1, 2.0)
    assert calls.changes[0].everything
    (root / "prod").rename(root / "staging")
    assert calls.wait_for(2, 2.0)
    assert calls.changes[1].everything


def test_pokes_without_a_path_ask_for_everything() -> None:
    calls = Calls()
    debouncer = Debouncer(calls, quiet=0.05, max_delay=1.0)
    try:
        debouncer.poke("a.yaml")
        debouncer.poke(None)
        assert calls.wait_for(1, 1.0)
        assert calls.changes == [Change(frozenset({"a.yaml"}), everything=True)]
    finally:
        debouncer.stop()


def test_a_burst_of_closed_files_ends_after_the_settle_time() -> None:
    calls = Calls()
    debouncer = Debouncer(calls, quiet=5.0, max_delay=10.0, settle=0.05)
    try:
        debouncer.poke("a.yaml")  # written...
        debouncer.poke("b.yaml", done=True)  # (b renamed into place)
        assert not calls.wait_for(1, 0.3), "a.yaml is still being written: wait the quiet"
        debouncer.poke("a.yaml", done=True)  # ...and closed
        assert calls.wait_for(1, 4.0), "every file is complete: the settle time, not the quiet"
        assert calls.changes == [Change(frozenset({"a.yaml", "b.yaml"}))]
    finally:
        debouncer.stop()


def test_without_a_settle_time_closed_files_wait_the_quiet_period() -> None:
    calls = Calls()
    debouncer = Debouncer(calls, quiet=5.0, max_delay=10.0)
    try:
        debouncer.poke("a.yaml", done=True)
        assert not calls.wait_for(1, 0.3)
    finally:
        debouncer.stop()
