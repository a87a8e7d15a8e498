"""The runner against a fake reconciler: what gets enqueued, how outcomes are scheduled, status,
leadership, deploy windows, shutdown. Most tests drive it step by step (reload / queue / process)
with a fake clock; a few start it for real on loopback with short timings.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Health, Status
from controller.errors import ControllerError, Diagnostic
from controller.service.backoff import Backoff
from controller.service.locationqueues import queue_of
from controller.service.ports import ShardHooks
from controller.service.runner import Runner, RunnerConfig
from controller.service.windows import Window, WindowPolicy, WindowSpec

# -- fakes implementing controller.service.ports -----------------------------------------------


@dataclass(frozen=True)
class Manifest:
    content: str = "v1"
    suspend: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeSnapshot:
    revision: str | None
    manifests: Mapping[str, Manifest]
    ok: bool = True
    diagnostics: Sequence[Diagnostic] = ()

    def keys(self) -> list[str]:
        return sorted(self.manifests)

    def fingerprint(self, key: str) -> str | None:
        m = self.manifests.get(key)
        return None if m is None else hashlib.sha256(m.content.encode()).hexdigest()[:12]

    def suspended(self, key: str) -> bool:
        m = self.manifests.get(key)
        return bool(m and m.suspend)

    def name(self, key: str) -> str:
        return key

    def labels(self, key: str) -> Mapping[str, str]:
        m = self.manifests.get(key)
        return m.labels if m else {}


Script = Callable[[str, bool], Outcome]


def converged(key: str, apply: bool) -> Outcome:
    plan = EndpointPlan(key, f"{key}.yaml", "us-east-1", Status.UNCHANGED, Health.HEALTHY)
    return Outcome(key, OutcomeKind.CONVERGED, "in sync", plan=plan, reason="Synced")


def outcome(kind: OutcomeKind, *, changes: bool = False, after: float | None = None) -> Script:
    def script(key: str, apply: bool) -> Outcome:
        from controller.core.plan.plans import Action, Op, Reason, ResourceType

        actions = (Action(Op.UPDATE, ResourceType.ENDPOINT, key, Reason.VERSION_CHANGED),)
        plan = EndpointPlan(
            key,
            f"{key}.yaml",
            "us-east-1",
            Status.UPDATE if changes else Status.UNCHANGED,
            Health.PROGRESSING if kind is OutcomeKind.REQUEUE else Health.HEALTHY,
            actions=actions if changes else (),
        )
        return Outcome(
            key,
            kind,
            kind.value,
            requeue_after=after,
            plan=plan,
            mutated=changes and apply,
            reason=kind.value,
        )

    return script


@dataclass
class Call:
    key: str
    apply: bool
    revision: str | None


class FakeReconciler:
    """Serves `tree` as snapshots and answers reconciles from per-key scripts."""

    def __init__(self, manifests: Mapping[str, Manifest] | None = None) -> None:
        self.tree: dict[str, Manifest] = dict(manifests or {})
        self.ok = True
        self.revision: str | None = None
        self.owned: set[str] = set()
        self.scripts: dict[str, Script] = {}
        self.calls: list[Call] = []
        self.passes = 0
        self.scans: list[Callable[[str], bool] | None] = []
        self.load_error: Exception | None = None
        self._lock = threading.Lock()

    def load(
        self, root: Path, revision: str | None, *, changed: frozenset[str] | None = None
    ) -> FakeSnapshot:
        if self.load_error is not None:
            raise self.load_error
        return FakeSnapshot(revision or self.revision, dict(self.tree), self.ok)

    def begin_pass(self) -> None:
        self.passes += 1

    def owned_keys(self, only: Callable[[str], bool] | None = None) -> set[str]:
        self.scans.append(only)
        return {k for k in self.owned if only is None or only(queue_of(k))}

    def removal_locations(self) -> set[str]:
        return {queue_of(k) for k in self.owned} | {"eu-west-1"}  # one with nothing owned

    def reconcile(self, snapshot: FakeSnapshot, key: str, *, apply: bool) -> Outcome:
        with self._lock:
            self.calls.append(Call(key, apply, snapshot.revision))
        return self.scripts.get(key, converged)(key, apply)

    def keys_called(self) -> list[str]:
        with self._lock:
            return [c.key for c in self.calls]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


NOW = datetime(2025, 6, 13, 10, 30, tzinfo=UTC)


def make(
    rec: FakeReconciler, tmp_path: Path, **options: object
) -> tuple[Runner[FakeSnapshot], FakeClock]:
    clock = FakeClock()
    config = RunnerConfig(manifests=tmp_path, http_port=None)
    windows = options.pop("windows", None)
    runner = Runner(
        rec,
        config,
        clock=clock,
        now=lambda: NOW,
        backoff=Backoff(rng=random.Random(0)),
        windows=windows,  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )
    return runner, clock


def drain(runner: Runner[FakeSnapshot]) -> list[str]:
    """Process every key that is ready now, as a worker would."""
    done: list[str] = []
    for _ in range(1000):
        key = runner.queue.get(timeout=0)
        if key is None:
            return done
        try:
            runner.process(key)
        finally:
            runner.queue.done(key)
        done.append(key)
    raise AssertionError("queue never emptied")


def three() -> FakeReconciler:
    return FakeReconciler({"a": Manifest(), "b": Manifest(), "c": Manifest()})


# -- what gets enqueued ------------------------------------------------------------------------


def test_first_load_enqueues_every_endpoint_and_owned_orphans(tmp_path: Path) -> None:
    rec = three()
    rec.owned = {"a", "gone"}
    runner, _ = make(rec, tmp_path)
    assert runner.reload(full=False) == {"a", "b", "c", "gone"}
    assert sorted(drain(runner)) == ["a", "b", "c", "gone"]
    assert rec.passes == 1


def test_editing_one_manifest_enqueues_only_that_endpoint(tmp_path: Path) -> None:
    rec = three()
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    rec.calls.clear()
    rec.tree["b"] = Manifest("v2")
    assert runner.reload(full=False) == {"b"}
    assert drain(runner) == ["b"]
    assert runner.reload(full=False) == set(), "an unchanged tree enqueues nothing"


def test_an_edit_goes_ahead_of_a_resync_in_progress(tmp_path: Path) -> None:
    rec = FakeReconciler({f"k{i:02d}": Manifest() for i in range(20)})
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    runner.reload(full=True)  # the periodic resync queues the whole fleet
    first = runner.queue.get(timeout=0)
    assert first == "k00"
    rec.tree["k17"] = Manifest("v2")  # an edit lands while the sweep runs

    runner.reload(full=False)

    assert runner.queue.get(timeout=0) == "k17"


def test_a_removed_manifest_is_enqueued_for_prune(tmp_path: Path) -> None:
    rec = three()
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    del rec.tree["c"]
    assert runner.reload(full=False) == {"c"}


def test_removals_are_not_enqueued_while_any_manifest_is_broken(tmp_path: Path) -> None:
    rec = three()
    rec.owned = {"a", "b", "c", "orphan"}
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    del rec.tree["c"]  # e.g. c's file now fails to parse
    rec.ok = False
    assert runner.reload(full=False) == set()
    assert runner.reload(full=True) == {"a", "b"}, "a resync re-checks what loaded, prunes nothing"
    rec.ok = True  # fixed, but c really was deleted
    assert runner.reload(full=False) == {"c", "orphan"}


class SlowListing(FakeReconciler):
    """owned_keys() waits until the test lets it answer (a sweep of a large account)."""

    def __init__(self, manifests: Mapping[str, Manifest]) -> None:
        super().__init__(manifests)
        self.listing = threading.Event()
        self.answer = threading.Event()

    def owned_keys(self, only: Callable[[str], bool] | None = None) -> set[str]:
        self.listing.set()
        assert self.answer.wait(5.0)
        return super().owned_keys(only)


def test_an_edit_is_loaded_while_a_resync_lists_owned_endpoints(tmp_path: Path) -> None:
    rec = SlowListing({"a": Manifest(), "b": Manifest()})
    runner, _ = make(rec, tmp_path)
    rec.answer.set()
    runner.reload(full=False)
    drain(runner)
    rec.answer.clear()
    rec.owned = {"a", "b", "orphan"}
    assert runner.reload(full=True, scan_aside=True) == {"a", "b"}
    assert rec.listing.wait(5.0)
    drain(runner)
    rec.tree["b"] = Manifest("v2")  # the edit lands while the listing is still running
    assert runner.reload(full=False, changed=frozenset({"b.yaml"})) == {"b"}
    assert drain(runner) == ["b"]
    rec.answer.set()  # the listing ends: the orphan is enqueued against the newest snapshot
    assert wait_until(lambda: runner.queue.get(timeout=0) == "orphan", 5.0)


def test_a_resync_listing_aside_prunes_nothing_while_a_manifest_is_broken(tmp_path: Path) -> None:
    rec = SlowListing({"a": Manifest()})
    rec.answer.set()
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    rec.owned = {"a", "orphan"}
    rec.ok = False
    runner.reload(full=True, scan_aside=True)
    assert rec.listing.wait(5.0)
    assert wait_until(lambda: not runner._scanner or not runner._scanner.is_alive(), 5.0)
    assert "orphan" not in drain(runner)


def test_broken_first_load_serves_what_loaded_and_prunes_nothing(tmp_path: Path) -> None:
    rec = three()
    rec.ok = False
    rec.owned = {"orphan"}
    runner, _ = make(rec, tmp_path)
    assert runner.reload(full=False) == {"a", "b", "c"}


def test_resync_enqueues_everything_except_keys_in_backoff(tmp_path: Path) -> None:
    rec = three()
    rec.scripts["b"] = outcome(OutcomeKind.TRANSIENT)
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    assert runner.queue.scheduled("b") is not None
    assert runner.reload(full=True) == {"a", "c"}


def test_a_load_failure_keeps_the_last_snapshot(tmp_path: Path) -> None:
    rec = three()
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    rec.load_error = ControllerError("disk on fire")
    assert runner.reload(full=True) == set()
    assert runner.status()["problem"] == "loading manifests failed: disk on fire"
    assert len(runner.status()["endpoints"]) == 3


# -- scheduling by outcome ---------------------------------------------------------------------


def test_requeue_checks_back_after_the_requested_delay(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    rec.scripts["a"] = outcome(OutcomeKind.REQUEUE, after=20.0)
    runner, clock = make(rec, tmp_path)
    runner.reload(full=False)
    assert drain(runner) == ["a"]
    assert runner.queue.scheduled("a") == pytest.approx(20.0)
    clock.now += 20.0
    assert drain(runner) == ["a"]
    assert runner.status()["endpoints"][0]["sync"] == "Progressing"


def test_converging_cancels_a_leftover_check_back(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    rec.scripts["a"] = outcome(OutcomeKind.REQUEUE, after=15.0)
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    assert runner.queue.scheduled("a") is not None
    rec.scripts["a"] = converged
    runner.reload(full=True)  # a resync finds it settled before the check-back is due
    drain(runner)
    assert runner.queue.pending() == 0


def test_terminal_is_not_retried_until_the_manifest_or_revision_changes(tmp_path: Path) -> None:
    rec = three()
    rec.revision = "r1"
    rec.scripts["a"] = outcome(OutcomeKind.TERMINAL)
    runner, clock = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    assert runner.queue.pending() == 0, "no backoff loop for a terminal failure"
    clock.now += 3600
    rec.tree["b"] = Manifest("v2")
    assert runner.reload(full=False) == {"b"}
    rec.tree["a"] = Manifest("fixed")
    assert runner.reload(full=False) == {"a"}
    drain(runner)
    rec.revision = "r2"  # a new commit, a's manifest unchanged: try the failed one again
    assert runner.reload(full=False) == {"a"}
    drain(runner)
    status = {e["key"]: e for e in runner.status()["endpoints"]}
    assert status["a"]["sync"] == "Failed"
    assert status["a"]["last_error"] == "Terminal"
    assert status["a"]["revision"] == "r2"


def test_a_failing_endpoint_is_not_hot_looped(tmp_path: Path) -> None:
    """Constant TRANSIENT for one simulated hour: calls stay few; the others are untouched."""
    rec = three()
    rec.scripts["b"] = outcome(OutcomeKind.TRANSIENT)
    runner, clock = make(rec, tmp_path)
    runner.reload(full=False)
    end = clock.now + 3600
    while clock.now < end:
        if not drain(runner):
            clock.now += runner.queue.scheduled("b") or 1.0
    counts = {k: rec.keys_called().count(k) for k in "abc"}
    assert counts["a"] == counts["c"] == 1
    assert 8 <= counts["b"] <= 45


def test_reconcile_exceptions_become_transient(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})

    def boom(key: str, apply: bool) -> Outcome:
        raise RuntimeError("bug")

    rec.scripts["a"] = boom
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    assert runner.queue.scheduled("a") is not None
    entry = runner.status()["endpoints"][0]
    assert entry["last_error"] == "RuntimeError: bug"
    assert "ReconcileError" in runner.metrics_text().decode()


# -- report-only: suspend, windows, leadership -------------------------------------------------


def test_suspended_endpoints_are_reconciled_report_only(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest(suspend=True), "b": Manifest()})
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    assert {c.key: c.apply for c in rec.calls} == {"a": False, "b": True}
    states = {e["key"]: e["sync"] for e in runner.status()["endpoints"]}
    assert states == {"a": "Suspended", "b": "Synced"}


def test_suspend_all_then_resume(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    runner.suspend()
    drain(runner)
    assert rec.calls[-1].apply is False
    assert runner.status()["suspended_all"] is True
    runner.resume()
    runner.reload(full=True)  # what the control loop does on the resume request
    drain(runner)
    assert rec.calls[-1].apply is True


def window(kind: str, schedule: str, duration: str) -> Window:
    spec = WindowSpec.model_validate({"kind": kind, "schedule": schedule, "duration": duration})
    return Window.from_spec(spec)


def test_outside_an_allow_window_changes_wait_for_its_start(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    rec.scripts["a"] = outcome(OutcomeKind.CONVERGED, changes=True)
    policy = WindowPolicy([window("allow", "0 11 * * *", "1h")])  # NOW is 10:30
    runner, _ = make(rec, tmp_path, windows=policy)
    runner.reload(full=False)
    drain(runner)
    assert rec.calls[-1].apply is False
    assert runner.queue.scheduled("a") == pytest.approx(30 * 60 + 1)
    entry = runner.status()["endpoints"][0]
    assert (entry["sync"], entry["held"]) == ("OutOfSync", "outside every allow window")


def test_a_long_deny_window_is_rechecked_within_the_bound(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    rec.scripts["a"] = outcome(OutcomeKind.CONVERGED, changes=True)
    policy = WindowPolicy([window("deny", "0 0 * * *", "1d")])  # always closed
    runner, _ = make(rec, tmp_path, windows=policy)
    runner.reload(full=False)
    drain(runner)
    assert rec.calls[-1].apply is False
    assert runner.queue.scheduled("a") == pytest.approx(runner.config.window_recheck)


def test_no_pending_change_means_no_window_requeue(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    runner, _ = make(rec, tmp_path, windows=WindowPolicy([window("deny", "0 0 * * *", "1d")]))
    runner.reload(full=False)
    drain(runner)
    assert runner.queue.pending() == 0
    assert runner.status()["endpoints"][0]["sync"] == "Synced"


class FakeElector:
    def __init__(self, started: Callable[[], None], stopped: Callable[[], None]) -> None:
        self.started, self.stopped = started, stopped
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self, timeout: float | None = None) -> None:
        self.running = False
        self.stopped()


def test_standbys_stay_idle_and_a_new_leader_resyncs(tmp_path: Path) -> None:
    rec = three()
    electors: list[FakeElector] = []

    def factory(started: Callable[[], None], stopped: Callable[[], None]) -> FakeElector:
        electors.append(FakeElector(started, stopped))
        return electors[-1]

    runner, _ = make(rec, tmp_path, elector_factory=factory)
    assert runner.reload(full=False) == set(), "a standby loads but enqueues nothing"
    assert runner.ready() == (True, "standby: another replica leads")
    assert runner.status()["leader"] is False
    electors[0].started()
    assert runner.reload(full=True) == {"a", "b", "c"}
    electors[0].stopped()
    assert drain(runner) == ["a", "b", "c"]
    assert rec.calls == [], "after losing the lease nothing is reconciled, let alone applied"


def test_a_lapsed_lease_makes_reconciles_report_only(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    runner, _ = make(rec, tmp_path, leader_check=lambda: False)
    runner.reload(full=False)
    drain(runner)
    assert rec.calls[-1].apply is False


class FakeShards:
    """A shard elector that holds exactly the shards the test says."""

    def __init__(self, hooks: ShardHooks) -> None:
        self.hooks = hooks
        self.held: set[str] = set()

    def start(self) -> None:
        return None

    def stop(self, timeout: float | None = None, *, release: bool = True) -> None:
        self.held = set()

    def owns(self, shard: str) -> bool:
        return shard in self.held

    def view(self) -> dict[str, object]:
        return {"replica": "me", "held": sorted(self.held), "members": ["me"], "holders": {}}

    def take(self, *shards: str) -> None:
        self.held |= set(shards)
        self.hooks.changed(frozenset(self.held), frozenset(shards))


def test_a_sharded_replica_reconciles_and_prunes_only_its_shards(tmp_path: Path) -> None:
    rec = FakeReconciler({"prod/a": Manifest(), "prod/b": Manifest(), "dev/c": Manifest()})
    rec.owned = {"prod/gone", "dev/gone"}  # two removed manifests, one per target
    made: list[FakeShards] = []

    def factory(hooks: ShardHooks) -> FakeShards:
        made.append(FakeShards(hooks))
        return made[-1]

    runner, _ = make(rec, tmp_path, shard_factory=factory)
    assert runner.reload(full=False) == set(), "no shard held: load, enqueue nothing"
    assert runner.ready() == (True, "standby: this replica holds no shard")
    assert made[0].hooks.universe() == {"prod", "dev"}
    made[0].take("prod")
    assert made[0].hooks.universe() == {"prod", "dev"}
    assert runner.status()["leader"] is True and runner.status()["shards"]["held"] == ["prod"]
    assert runner.reload(full=True) == {"prod/a", "prod/b", "prod/gone"}
    # Only prod was listed for removed manifests; eu-west-1, in scope with nothing left, is a
    # shard all the same (someone must hold it to prune there).
    scan = rec.scans[-1]
    assert scan is not None and scan("prod") and not scan("dev")
    assert made[0].hooks.universe() == {"prod", "dev", "eu-west-1"}
    runner.queue.add("dev/c")  # however a key of another shard gets queued, it is skipped
    assert sorted(drain(runner)) == ["dev/c", "prod/a", "prod/b", "prod/gone"]
    assert sorted(rec.keys_called()) == ["prod/a", "prod/b", "prod/gone"]
    assert {e["key"] for e in runner.status()["endpoints"]} >= {"prod/a", "prod/b"}
    made[0].held.clear()  # the lease lapsed: nothing more is reconciled, even if queued
    runner.queue.add("prod/a")
    drain(runner)
    assert sorted(rec.keys_called()) == ["prod/a", "prod/b", "prod/gone"]
    made[0].hooks.changed(frozenset(), frozenset())  # the elector's next pass says so
    assert runner.status()["endpoints"] == [] and runner.status()["leader"] is False


# -- logging -----------------------------------------------------------------------------------


def test_log_lines_about_an_endpoint_carry_its_context(tmp_path: Path) -> None:
    rec = FakeReconciler({"a": Manifest()})
    rec.revision = "r1"
    rec.scripts["a"] = outcome(OutcomeKind.TERMINAL)
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        drain(runner)
    failed = [e for e in logs if e["event"] == "reconcile failed"]
    assert failed and failed[0]["endpoint"] == "a"
    assert (failed[0]["revision"], failed[0]["action"]) == ("r1", "apply")


# -- the running service -----------------------------------------------------------------------


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    for name in ("alpha", "beta", "gamma"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\n")
    return tmp_path


class DirReconciler(FakeReconciler):
    """Reads the directory for real: one key per YAML file, fingerprint = file content."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[frozenset[str] | None] = []  # `changed` of each load

    def load(
        self, root: Path, revision: str | None, *, changed: frozenset[str] | None = None
    ) -> FakeSnapshot:
        self.loads.append(changed)
        files = {p.stem: Manifest(p.read_text()) for p in sorted(root.glob("*.yaml"))}
        return FakeSnapshot(revision, files, True)


