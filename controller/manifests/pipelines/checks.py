"""Pipelines checked against the rest of the tree: what a `kind: Pipeline` names must exist.

A pipeline that validates on its own can still be wrong about the tree it sits in: a stage naming
a target nobody defines, selecting no endpoint, or two stages (or two pipelines) claiming the same
endpoint or group. Each is a `file:line: path: message` at the field that is wrong, and, like any
other broken manifest, fails the load: nothing is planned, applied or promoted on a tree whose
pipeline does not say what its author meant. Stages are an ordered list, so a cycle cannot be
written.

Pure: works on loaded manifests, reads no files.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from controller.errors import ControllerError, Diagnostic
from controller.manifests.loaded import LoadedManifest, LoadedPipeline, matches
from controller.manifests.messages import render_path
from controller.manifests.models import RegistryModel
from controller.manifests.pipelines.model import PipelineManifest, Stage

Loc = tuple[str | int, ...]


def checked_fields(pipeline: PipelineManifest) -> list[Loc]:
    """The fields `problems` may point at, so loading can note their lines."""
    found: list[Loc] = [
        ("spec", "packageGroups", i) for i in range(len(pipeline.spec.package_groups))
    ]
    for index, stage in enumerate(pipeline.spec.stages):
        at: Loc = ("spec", "stages", index)
        found += [(*at, "name"), (*at, "endpoints")]
        if stage.shadow is not None:
            found.append((*at, "shadow"))
        if stage.after is not None:
            found.append((*at, "after"))
            found += [(*at, "after", j) for j in range(len(stage.after))]
        found += [(*at, "endpoints", "targets", j) for j in range(len(stage.endpoints.targets))]
    return found


def selects(stage: Stage, entry: LoadedManifest) -> bool:
    """Whether `entry` is one of the stage's endpoints (every kind of selector given matches)."""
    chosen = stage.endpoints
    return matches(entry, chosen.names, chosen.targets, chosen.match_labels)


def registry_variants(
    entry: LoadedManifest, *, shadows: bool = False
) -> list[tuple[str, RegistryModel]]:
    """(variant name, registry model) of the endpoint's production variants pinned to a
    registry version: what a stage's versions are read from (`shadows`: its shadow variants
    instead, a shadow gate's candidate)."""
    spec = entry.manifest.spec
    return [
        (v.name, v.model)
        for v in (spec.shadow_variants if shadows else spec.variants)
        if isinstance(v.model, RegistryModel)
    ]


def registry_components(entry: LoadedManifest) -> list[tuple[str, str, RegistryModel]]:
    """(component name, host variant, registry model) of the endpoint's inference components
    pinned to a registry version: a stage's versions are read from these too."""
    return [
        (c.name, c.variant, c.model)
        for c in entry.manifest.spec.inference_components
        if isinstance(c.model, RegistryModel)
    ]


def pinned_versions(entry: LoadedManifest, group: str, *, shadows: bool = False) -> list[int]:
    """The versions of `group` the endpoint pins: in its production variants and inference
    components (`shadows`: in its shadow variants, a shadow gate's candidate)."""
    found = [
        m.version for _, m in registry_variants(entry, shadows=shadows) if m.package_group == group
    ]
    if not shadows:
        found += [m.version for _, _, m in registry_components(entry) if m.package_group == group]
    return found


def groups_served(entry: LoadedManifest) -> set[str]:
    """The package groups the endpoint's production variants and inference components serve
    (as written)."""
    return {model.package_group for _, model in registry_variants(entry)} | {
        model.package_group for _, _, model in registry_components(entry)
    }


def stage_endpoints(
    pipeline: PipelineManifest, stage: Stage, endpoints: Sequence[LoadedManifest]
) -> list[LoadedManifest]:
    """The stage's endpoints that serve one of the pipeline's groups."""
    groups = set(pipeline.spec.package_groups)
    return [e for e in endpoints if selects(stage, e) and groups_served(e) & groups]


@dataclass(frozen=True)
class SelectedStage:
    """A stage named on the command line, its pipeline, and the endpoints it selects."""

    pipeline: PipelineManifest
    stage: Stage
    endpoints: list[LoadedManifest]


def select_stage(
    pipelines: Sequence[LoadedPipeline],
    manifests: Sequence[LoadedManifest],
    stage: str,
    pipeline: str | None = None,
) -> SelectedStage:
    """The one pipeline that has `stage` (and is named `pipeline`, when given), with the
    stage's endpoints; ControllerError naming what is missing or ambiguous."""
    found = [
        p.pipeline
        for p in pipelines
        if p.pipeline.stage(stage) is not None
        and (pipeline is None or p.pipeline.metadata.name == pipeline)
    ]
    if not found:
        which = f"pipeline {pipeline!r}" if pipeline else "any kind: Pipeline"
        raise ControllerError(f"no stage {stage!r} in {which} under the manifests")
    if len(found) > 1:
        names = ", ".join(sorted(p.metadata.name for p in found))
        raise ControllerError(f"stage {stage!r} is in several pipelines ({names}): add --pipeline")
    chosen = found[0].stage(stage)
    assert chosen is not None
    return SelectedStage(found[0], chosen, stage_endpoints(found[0], chosen, manifests))


