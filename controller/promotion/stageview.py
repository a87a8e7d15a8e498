"""Where each pipeline stands: per stage, the version its manifests pin and the verdict that
stage recorded on it in the Model Registry (`status` prints it; `verify --record` writes it).

The pins come from the manifests alone (pure, `stage_pins`); the verdicts are read with the
stage's own read-only client (`with_verdicts`), one listing and one describe per stage, so a
status of a few pipelines stays a handful of calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from controller.aws import registry
from controller.aws.stages import verdicts
from controller.errors import ControllerError
from controller.manifests.loaded import LoadedManifest, LoadedPipeline
from controller.manifests.pipelines.checks import pinned_versions, stage_endpoints


@dataclass(frozen=True)
class StagePin:
    """One stage's pinned version(s) of one group, and what the registry says of it."""

    pipeline: str
    stage: str
    group: str
    versions: tuple[int, ...]
    """More than one while a promotion is half written (endpoints disagree)."""
    location: str
    """Where the stage's first endpoint deploys: whose client reads the registry."""
    verdict: str = ""
    """`Verified 2026-...`, `Failed ...`, `-` (none recorded), or why it could not be read."""

    def as_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "stage": self.stage,
            "group": self.group,
            "versions": list(self.versions),
            "verdict": self.verdict,
        }


def stage_pins(
    pipelines: Sequence[LoadedPipeline],
    manifests: Sequence[LoadedManifest],
    location_of: Callable[[LoadedManifest], str],
) -> list[StagePin]:
    """Every (pipeline, stage, group) in pipeline order, with the versions its endpoints pin."""
    found = []
    for loaded in pipelines:
        pipeline = loaded.pipeline
        for stage in pipeline.ordered():
            endpoints = stage_endpoints(pipeline, stage, manifests)
            for group in pipeline.spec.package_groups:
                versions = sorted({v for e in endpoints for v in pinned_versions(e, group)})
                if versions:
                    where = location_of(endpoints[0])
                    found.append(
                        StagePin(pipeline.metadata.name, stage.name, group, tuple(versions), where)
                    )
    return found


def with_verdicts(pins: Sequence[StagePin], sagemaker: Callable[[str], Any]) -> list[StagePin]:
    """The pins with each stage's recorded verdict on its (single) pinned version."""
    listings: dict[tuple[str, str], dict[int, Any]] = {}
    out = []
    for pin in pins:
        if len(pin.versions) != 1:
            out.append(replace(pin, verdict="mixed: a promotion is half written"))
            continue
        try:
            client = sagemaker(pin.location)
            key = (pin.location, pin.group)
            if key not in listings:
                listings[key] = registry.list_versions(client, pin.group)
            version = listings[key].get(pin.versions[0])
            if version is None:
                out.append(replace(pin, verdict="not in the registry"))
                continue
            verdict = verdicts.verdicts(client, version.arn).get(pin.stage)
        except ControllerError as e:
            out.append(replace(pin, verdict=f"unknown ({e})"))
            continue
        text = f"{verdict.status} {verdict.at}".strip() if verdict else "-"
        out.append(replace(pin, verdict=text))
    return out