@pytest.fixture
def running(manifest_dir: Path) -> Iterator[tuple[Runner[FakeSnapshot], DirReconciler]]:
    rec = DirReconciler()
    config = RunnerConfig(
        manifests=manifest_dir,
        http_port=0,
        concurrency=2,
        shutdown_timeout=2.0,
        watch_quiet=0.1,
        watch_max_delay=0.5,
    )
    runner = Runner(rec, config)
    runner.start()
    try:
        assert runner.wait_ready(3.0)
        yield runner, rec
    finally:
        runner.stop(timeout=2.0)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def get_json(runner: Runner[FakeSnapshot], path: str, method: str = "GET") -> object:
    url = f"http://127.0.0.1:{runner.http_port}{path}"
    data = b"{}" if method == "POST" else None
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    req = urllib.request.Request(url, method=method, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=5) as response:
        return json.loads(response.read())


def test_service_reconciles_only_the_edited_manifest(
    running: tuple[Runner[FakeSnapshot], DirReconciler], manifest_dir: Path
) -> None:
    _, rec = running
    assert sorted(rec.keys_called()) == ["alpha", "beta", "gamma"]
    (manifest_dir / "beta.yaml").write_text("name: beta\nversion: 2\n")
    assert wait_until(lambda: len(rec.calls) == 4, 1.5), "within a second of the write"
    time.sleep(0.3)
    assert rec.keys_called()[3:] == ["beta"]


