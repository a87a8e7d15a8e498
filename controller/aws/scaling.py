"""Reading Application Auto Scaling: every SageMaker target of a region in one pass (variants'
instance counts and inference components' copy counts).

Read-only. A pass costs one paged DescribeScalableTargets per region (namespace sagemaker), and,
only when some target exists, one paged DescribeScalingPolicies (10 policies a page) and one
paged DescribeScheduledActions: never a call per endpoint. Targets' tags are not in those answers;
ListTagsForResource is called only for a target the controller is about to change.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from controller.aws.components import autoscaled_components
from controller.aws.reading import call, translated
from controller.core.scaling import model as scaling
from controller.core.scaling.model import LiveTarget, ScalingSet, ScalingState

# The largest MaxResults each API allows: fewer pages per pass.
PAGE = {
    "describe_scalable_targets": 50,
    "describe_scaling_policies": 10,
    "describe_scheduled_actions": 50,
}


def read_scaling(client: Any) -> ScalingState:
    every = _pages(client, "describe_scalable_targets", "ScalableTargets")
    components = autoscaled_components(every)  # a target owns their copy counts
    targets = [t for t in every if t.get("ScalableDimension") in scaling.DIMENSIONS]
    if not targets:
        return ScalingState(components=components)
    policies: dict[str, dict[str, Any]] = defaultdict(dict)
    for p in _pages(client, "describe_scaling_policies", "ScalingPolicies"):
        if p.get("ScalableDimension") in scaling.DIMENSIONS:
            policies[p["ResourceId"]][p["PolicyName"]] = p
    actions: dict[str, dict[str, Any]] = defaultdict(dict)
    for a in _pages(client, "describe_scheduled_actions", "ScheduledActions"):
        if a.get("ScalableDimension") in scaling.DIMENSIONS:
            actions[a["ResourceId"]][a["ScheduledActionName"]] = a
    found = {
        t["ResourceId"].lower(): LiveTarget(
            resource_id=t["ResourceId"],
            arn=t.get("ScalableTargetARN", ""),
            scaling=ScalingSet(
                int(t["MinCapacity"]),
                int(t["MaxCapacity"]),
                policies.get(t["ResourceId"], {}),
                actions.get(t["ResourceId"], {}),
            ),
        )
        for t in targets
    }
    return ScalingState(found, components)


def _pages(client: Any, operation: str, key: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator(operation)
    pages = paginator.paginate(
        ServiceNamespace=scaling.NAMESPACE, PaginationConfig={"PageSize": PAGE[operation]}
    )
    with translated(operation):
        return [item for page in pages for item in page.get(key, [])]


def target_tags(client: Any, arn: str) -> dict[str, str]:
    """The target's tags; {} for a target registered without any (or without an ARN)."""
    if not arn:
        return {}
    found = call(client, "list_tags_for_resource", ResourceARN=arn)
    return {str(k): str(v) for k, v in (found.get("Tags") or {}).items()}
