"""`autoRollbackConfiguration.fromPipeline` resolved against the tree: which stage's checks an
endpoint's rollback alarms are generated from.

An endpoint opts in by naming the pipeline, rather than a stage switching alarms on for every
endpoint it selects: a tree loaded in part (`plan prod/`) that misses the pipeline then fails
the load at the endpoint's line, as a missing template does, instead of planning the alarms
away. Pure: works on loaded manifests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from controller.errors import Diagnostic
from controller.manifests.loaded import LoadedManifest, LoadedPipeline
from controller.manifests.pipelines.checks import registry_variants, stage_endpoints
from controller.manifests.pipelines.model import Stage, StageAlarms

FIELD = "spec.deployment.autoRollbackConfiguration.fromPipeline"
LOC = ("spec", "deployment", "autoRollbackConfiguration", "fromPipeline")
MAX_ALARMS = 10
"""AutoRollbackConfig.Alarms holds at most 10 (botocore's SageMaker model)."""


def alarm_count(alarms: StageAlarms) -> int:
    """Alarms the stage's checks make for the endpoint: one per check, bound and variant."""
    return len(alarms.bounds()) * len(alarms.variants)


def asking(manifests: Sequence[LoadedManifest]) -> list[LoadedManifest]:
    """The endpoints that name a pipeline (most trees have none: then nothing more is done)."""
    found = []
    for entry in manifests:
        deployment = entry.manifest.spec.deployment
        rollback = deployment.auto_rollback_configuration if deployment else None
        if rollback is not None and rollback.from_pipeline is not None:
            found.append(entry)
    return found


def resolve(
    pipelines: Sequence[LoadedPipeline],
    manifests: Sequence[LoadedManifest],
    line_of: Callable[[LoadedManifest], int],
) -> tuple[dict[int, StageAlarms], list[Diagnostic]]:
    """id(entry) -> its StageAlarms for every endpoint naming a pipeline, and what is wrong."""
    found: dict[int, StageAlarms] = {}
    problems: list[Diagnostic] = []
    named = asking(manifests)
    if not named:
        return found, problems
    by_name = {p.pipeline.metadata.name: p.pipeline for p in pipelines}
    stage_of: dict[tuple[str, int], Stage] = {}  # (pipeline, id(entry)) -> its stage
    for each in by_name.values():
        for candidate in each.spec.stages:
            for chosen in stage_endpoints(each, candidate, manifests):
                stage_of.setdefault((each.metadata.name, id(chosen)), candidate)
    for entry in named:
        deployment = entry.manifest.spec.deployment
        rollback = deployment.auto_rollback_configuration if deployment else None
        assert rollback is not None and rollback.from_pipeline is not None
        name, endpoint = rollback.from_pipeline, entry.manifest.metadata.name

        def problem(message: str, entry: LoadedManifest = entry) -> None:
            problems.append(Diagnostic(entry.shown, line_of(entry), FIELD, message))

        pipeline = by_name.get(name)
        if pipeline is None:
            problem(f"no kind: Pipeline named {name!r} among the manifests loaded")
            continue
        stage = stage_of.get((name, id(entry)))
        if stage is None:
            problem(f"endpoint {endpoint!r} is in no stage of pipeline {name!r}")
            continue
        if stage.verification is None:
            problem(
                f"endpoint {endpoint!r} is in stage {stage.name!r} of pipeline {name!r}, which "
                "has no verification: no checks to make alarms of"
            )
            continue
        groups = set(pipeline.spec.package_groups)
        variants = tuple(v for v, m in registry_variants(entry) if m.package_group in groups)
        alarms = StageAlarms(name, stage.name, stage.verification, variants)
        total = len(rollback.alarms) + alarm_count(alarms)
        if total > MAX_ALARMS:
            problem(
                f"{len(rollback.alarms)} alarm(s) named here and {alarm_count(alarms)} from stage "
                f"{stage.name!r}'s checks make {total}: SageMaker takes at most {MAX_ALARMS}"
            )
            continue
        found[id(entry)] = alarms
    return found, problems