def test_an_edit_loads_only_the_files_the_watcher_named(
    running: tuple[Runner[FakeSnapshot], DirReconciler], manifest_dir: Path
) -> None:
    runner, rec = running
    assert rec.loads[0] is None, "the first load walks the tree"
    (manifest_dir / "beta.yaml").write_text("name: beta\nversion: 2\n")
    assert wait_until(lambda: frozenset({"beta.yaml"}) in rec.loads, 2.0)
    (manifest_dir / "sub").mkdir()  # a directory event: only a walk can tell what it holds
    assert wait_until(lambda: rec.loads[-1] is None and len(rec.loads) >= 3, 2.0)
    runner.reload(full=True)
    assert rec.loads[-1] is None


def test_service_http_status_and_suspend(
    running: tuple[Runner[FakeSnapshot], DirReconciler], manifest_dir: Path
) -> None:
    runner, rec = running
    status = get_json(runner, "/status")
    assert isinstance(status, dict)
    assert {"revision", "leader", "suspended_all", "endpoints"} <= status.keys()
    entry = status["endpoints"][0]
    assert {"name", "sync", "health", "revision", "last_error", "last_reconcile"} <= entry.keys()
    assert (entry["sync"], entry["health"]) == ("Synced", "Healthy")
    get_json(runner, "/suspend", "POST")
    (manifest_dir / "alpha.yaml").write_text("name: alpha\nversion: 2\n")
    assert wait_until(lambda: len(rec.calls) >= 4, 1.5)
    assert rec.calls[3].apply is False
    get_json(runner, "/resume", "POST")
    assert wait_until(lambda: len(rec.calls) >= 7, 1.5), "resume re-checks every endpoint"
    assert all(c.apply for c in rec.calls[4:])


