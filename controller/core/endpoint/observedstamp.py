"""The `sagemaker-gitops/observed` stamp: when an endpoint was last seen settled and in sync,
so a cold plan can trust it from a listing instead of describing it.

Pure. A pull request's plan starts cold (a new process): without the stamp it describes every
endpoint, N calls where the listings alone are about N/100. SageMaker moves an endpoint's
LastModifiedTime on every update, weights or capacity change and status change, and tags do not
move it. So an endpoint whose ListEndpoints entry shows InService at the stamped time, and whose
tags still say the manifest (spec hash) and the config (attempted-config) the controller would
deploy now, is as it was when it was last seen in sync: its description is what the manifest
says. Anything else (a hand change, an autoscaling event, a new manifest, a new controller
version computing another config) is described as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.core import tagging
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.livestate import LiveEndpoint, LiveVariant
from controller.core.plan.plans import EndpointPlan, Health, Status


def due(
    plan: EndpointPlan,
    desired: DesiredEndpoint,
    live: LiveEndpoint | None,
    tags: Mapping[str, str] | None,
) -> str | None:
    """The LastModifiedTime to stamp after a reconcile that found nothing to do, when a change
    the controller made has settled; None otherwise."""
    if live is None or plan.status is not Status.UNCHANGED or plan.actions or plan.deferred:
        return None
    if plan.health is not Health.HEALTHY or live.status != "InService" or not live.last_modified:
        return None
    have = tags or {}
    if not _in_sync(desired, have) or live.config_name != desired.config_name:
        return None
    # Only a change the controller made is stamped (its update set "pending"): a no-op pass
    # never writes, so an autoscaling event or a hand change is described, not re-stamped.
    return live.last_modified if have.get(tagging.OBSERVED) == tagging.OBSERVED_PENDING else None


def trusted(
    desired: DesiredEndpoint, arn: str, tags: Mapping[str, str], listed: tuple[str, str] | None
) -> LiveEndpoint | None:
    """The endpoint as the manifest says, when its listing (status, LastModifiedTime) matches
    the stamp and its tags still match the manifest; None: describe it."""
    stamp = tags.get(tagging.OBSERVED)
    if not stamp or listed != ("InService", stamp) or not _in_sync(desired, tags):
        return None
    serverless = {v.name for v in desired.manifest.spec.variants if v.serverless is not None}
    variants = tuple(
        LiveVariant(name, weight, count, name in serverless)
        for name, (weight, count) in desired.weights.items()
    )
    return LiveEndpoint(
        name=desired.name,
        arn=arn,
        status="InService",
        config_name=desired.config_name,
        variants=variants,
        last_modified=stamp,
    )


def _in_sync(desired: DesiredEndpoint, tags: Mapping[str, str]) -> bool:
    return (
        tags.get(tagging.SPEC_HASH) == desired.spec_hash
        and tags.get(tagging.ATTEMPTED_CONFIG) == desired.config_name
        and tagging.FAILED_CONFIG not in tags
    )
