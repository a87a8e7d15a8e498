"""The resource kinds the controller manages, in one table (gitops-engine's ``kindOrder``).

Every mechanism that treats kinds differently reads its row here instead of naming kinds: the
apply and delete order, the API operations that describe and delete a resource, how it is found
in the owned-resource index and how its ARN is spelled, whether a description may be cached for
the life of the process, and whether superseded instances are garbage-collected. The reconciler,
`applying` and `reading` iterate this table. Adding a kind means adding a row here, its diff in
`core`, its reads and writes in `aws`, and nothing in the reconciler (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from controller.core.plan.plans import Action, Op, Reason, ResourceType


@dataclass(frozen=True)
class Kind:
    """One row of the table."""

    type: ResourceType
    # The ARN resource segment (`arn:aws:sagemaker:...:<segment>/<name>`), also the kind's key in
    # the owned-resource index.
    segment: str
    # Resource type in the Resource Groups Tagging API; the index is one query over these. None:
    # not in the index (autoscaling kinds: their reads are one Describe* per region per pass).
    tagging_type: str | None
    # The request key that names the resource in its Create/Describe/Delete calls.
    name_param: str
    describe_call: str
    delete_call: str
    # Content-addressed, never changed in place: a description is cached for the process.
    immutable: bool
    # Apply phase per operation, on one scale shared by every kind: lower runs first. Creates
    # follow references (a Model before the EndpointConfig naming it before the Endpoint) and
    # deletes run in reverse.
    order: Mapping[Op, int]
    # The boto3 service that serves the kind's calls.
    service: str = "sagemaker"

    @property
    def history(self) -> bool:
        """Superseded instances are kept for rollback, then garbage-collected."""
        return self.immutable


MODEL = Kind(
    type=ResourceType.MODEL,
    segment="model",
    tagging_type="sagemaker:model",
    name_param="ModelName",
    describe_call="describe_model",
    delete_call="delete_model",
    immutable=True,
    order=MappingProxyType({Op.CREATE: 0, Op.TAG: 20, Op.DELETE: 70}),
)
ENDPOINT_CONFIG = Kind(
    type=ResourceType.ENDPOINT_CONFIG,
    segment="endpoint-config",
    tagging_type="sagemaker:endpoint-config",
    name_param="EndpointConfigName",
    describe_call="describe_endpoint_config",
    delete_call="delete_endpoint_config",
    immutable=True,
    order=MappingProxyType({Op.CREATE: 10, Op.TAG: 20, Op.DELETE: 60}),
)
ENDPOINT = Kind(
    type=ResourceType.ENDPOINT,
    segment="endpoint",
    tagging_type="sagemaker:endpoint",
    name_param="EndpointName",
    describe_call="describe_endpoint",
    delete_call="delete_endpoint",
    immutable=False,
    # Tag edits land before the update that they describe (the attempted-config tag must be on
    # the endpoint before a rollout can fail); the endpoint goes before what it points at.
    order=MappingProxyType({Op.TAG: 30, Op.CREATE: 40, Op.UPDATE: 40, Op.DELETE: 50}),
)

# Application Auto Scaling. Deregistration (actions, policies, then the target) runs before the
# endpoint is updated or deleted: SageMaker refuses to remove or retype a registered variant.
# Registration runs after everything else, and is planned only for an InService endpoint.
AUTOSCALING = "application-autoscaling"
SCHEDULED_ACTION = Kind(
    type=ResourceType.SCHEDULED_ACTION,
    segment="scheduled-action",
    tagging_type=None,
    name_param="ScheduledActionName",
    describe_call="describe_scheduled_actions",
    delete_call="delete_scheduled_action",
    immutable=False,
    order=MappingProxyType({Op.DELETE: 35, Op.CREATE: 86, Op.UPDATE: 86}),
    service=AUTOSCALING,
)
SCALING_POLICY = Kind(
    type=ResourceType.SCALING_POLICY,
    segment="scaling-policy",
    tagging_type=None,
    name_param="PolicyName",
    describe_call="describe_scaling_policies",
    delete_call="delete_scaling_policy",
    immutable=False,
    order=MappingProxyType({Op.DELETE: 36, Op.CREATE: 85, Op.UPDATE: 85}),
    service=AUTOSCALING,
)
SCALABLE_TARGET = Kind(
    type=ResourceType.SCALABLE_TARGET,
    segment="scalable-target",
    tagging_type=None,
    name_param="ResourceId",
    describe_call="describe_scalable_targets",
    delete_call="deregister_scalable_target",
    immutable=False,
    order=MappingProxyType({Op.DELETE: 37, Op.CREATE: 80, Op.UPDATE: 80}),
    service=AUTOSCALING,
)

INFERENCE_COMPONENT = Kind(
    type=ResourceType.INFERENCE_COMPONENT,
    segment="inference-component",
    tagging_type="sagemaker:inference-component",
    name_param="InferenceComponentName",
    describe_call="describe_inference_component",
    delete_call="delete_inference_component",
    immutable=False,  # named by the user and updated in place
    # Created once the endpoint is InService (after its Models exist); deleted before the
    # endpoint that hosts it and the Models it runs. Its tags, like the endpoint's, land before
    # the update they describe (the attempted-spec tag).
    order=MappingProxyType({Op.TAG: 30, Op.CREATE: 45, Op.UPDATE: 45, Op.DELETE: 48}),
)

# CloudWatch: the alarm that runs a component's scale-out-from-zero step policy. Put after the
# policy (its AlarmActions name the policy's ARN) and deleted before it; read with one
# DescribeAlarms by name prefix per region, not through the owned index.
CLOUDWATCH = "cloudwatch"
ALARM = Kind(
    type=ResourceType.ALARM,
    segment="alarm",
    tagging_type=None,
    name_param="AlarmName",
    describe_call="describe_alarms",
    delete_call="delete_alarms",
    immutable=False,
    order=MappingProxyType({Op.DELETE: 34, Op.CREATE: 87, Op.UPDATE: 87}),
    service=CLOUDWATCH,
)

# CloudWatch: an alarm generated from a pipeline stage's check, watched by the endpoint's
# deployments. Put before the rollout whose DeploymentConfig names it (after the endpoint's tags,
# before its update), deleted after the rollout that stops naming it; read with one
# DescribeAlarms by the endpoint's name prefix per rollout, not through the owned index.
ROLLBACK_ALARM = Kind(
    type=ResourceType.ROLLBACK_ALARM,
    segment="rollback-alarm",
    tagging_type=None,
    name_param="AlarmName",
    describe_call="describe_alarms",
    delete_call="delete_alarms",
    immutable=False,
    order=MappingProxyType({Op.CREATE: 38, Op.UPDATE: 38, Op.DELETE: 52}),
    service=CLOUDWATCH,
)

KINDS: tuple[Kind, ...] = (
    MODEL,
    ENDPOINT_CONFIG,
    ENDPOINT,
    INFERENCE_COMPONENT,
    SCALABLE_TARGET,
    SCALING_POLICY,
    SCHEDULED_ACTION,
    ALARM,
    ROLLBACK_ALARM,
)

_BY_TYPE = {k.type: k for k in KINDS}
_BY_SEGMENT = {k.segment: k for k in KINDS}


def kind_of(resource_type: ResourceType) -> Kind:
    return _BY_TYPE[resource_type]


def by_segment(segment: str) -> Kind | None:
    """The kind an ARN segment or index key names; None for resources we do not manage."""
    return _BY_SEGMENT.get(segment)


def apply_order() -> dict[tuple[Op, ResourceType], int]:
    """(operation, kind) -> phase, for every operation some kind supports."""
    return {(op, k.type): phase for k in KINDS for op, phase in k.order.items()}


def indexed_kinds() -> tuple[Kind, ...]:
    """Kinds found through the Resource Groups Tagging API index."""
    return tuple(k for k in KINDS if k.tagging_type is not None)


def history_kinds() -> tuple[Kind, ...]:
    """Kinds whose superseded instances are kept for rollback and later collected."""
    return tuple(k for k in KINDS if k.history)


def delete_action(resource_type: ResourceType, name: str, reason: Reason) -> Action:
    kind = kind_of(resource_type)
    return Action(
        Op.DELETE,
        resource_type,
        name,
        reason,
        call=kind.delete_call,
        request={kind.name_param: name},
    )


def sibling_arn(endpoint_arn: str, resource_type: ResourceType, name: str) -> str:
    """ARN of a resource of another kind, from the endpoint's (same account and region)."""
    prefix, _, resource = endpoint_arn.rpartition(":")
    # Follow the account's ARN spelling: SageMaker writes names lower-case in ARNs.
    if resource.islower():
        name = name.lower()
    return f"{prefix}:{kind_of(resource_type).segment}/{name}"