def test_a_slow_endpoint_never_blocks_another(manifest_dir: Path) -> None:
    rec = DirReconciler()
    release = threading.Event()

    def slow(key: str, apply: bool) -> Outcome:
        release.wait(5.0)  # an API call that hangs
        return outcome(OutcomeKind.REQUEUE, after=1.0)(key, apply)

    rec.scripts["alpha"] = slow
    runner = Runner(rec, RunnerConfig(manifests=manifest_dir, http_port=None, concurrency=2))
    runner.start()
    try:
        assert wait_until(lambda: {"beta", "gamma"} <= set(rec.keys_called()), 1.0)
        (manifest_dir / "gamma.yaml").write_text("name: gamma\nversion: 2\n")
        assert wait_until(lambda: rec.keys_called().count("gamma") == 2, 1.5)
        release.set()
        # Updating: checked back about once a second, never hot-looped.
        time.sleep(1.5)
        assert 2 <= rec.keys_called().count("alpha") <= 3
    finally:
        release.set()
        assert runner.stop(timeout=2.0)


def test_stop_is_bounded_when_a_reconcile_hangs(manifest_dir: Path) -> None:
    rec = DirReconciler()
    hang = threading.Event()
    rec.scripts["alpha"] = lambda key, apply: (hang.wait(10.0), converged(key, apply))[1]
    config = RunnerConfig(manifests=manifest_dir, http_port=0, shutdown_timeout=0.3)
    runner = Runner(rec, config)
    runner.start()
    try:
        assert wait_until(lambda: "alpha" in rec.keys_called(), 1.0)
        started = time.monotonic()
        assert runner.stop() is False
        assert time.monotonic() - started < 1.5
    finally:
        hang.set()
        assert wait_until(lambda: not runner.queue.in_progress(), 2.0)


