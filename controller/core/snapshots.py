"""A snapshot: one consistent read of the manifest tree, keyed by endpoint.

Keys are `location/name`, because an endpoint name is unique only within an account and region;
the location is the endpoint's region, or its deployment target's name (`core.locations`).
The service compares snapshots by per-endpoint fingerprint, so a change to one manifest touches
only that endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from controller.core.locations import location_of
from controller.core.naming import content_hash
from controller.errors import Diagnostic
from controller.manifests.loading import LoadedManifest, LoadResult
from controller.manifests.targets import TargetSpec


def endpoint_key(region: str, name: str) -> str:
    return f"{region}/{name}"


def split_key(key: str) -> tuple[str, str]:
    region, _, name = key.partition("/")
    return region, name


@dataclass(frozen=True)
class Snapshot:
    revision: str | None
    ok: bool
    diagnostics: Sequence[Diagnostic]
    entries: dict[str, LoadedManifest] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    targets: dict[str, TargetSpec] = field(default_factory=dict)
    """Deployment targets defined in the manifests, by name."""

    @classmethod
    def build(
        cls, result: LoadResult, revision: str | None, default_region: Callable[[], str]
    ) -> Snapshot:
        entries: dict[str, LoadedManifest] = {}
        region: str | None = None

        def default() -> str:
            nonlocal region
            region = region or default_region()  # asked once, and only when needed
            return region

        for loaded in result.manifests:
            location = location_of(loaded.manifest, default)
            entries[endpoint_key(location, loaded.manifest.metadata.name)] = loaded
        targets = {name: t.target.spec for name, t in result.targets.items()}
        return cls(
            revision, result.ok, tuple(result.diagnostics), entries, tuple(result.files), targets
        )

    def keys(self) -> list[str]:
        return sorted(self.entries)

    def entry(self, key: str) -> LoadedManifest | None:
        return self.entries.get(key)

    def fingerprint(self, key: str) -> str | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        target = self.targets.get(split_key(key)[0])
        if target is None:
            return content_hash(entry.source, entry.manifest.model_dump(mode="json"))
        # A changed target (role, account) is an edit of every endpoint deployed through it.
        dumped = (entry.manifest.model_dump(mode="json"), target.model_dump(mode="json"))
        return content_hash(entry.source, dumped)

    def suspended(self, key: str) -> bool:
        entry = self.entries.get(key)
        return bool(entry and entry.manifest.spec.suspend)

    def regions(self) -> set[str]:
        """Locations to look at: every endpoint's, and every target (so pruning finds an owned
        endpoint whose manifest was the last one deploying to its target)."""
        return {split_key(k)[0] for k in self.entries} | set(self.targets)
