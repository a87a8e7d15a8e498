"""A snapshot: one consistent read of the manifest tree, keyed by endpoint.

Keys are `location/name`, because an endpoint name is unique only within an account and region;
the location is the endpoint's region, or its deployment target's name (`core.locations`).
The service compares snapshots by per-endpoint fingerprint, so a change to one manifest touches
only that endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.core.locations import location_of
from controller.core.naming import content_hash
from controller.errors import Diagnostic

if TYPE_CHECKING:  # annotations only: commands import this module before they load manifests
    from controller.manifests.loaded import LoadedPipeline
    from controller.manifests.loading import LoadedManifest, LoadResult
    from controller.manifests.repoconfig import RepoConfig
    from controller.manifests.targets import TargetSpec


def _no_config() -> RepoConfig:
    from controller.manifests.repoconfig import RepoConfig

    return RepoConfig()


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
    config: RepoConfig = field(default_factory=_no_config)
    """The manifest root's ``.sagemaker-gitops.yaml`` (defaults when there is none)."""
    targets: dict[str, TargetSpec] = field(default_factory=dict)
    """Deployment targets defined in the manifests, by name."""
    target_sources: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Where each target is defined (file, line), for errors about the target itself."""
    pipelines: tuple[LoadedPipeline, ...] = ()
    """`kind: Pipeline` documents (stages), for `status` and `verify`."""
    target_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """Each target's `metadata.labels` (a stage deploying to a prod target is not
    auto-promoted unless it says so)."""

    @classmethod
    def build(
        cls, result: LoadResult, revision: str | None, default_region: Callable[[], str]
    ) -> Snapshot:
        """Key every manifest by region and name, the default region filled in.

        Loading already refuses two manifests with the same name and the same ``spec.region``;
        only here, with the default region known, can one with ``spec.region: us-east-1`` and
        one without it (deploying to us-east-1 by default) be seen to name the same endpoint.
        Both are then left out and reported, as loading does: deploying either would let the
        other's changes be silently lost.
        """
        groups: dict[str, list[LoadedManifest]] = {}
        region: str | None = None

        def default() -> str:
            nonlocal region
            region = region or default_region()  # asked once, and only when needed
            return region

        for loaded in result.manifests:
            # SageMaker endpoint names are case-insensitive within an account and region.
            key = endpoint_key(
                location_of(loaded.manifest, default), loaded.manifest.metadata.name.lower()
            )
            groups.setdefault(key, []).append(loaded)
        entries: dict[str, LoadedManifest] = {}
        problems: list[Diagnostic] = []
        for group in groups.values():
            if len(group) == 1:
                only = group[0]
                location = location_of(only.manifest, default)
                entries[endpoint_key(location, only.manifest.metadata.name)] = only
            else:
                problems.extend(_defined_twice(group, region or ""))
        diagnostics = (*result.diagnostics, *problems)
        ok = result.ok and not problems
        targets = {name: t.target.spec for name, t in result.targets.items()}
        files = tuple(result.files)
        sources = {name: (t.source, t.line) for name, t in result.targets.items()}
        pipelines = tuple(result.pipelines)
        labels = {name: dict(t.target.metadata.labels) for name, t in result.targets.items()}
        return cls(
            revision,
            ok,
            diagnostics,
            entries,
            files,
            result.config,
            targets,
            sources,
            pipelines,
            labels,
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
        # A rendered endpoint's manifest holds its templates' values, so editing a template
        # changes the fingerprint of exactly the endpoints extending it; the chain itself (which
        # templates, in which files) is covered too.
        source = _rendered_source(entry)
        if target is None:
            return content_hash(source, entry.manifest.model_dump(mode="json"))
        # A changed target (role, account) is an edit of every endpoint deployed through it.
        dumped = (entry.manifest.model_dump(mode="json"), target.model_dump(mode="json"))
        return content_hash(source, dumped)

    def suspended(self, key: str) -> bool:
        entry = self.entries.get(key)
        return bool(entry and entry.manifest.spec.suspend)

    def regions(self) -> set[str]:
        """Locations to look at: every endpoint's, and every target (so pruning finds an owned
        endpoint whose manifest was the last one deploying to its target)."""
        return {split_key(k)[0] for k in self.entries} | set(self.targets)


def _rendered_source(entry: LoadedManifest) -> str:
    """The entry's file, and for a rendered endpoint its template chain and their files."""
    if entry.rendering is None:
        return entry.source
    chain = ",".join(f"{layer.name}@{layer.source}" for layer in entry.rendering.layers[:-1])
    return f"{entry.source}|{chain}"


def _defined_twice(group: Sequence[LoadedManifest], default_region: str) -> list[Diagnostic]:
    """One diagnostic per manifest of an endpoint defined more than once, naming the others."""
    problems = []
    for entry in group:
        shown = entry.shown or entry.source
        others = ", ".join(
            f"{o.shown or o.source}:{o.name_line or o.line}" for o in group if o is not entry
        )
        if entry.manifest.spec.target is not None:
            where = f"target {entry.manifest.spec.target}"
        elif entry.manifest.spec.region is None:
            where = f"the default region {default_region}"
        else:
            where = f"region {entry.manifest.spec.region}"
        message = (
            f"endpoint {entry.manifest.metadata.name!r} in {where} is also defined at {others}"
        )
        problems.append(Diagnostic(shown, entry.name_line or entry.line, "metadata.name", message))
    return problems