def test_stop_is_clean_and_quick_when_idle(
    running: tuple[Runner[FakeSnapshot], DirReconciler],
) -> None:
    runner, _ = running
    started = time.monotonic()
    assert runner.stop() is True
    assert time.monotonic() - started < 1.5
    assert not runner.alive()


# -- git source --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeCheckout:
    revision: str
    root: Path
    changed: bool


class FakeSource:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.revisions = ["r1"]
        self.error: Exception | None = None
        self.syncs = 0

    def sync(self) -> FakeCheckout:
        self.syncs += 1
        if self.error is not None:
            raise self.error
        head = self.revisions[-1]
        changed = self.syncs == 1 or (len(self.revisions) > 1 and self.revisions[-2] != head)
        return FakeCheckout(head, self.root, changed)


def test_git_source_webhook_fetches_and_loads_the_new_revision(manifest_dir: Path) -> None:
    rec = DirReconciler()
    source = FakeSource(manifest_dir)
    config = RunnerConfig(http_port=None, poll_interval=3600)
    runner = Runner(rec, config, source=source)
    runner.start()
    try:
        assert runner.wait_ready(2.0)
        assert {c.revision for c in rec.calls} == {"r1"}
        source.revisions.append("r2")
        (manifest_dir / "beta.yaml").write_text("name: beta\nversion: 2\n")
        runner.trigger_fetch()
        assert wait_until(lambda: len(rec.calls) == 4, 1.5)
        assert (rec.calls[3].key, rec.calls[3].revision) == ("beta", "r2")
        assert runner.status()["revision"] == "r2"
        source.error = ControllerError("git fetch failed: network down")
        runner.trigger_fetch()
        assert wait_until(lambda: runner.status()["problem"] is not None, 1.5)
        assert runner.status()["revision"] == "r2", "the last good revision stays in use"
    finally:
        runner.stop(timeout=2.0)


