"""The SageMaker resources behind scalable targets: checked at registration, followed on delete.

Application Auto Scaling looks the resource up when a SageMaker variant or inference component
is registered, and deregisters a variant's target when its endpoint is deleted (AWS documents
this for DeleteEndpoint). The sandbox does the second lazily: before a scaling call, or an
UpdateEndpoint, reads the targets, those whose endpoint, variant or component is gone (or was
deleted and made again) are dropped with their policies, scheduled actions and alarms.
"""

from __future__ import annotations

from typing import Any

from controller.sandbox.autoscaling.store import TargetKey
from controller.sandbox.cloudwatch.alarms import delete_alarms
from controller.sandbox.components.states import RESOURCE_TYPE as COMPONENT
from controller.sandbox.context import Context, Handler
from controller.sandbox.errors import validation_error

MISSING = object()
"""What `created` answers for a SageMaker resource that does not exist."""


def created(ctx: Context, key: TargetKey) -> Any:
    """Creation time of a target's SageMaker variant/component, MISSING, or None (not SageMaker)."""
    namespace, resource, _ = key
    if namespace != "sagemaker":
        return None
    parts = resource.split("/")
    if parts[0] == COMPONENT:
        component = ctx.state.components.get(ctx.arn(COMPONENT, parts[1]))
        return MISSING if component is None else component.created_at
    endpoint = ctx.state.endpoints.settle(ctx.backend, parts[1])
    if endpoint is None or all(v["VariantName"] != parts[3] for v in endpoint.production_variants):
        return MISSING
    return endpoint.creation_time


def check_resource(ctx: Context, key: TargetKey) -> Any:
    """The creation time to remember for a new target; a missing resource is refused."""
    stamp = created(ctx, key)
    if stamp is MISSING:
        raise validation_error(f"The resource {key[1]} does not exist in SageMaker.")
    return stamp


def drop_orphans(ctx: Context) -> None:
    """Deregister targets whose endpoint, variant or component has been deleted."""
    for key, target in list(ctx.scaling.targets.items()):
        if created(ctx, key) != target.resource_created:
            for policy in ctx.scaling.drop_target(key):
                delete_alarms(ctx, policy)


def following_deletions(handler: Handler) -> Handler:
    """A scaling handler that first forgets targets of deleted SageMaker resources."""

    def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
        drop_orphans(ctx)
        return handler(ctx, params)

    return run