def problems(
    pipelines: Sequence[LoadedPipeline],
    endpoints: Sequence[LoadedManifest],
    targets: Mapping[str, object] | Collection[str],
) -> list[Diagnostic]:
    """Every way the pipelines disagree with the endpoints and targets loaded beside them."""
    found: list[Diagnostic] = []
    names: dict[str, LoadedPipeline] = {}
    owners: dict[str, LoadedPipeline] = {}
    for loaded in pipelines:
        name = loaded.pipeline.metadata.name
        if name in names:
            first = names[name]
            message = f"pipeline {name!r} is also defined at {first.shown}:{first.line}"
            found.append(Diagnostic(loaded.shown, loaded.line, "metadata.name", message))
            continue
        names[name] = loaded
        found += _groups(loaded, endpoints, owners)
        found += _stages(loaded, endpoints, targets)
    return found


def _groups(
    loaded: LoadedPipeline,
    endpoints: Sequence[LoadedManifest],
    owners: dict[str, LoadedPipeline],
) -> list[Diagnostic]:
    found = []
    served = set().union(*(groups_served(e) for e in endpoints)) if endpoints else set()
    for index, group in enumerate(loaded.pipeline.spec.package_groups):
        path = render_path(("spec", "packageGroups", index))
        line = loaded.line_of(path)
        other = owners.setdefault(group, loaded)
        if other is not loaded:
            where = f"{other.shown}:{other.line}"
            message = (
                f"group {group!r} is already in pipeline {other.pipeline.metadata.name!r} ({where})"
            )
            found.append(Diagnostic(loaded.shown, line, path, message))
        elif group not in served:
            message = f"no endpoint in the manifests serves group {group!r}"
            found.append(Diagnostic(loaded.shown, line, path, message))
    return found


def _stages(
    loaded: LoadedPipeline,
    endpoints: Sequence[LoadedManifest],
    targets: Mapping[str, object] | Collection[str],
) -> list[Diagnostic]:
    found = _after(loaded)
    pipeline = loaded.pipeline
    claimed: dict[int, str] = {}
    for index, stage in enumerate(pipeline.spec.stages):
        at: Loc = ("spec", "stages", index, "endpoints")
        for j, target in enumerate(stage.endpoints.targets):
            if target not in targets:
                path = render_path((*at, "targets", j))
                message = f"unknown target {target!r} (no kind: Target defines it)"
                found.append(Diagnostic(loaded.shown, loaded.line_of(path), path, message))
        chosen = stage_endpoints(pipeline, stage, endpoints)
        path = render_path(at)
        if not chosen:
            groups = ", ".join(pipeline.spec.package_groups)
            message = f"stage {stage.name!r} selects no endpoint serving {groups}"
            found.append(Diagnostic(loaded.shown, loaded.line_of(path), path, message))
        if stage.shadow is not None:
            found += _shadowless(loaded, index, stage, chosen)
        for entry in chosen:
            earlier = claimed.setdefault(id(entry), stage.name)
            if earlier != stage.name:
                message = (
                    f"endpoint {entry.manifest.metadata.name!r} ({entry.shown}) is also in stage "
                    f"{earlier!r}: a version is in one stage at a time"
                )
                found.append(Diagnostic(loaded.shown, loaded.line_of(path), path, message))
    return found


def _shadowless(
    loaded: LoadedPipeline, index: int, stage: Stage, chosen: Sequence[LoadedManifest]
) -> list[Diagnostic]:
    """A shadow gate needs production variants to shadow: an endpoint serving the pipeline's
    groups through inference components has none (SageMaker has no shadow component)."""
    groups = set(loaded.pipeline.spec.package_groups)
    hosting = [
        e.manifest.metadata.name
        for e in chosen
        if any(model.package_group in groups for _, _, model in registry_components(e))
    ]
    if not hosting:
        return []
    path = render_path(("spec", "stages", index, "shadow"))
    message = (
        f"stage {stage.name!r} has a shadow gate, but {', '.join(sorted(hosting))} serve(s) the "
        "group through inference components, which have no shadow variant: verify them "
        "without a shadow"
    )
    return [Diagnostic(loaded.shown, loaded.line_of(path), path, message)]


def _after(loaded: LoadedPipeline) -> list[Diagnostic]:
    """Every `after` names a stage of the pipeline, and following them never comes back."""
    found = []
    pipeline = loaded.pipeline
    names = {s.name for s in pipeline.spec.stages}
    for index, stage in enumerate(pipeline.spec.stages):
        for j, name in enumerate(stage.after or []):
            path = render_path(("spec", "stages", index, "after", j))
            if name not in names:
                message = f"unknown stage {name!r} (stages: {', '.join(sorted(names))})"
                found.append(Diagnostic(loaded.shown, loaded.line_of(path), path, message))
    cycle = pipeline.cycle()
    if cycle and not found:
        index = next(i for i, s in enumerate(pipeline.spec.stages) if s.name == cycle[0])
        path = render_path(("spec", "stages", index, "after"))
        if pipeline.spec.stages[index].after is None:  # the cycle runs through a default
            path = render_path(("spec", "stages", index, "name"))
        message = f"stages {' -> '.join(cycle)} form a cycle: a version could never enter them"
        found.append(Diagnostic(loaded.shown, loaded.line_of(path), path, message))
    return found
