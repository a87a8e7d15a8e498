"""The interfaces the `run` service codes against: a manifest snapshot, a reconciler, a source.

`controller.reconcile.reconciling` satisfies `Reconciler`/`Snapshot`,
`controller.service.inputs.gitsource` satisfies `Source`, `controller.service.lease.LeaderElector`
satisfies `Elector`. The service imports none of them directly, so its queueing, scheduling and
status logic is tested with fakes and the real pieces are wired together only in
`controller.commands.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from controller.core.plan.outcomes import Outcome
from controller.errors import Diagnostic


class Snapshot(Protocol):
    """One consistent read of the manifest tree; immutable once loaded."""

    @property
    def revision(self) -> str | None:
        """The git commit the tree was read from, when known."""

    @property
    def ok(self) -> bool:
        """Every manifest loaded and validated; removals are trusted only when true."""

    @property
    def diagnostics(self) -> Sequence[Diagnostic]:
        """Problems found while loading; the endpoints that did load are still served."""

    def keys(self) -> list[str]:
        """Endpoint keys (opaque strings) of every endpoint in the manifests."""

    def fingerprint(self, key: str) -> str | None:
        """Content hash of that endpoint's manifest; None when the key is absent."""

    def suspended(self, key: str) -> bool:
        """The manifest sets spec.suspend: report, never apply."""

    def name(self, key: str) -> str:
        """The endpoint name (metadata.name), for deploy-window globs, logs and /status."""

    def labels(self, key: str) -> Mapping[str, str]:
        """metadata.labels, for deploy-window label selectors."""


# The reconciler's own snapshot type: what its load() returns is what its reconcile() takes.
SnapshotT = TypeVar("SnapshotT", bound=Snapshot)


class Reconciler(Protocol[SnapshotT]):
    """Plans and applies one endpoint at a time; never waits for an endpoint to settle."""

    def load(
        self, root: Path, revision: str | None, *, changed: frozenset[str] | None = None
    ) -> SnapshotT:
        """Read and validate every manifest under `root`.

        `changed`: the files (relative to `root`, posix) that may differ from the last load; the
        rest may be taken as last read. None: read the whole tree.
        """

    def begin_pass(self) -> None:
        """Forget per-pass caches (registry listings, owned index) so new approvals are seen.

        Called before the keys of each newly loaded snapshot are enqueued.
        """

    def owned_keys(self, only: Callable[[str], bool] | None = None) -> set[str]:
        """Keys of live endpoints this controller owns, to find removed manifests.

        `only`: list just the locations it accepts; None lists every location in scope.
        """

    def removal_locations(self) -> set[str]:
        """The locations `owned_keys()` lists, named without listing (they are shards too)."""

    def reconcile(self, snapshot: SnapshotT, key: str, *, apply: bool) -> Outcome:
        """One non-blocking step for `key`; `apply=False` plans and reports only.

        A key absent from `snapshot` means its manifest was removed; the reconciler prunes it
        only when pruning is enabled and `snapshot.ok`.
        """


class Checkout(Protocol):
    """One synced revision of a remote source."""

    @property
    def revision(self) -> str:
        """The commit SHA."""

    @property
    def root(self) -> Path:
        """The manifest directory of that revision."""

    @property
    def changed(self) -> bool:
        """The revision differs from the previous sync."""


class Source(Protocol):
    """Where manifests come from when they are not a local directory (a git branch)."""

    def sync(self) -> Checkout:
        """Fetch and materialise the newest revision; raises ControllerError on failure."""


class Ownership(Protocol):
    """Which endpoint keys this replica may act on (all of them unless `run --shard-by`)."""

    def owns(self, key: str) -> bool:
        """This replica holds the key's shard now; checked again right before a reconcile."""

    def note_manifests(self, keys: Iterable[str]) -> None:
        """The newest snapshot's keys: their locations are shards (replacing the last load's)."""

    def note_scan(self, locations: Iterable[str]) -> None:
        """The locations the removal scan covers (every owned key it finds is in one): shards
        too, so a location whose manifests are all gone is still held (and pruned) by someone."""

    def scan_filter(self) -> Callable[[str], bool] | None:
        """Which locations this replica lists for removed manifests; None: every one."""


class Elector(Protocol):
    """Leader election; calls the callbacks it was built with as leadership comes and goes."""

    def start(self) -> None:
        """Begin campaigning in the background."""

    def stop(self, timeout: float | None = None) -> None:
        """Stop leading (callback first), then release the lease; bounded by `timeout`."""


# Builds an elector given (on_started_leading, on_stopped_leading).
ElectorFactory = Callable[[Callable[[], None], Callable[[], None]], Elector]


@dataclass(frozen=True)
class ShardHooks:
    """What a shard elector asks of the runner; each must return quickly."""

    universe: Callable[[], frozenset[str]]  # every shard (location) the replica knows of
    busy: Callable[[str], bool]  # a reconcile of that shard is in flight
    # (held, newly acquired): called on the elector's thread after a pass changed what we hold.
    changed: Callable[[frozenset[str], frozenset[str]], None]


class ShardElector(Protocol):
    """Holds the leases of the shards this replica should hold (`run --shard-by location`)."""

    def start(self) -> None:
        """Begin the pass loop in the background."""

    def stop(self, timeout: float | None = None, *, release: bool = True) -> None:
        """Stop acting on every shard; release the leases (or let them expire) and leave."""

    def owns(self, shard: str) -> bool:
        """The shard's lease is ours, valid by our clock, and not being handed over."""

    def view(self) -> dict[str, Any]:
        """This replica, its shards and every shard's holder, for /status."""


ShardElectorFactory = Callable[[ShardHooks], ShardElector]


class Companion(Protocol):
    """A job that runs beside the reconcile loop (`run --promote`'s promoter): started after
    the loop, stopped before it, and shown in /status under `name`."""

    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...

    def status(self) -> dict[str, Any]: ...