def test_a_git_problem_is_cleared_by_the_next_successful_fetch(manifest_dir: Path) -> None:
    """Nothing new on the remote means no reload: the fetch itself must clear its problem."""
    rec = DirReconciler()
    source = FakeSource(manifest_dir)
    runner = Runner(rec, RunnerConfig(http_port=None, poll_interval=3600), source=source)
    runner.start()
    try:
        assert runner.wait_ready(2.0)
        source.error = ControllerError("git fetch failed: network down")
        runner.trigger_fetch()
        assert wait_until(lambda: runner.status()["problem"] is not None, 1.5)
        assert runner.ready() == (True, "ok"), "the last good revision is still served"
        syncs = source.syncs
        source.error = None  # the remote is back, at the same revision
        runner.trigger_fetch()
        assert wait_until(lambda: source.syncs > syncs, 1.5)
        assert wait_until(lambda: runner.status()["problem"] is None, 1.5)
        assert len(rec.calls) == 3, "no reload: the revision did not change"
    finally:
        runner.stop(timeout=2.0)


def test_runner_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Runner(FakeReconciler(), RunnerConfig(http_port=None))
    with pytest.raises(ValueError):
        Runner(FakeReconciler(), RunnerConfig(manifests=tmp_path), source=FakeSource(tmp_path))


