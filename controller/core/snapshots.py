"""A snapshot: one consistent read of the manifest tree, keyed by endpoint.

Keys are `region/name`, because an endpoint name is unique only within an account and region.
The service compares snapshots by per-endpoint fingerprint, so a change to one manifest touches
only that endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.core.naming import content_hash
from controller.errors import Diagnostic

if TYPE_CHECKING:  # annotations only: commands import this module before they load manifests
    from controller.manifests.loading import LoadedManifest, LoadResult


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

    @classmethod
    def build(
        cls, result: LoadResult, revision: str | None, default_region: Callable[[], str]
    ) -> Snapshot:
        entries: dict[str, LoadedManifest] = {}
        region: str | None = None
        for loaded in result.manifests:
            if loaded.manifest.spec.region is None and region is None:
                region = default_region()
            key = endpoint_key(
                loaded.manifest.spec.region or region or "", loaded.manifest.metadata.name
            )
            entries[key] = loaded
        return cls(revision, result.ok, tuple(result.diagnostics), entries, tuple(result.files))

    def keys(self) -> list[str]:
        return sorted(self.entries)

    def entry(self, key: str) -> LoadedManifest | None:
        return self.entries.get(key)

    def fingerprint(self, key: str) -> str | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        return content_hash(entry.source, entry.manifest.model_dump(mode="json"))

    def suspended(self, key: str) -> bool:
        entry = self.entries.get(key)
        return bool(entry and entry.manifest.spec.suspend)

    def regions(self) -> set[str]:
        return {split_key(k)[0] for k in self.entries}
