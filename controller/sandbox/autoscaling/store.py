"""What Application Auto Scaling holds: scalable targets, scaling policies, scheduled actions.

The sandbox keeps these itself rather than in moto's backend, because moto 5.2.5 rejects the
`sagemaker:inference-component:DesiredCopyCount` dimension, ignores Tags on
RegisterScalableTarget and has no ListTagsForResource, lets policies exist without a target,
keeps policies and scheduled actions after their target is deregistered, and pages
DescribeScalableTargets wrongly. One `ScalingStore` per account and region, in insertion
order, which is the order Describe* calls list them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TargetKey = tuple[str, str, str]
"""(ServiceNamespace, ResourceId, ScalableDimension): what identifies a scalable target."""


@dataclass
class ScalableTarget:
    key: TargetKey
    arn: str
    min_capacity: int
    max_capacity: int
    role_arn: str
    created_at: float
    suspended: dict[str, bool]
    tags: dict[str, str] = field(default_factory=dict)
    resource_created: Any = None
    """Creation time of the SageMaker resource when registered: a resource deleted and made
    again under the same name is a different resource, whose target AWS has deregistered."""


@dataclass
class ScalingPolicy:
    key: TargetKey
    name: str
    arn: str
    policy_type: str
    configuration: dict[str, Any]
    """The request's *PolicyConfiguration member for the type, as sent."""
    created_at: float
    alarms: list[dict[str, str]] = field(default_factory=list)
    """AlarmName/AlarmARN of the CloudWatch alarms a target-tracking policy made."""


@dataclass
class ScheduledAction:
    key: TargetKey
    name: str
    arn: str
    fields: dict[str, Any]
    """Schedule, Timezone, StartTime, EndTime, ScalableTargetAction: what was set."""
    created_at: float


@dataclass
class ScalingStore:
    """Application Auto Scaling's state in one account and region."""

    targets: dict[TargetKey, ScalableTarget] = field(default_factory=dict)
    policies: dict[tuple[TargetKey, str], ScalingPolicy] = field(default_factory=dict)
    actions: dict[tuple[TargetKey, str], ScheduledAction] = field(default_factory=dict)

    def target_by_arn(self, arn: str) -> ScalableTarget | None:
        return next((t for t in self.targets.values() if t.arn == arn), None)

    def drop_target(self, key: TargetKey) -> list[ScalingPolicy]:
        """Deregister: the target goes with its policies and scheduled actions, as in AWS.

        Returns the dropped policies so their alarms can be deleted too.
        """
        self.targets.pop(key, None)
        dropped = [p for k, p in self.policies.items() if k[0] == key]
        for policy in dropped:
            del self.policies[(key, policy.name)]
        for action_key in [k for k in self.actions if k[0] == key]:
            del self.actions[action_key]
        return dropped


class ScalingStates:
    """One ScalingStore per (account, region), made on first use."""

    def __init__(self) -> None:
        self._stores: dict[tuple[str, str], ScalingStore] = {}

    def of(self, account: str, region: str) -> ScalingStore:
        store = self._stores.get((account, region))
        if store is None:
            store = self._stores[(account, region)] = ScalingStore()
        return store