@pytest.mark.parametrize("hangs", [False, True])
def test_shutdown_releases_the_lease_only_when_nothing_is_in_flight(
    manifest_dir: Path, hangs: bool
) -> None:
    electors: list[FakeElector] = []

    def factory(started: Callable[[], None], stopped: Callable[[], None]) -> FakeElector:
        electors.append(FakeElector(started, stopped))
        return electors[-1]

    rec = DirReconciler()
    hang = threading.Event()
    if hangs:
        rec.scripts["alpha"] = lambda key, apply: (hang.wait(10.0), converged(key, apply))[1]
    config = RunnerConfig(manifests=manifest_dir, http_port=None, shutdown_timeout=0.3)
    runner = Runner(rec, config, elector_factory=factory)
    runner.start()
    try:
        assert electors[0].running
        electors[0].started()
        assert wait_until(lambda: "alpha" in rec.keys_called(), 1.5)
        assert runner.stop() is not hangs
        assert electors[0].running is hangs, "released only after a clean drain"
        assert runner.status()["leader"] is False
    finally:
        hang.set()
        assert wait_until(lambda: not runner.queue.in_progress(), 2.0)


# -- the `run` command ---------------------------------------------------------------------------


def parse_run(*argv: str) -> object:
    from controller.cli import build_parser

    return build_parser().parse_args(["run", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--webhook-secret-file", "{tmp}/empty"], "empty"),
        (["--webhook-secret-file", "{tmp}/missing"], "--webhook-secret-file"),
    ],
)
def test_run_flags_are_checked(tmp_path: Path, argv: list[str], message: str) -> None:
    from controller.commands.run import _config

    (tmp_path / "empty").write_text("\n")
    args = parse_run("-m", str(tmp_path), *(a.replace("{tmp}", str(tmp_path)) for a in argv))
    with pytest.raises(ControllerError, match=message):
        _config(args)  # type: ignore[arg-type]


def test_run_defaults_bind_loopback(tmp_path: Path) -> None:
    from controller.commands.run import _config

    (tmp_path / "secret").write_text("abc\n")
    args = parse_run("-m", str(tmp_path), "--webhook-secret-file", str(tmp_path / "secret"))
    config = _config(args)  # type: ignore[arg-type]
    assert (config.http_host, config.http_port, config.concurrency) == ("127.0.0.1", 8080, 8)
    assert (config.resync_interval, config.shutdown_timeout) == (300.0, 30.0)
    assert config.webhook_secret == b"abc"
    with pytest.raises(SystemExit):
        parse_run("-m", str(tmp_path), "--repo", "https://example.invalid/x.git")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_command_against_the_sandbox_exits_0_on_sigterm(
    seeded_sandbox: object, tmp_path: Path
) -> None:
    """The real wiring (Clients, Reconciler, metrics observer) end to end, on loopback."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import urllib.error

    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "manifests" / "endpoints", tmp_path / "m")
    port = free_port()
    env = {**os.environ, **seeded_sandbox.env()}  # type: ignore[attr-defined]
    command = [
        sys.executable,
        "-m",
        "controller",
        "run",
        "-m",
        str(tmp_path / "m"),
        "--http-port",
        str(port),
        "--shutdown-timeout",
        "5",
    ]
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, env=env, cwd=repo, stderr=log_file)
    try:

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    return bool(r.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        assert wait_until(ready, 30.0), log_path.read_text()[-2000:]
        endpoints = get_json_port(port, "/status")["endpoints"]
        assert isinstance(endpoints, list)
        assert {e["name"] for e in endpoints} == {
            "churn-prod",
            "fraud-detector",
            "kmeans-segments",
        }
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b'operation="CreateEndpoint"' in r.read()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


def get_json_port(port: int, path: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        data = json.loads(response.read())
    assert isinstance(data, dict)
    return data


def test_edits_keep_the_caches_and_resyncs_reset_them(tmp_path: Path) -> None:
    rec = three()
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)

    runner.reload(full=False)  # a manifest edit: only the edited endpoint's calls
    assert rec.passes == 1
    runner.reload(full=True)  # periodic resync: fresh registry listings and owned index
    assert rec.passes == 2


def test_after_an_apply_the_first_looks_come_soon_then_at_the_requeue_interval(
    tmp_path: Path,
) -> None:
    """A change that settles at once is shown settled within a second, not an interval later."""
    from controller.core.plan.plans import Action, Op, Reason, ResourceType

    def create(key: str, apply: bool) -> Outcome:
        made = Action(Op.CREATE, ResourceType.ENDPOINT, key, Reason.NEW_ENDPOINT)
        plan = EndpointPlan(key, "a.yaml", "us-east-1", Status.CREATE, Health.MISSING, (made,))
        return Outcome(key, OutcomeKind.REQUEUE, "create", 15.0, plan, mutated=True)

    rec = FakeReconciler({"a": Manifest()})
    rec.scripts["a"] = create
    runner, clock = make(rec, tmp_path)
    runner.reload(full=False)
    assert drain(runner) == ["a"]
    entry = runner.status()["endpoints"][0]
    assert (entry["sync"], entry["health"]) == ("Progressing", "Progressing"), "not Missing"
    rec.scripts["a"] = outcome(OutcomeKind.REQUEUE, after=15.0)  # still changing
    waits = []
    for _ in range(6):
        wait = runner.queue.scheduled("a")
        assert wait is not None
        waits.append(wait)
        clock.now += wait
        assert drain(runner) == ["a"]
    assert waits == pytest.approx([1.0, 2.0, 4.0, 8.0, 15.0, 15.0])
    rec.scripts["a"] = converged
    clock.now += 15.0
    assert drain(runner) == ["a"]
    entry = runner.status()["endpoints"][0]
    assert (entry["sync"], entry["health"]) == ("Synced", "Healthy")
    rec.scripts["a"] = outcome(OutcomeKind.REQUEUE, changes=True, after=15.0)  # a new change
    runner.reload(full=True)
    assert drain(runner) == ["a"]
    assert runner.queue.scheduled("a") == pytest.approx(1.0)
