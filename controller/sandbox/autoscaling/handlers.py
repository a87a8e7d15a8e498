"""Application Auto Scaling (target prefix AnyScaleFrontendService), served by the sandbox.

moto's version cannot scale inference components and drops tags (see `scaling_store`), and the
controller's rule "never fight autoscaling" is only testable against real semantics:
registering needs capacities on first use and keeps what an update omits; policies and
scheduled actions need a registered target (ObjectNotFoundException); deregistering removes
them; target-tracking policies make their CloudWatch alarms (`TargetTracking-<id>-AlarmHigh/Low`)
and deleting the policy deletes them. Inputs arrive checked against the botocore model.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, TypeVar

from moto.utilities.utils import get_partition

from controller.sandbox.autoscaling.resources import check_resource
from controller.sandbox.autoscaling.rules import (
    check_capacities,
    check_policy,
    check_schedule,
    check_target,
    default_role,
)
from controller.sandbox.autoscaling.store import (
    ScalableTarget,
    ScalingPolicy,
    ScheduledAction,
    TargetKey,
)
from controller.sandbox.cloudwatch.alarms import attached_alarms, create_alarms, delete_alarms
from controller.sandbox.context import Context
from controller.sandbox.errors import ApiError, validation_error
from controller.sandbox.hosting.lifecycle import wall_time
from controller.sandbox.paging import page_of

ACTION_FIELDS = ("Schedule", "Timezone", "StartTime", "EndTime", "ScalableTargetAction")
POLICY_CONFIGS = {
    "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
    "StepScaling": "StepScalingPolicyConfiguration",
    "PredictiveScaling": "PredictiveScalingPolicyConfiguration",
}
MAX_TAGS = 50
BAD_TOKEN = ApiError("InvalidNextTokenException", "Invalid token")


def _key(params: dict[str, Any]) -> TargetKey:
    return (params["ServiceNamespace"], params["ResourceId"], params["ScalableDimension"])


def _where(key: TargetKey) -> str:
    namespace, resource, dimension = key
    return (
        f"service namespace: {namespace}, resource ID: {resource}, scalable dimension: {dimension}"
    )


def _registered(ctx: Context, key: TargetKey) -> ScalableTarget:
    target = ctx.scaling.targets.get(key)
    if target is None:
        message = f"No scalable target registered for {_where(key)}"
        raise ApiError("ObjectNotFoundException", message)
    return target


def _registered_key(ctx: Context, params: dict[str, Any], field: str) -> tuple[TargetKey, str]:
    """The target a policy or action is put on (which must be registered) and its name."""
    key = _key(params)
    _registered(ctx, key)
    return key, params[field]


def _arn(ctx: Context, service: str, rest: str) -> str:
    partition = get_partition(ctx.region)
    return f"arn:{partition}:{service}:{ctx.region}:{ctx.account}:{rest}"


def register_scalable_target(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """Registers a target, or updates the capacities/suspension an existing one was given."""
    key = _key(params)
    check_target(key)
    stamp = check_resource(ctx, key)
    target = ctx.scaling.targets.get(key)
    if target is None:
        target = _new_target(ctx, key, params)
        target.resource_created = stamp
    low = params.get("MinCapacity", target.min_capacity)
    high = params.get("MaxCapacity", target.max_capacity)
    check_capacities(low, high)
    target.min_capacity, target.max_capacity = low, high
    target.suspended.update(params.get("SuspendedState") or {})
    ctx.scaling.targets[key] = target
    return {"ScalableTargetARN": target.arn}


def _new_target(ctx: Context, key: TargetKey, params: dict[str, Any]) -> ScalableTarget:
    if params.get("MinCapacity") is None or params.get("MaxCapacity") is None:
        raise validation_error(
            "MinCapacity and MaxCapacity must be specified when registering a new scalable target"
        )
    suspended = dict.fromkeys(
        ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"),
        False,
    )
    return ScalableTarget(
        key=key,
        arn=_arn(ctx, "application-autoscaling", f"scalable-target/{uuid.uuid4().hex}"),
        min_capacity=params["MinCapacity"],
        max_capacity=params["MaxCapacity"],
        role_arn=params.get("RoleARN") or default_role(ctx.account, key),
        created_at=ctx.now(),
        suspended=suspended,
        # Tags apply to a new target only; an existing one is tagged with TagResource.
        tags=dict(params.get("Tags") or {}),
    )


def describe_scalable_targets(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    ids = set(params.get("ResourceIds") or [])
    found = [
        t
        for t in ctx.scaling.targets.values()
        if t.key[0] == params["ServiceNamespace"]
        and (not ids or t.key[1] in ids)
        and params.get("ScalableDimension") in (None, t.key[2])
    ]
    page, token = page_of(found, params.get("NextToken"), _size(params, 50), BAD_TOKEN)
    return _paged("ScalableTargets", [_target_out(t) for t in page], token)


def _size(params: dict[str, Any], largest: int) -> int:
    size = params.get("MaxResults")
    if size is None:
        return largest
    if not 1 <= size <= largest:
        raise validation_error(f"MaxResults must be between 1 and {largest}")
    return int(size)


def _paged(name: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {name: items}
    if token:
        out["NextToken"] = token
    return out


def _target_out(target: ScalableTarget) -> dict[str, Any]:
    namespace, resource, dimension = target.key
    return {
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "MinCapacity": target.min_capacity,
        "MaxCapacity": target.max_capacity,
        "RoleARN": target.role_arn,
        "CreationTime": wall_time(target.created_at),
        "SuspendedState": dict(target.suspended),
        "ScalableTargetARN": target.arn,
    }


def deregister_scalable_target(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    key = _key(params)
    _registered(ctx, key)
    for policy in ctx.scaling.drop_target(key):
        delete_alarms(ctx, policy)
    return {}


def put_scaling_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    key, name = _registered_key(ctx, params, "PolicyName")
    old = ctx.scaling.policies.get((key, name))
    policy_type = params.get("PolicyType") or (old.policy_type if old else None)
    if policy_type is None:
        raise validation_error("PolicyType must be specified when creating a scaling policy")
    configuration = params.get(POLICY_CONFIGS[policy_type])
    if configuration is None and old is not None and old.policy_type == policy_type:
        configuration = old.configuration
    if configuration is None:
        raise validation_error(f"{POLICY_CONFIGS[policy_type]} is required for {policy_type}")
    check_policy(key, policy_type, configuration)
    if old is not None:
        delete_alarms(ctx, old)
    policy = ScalingPolicy(
        key=key,
        name=name,
        arn=old.arn if old else _policy_arn(ctx, key, name),
        policy_type=policy_type,
        configuration=configuration,
        created_at=old.created_at if old else ctx.now(),
    )
    policy.alarms = create_alarms(ctx, policy)
    ctx.scaling.policies[(key, name)] = policy
    out: dict[str, Any] = {"PolicyARN": policy.arn}
    if policy_type == "TargetTrackingScaling":
        out["Alarms"] = policy.alarms
    return out


def _policy_arn(ctx: Context, key: TargetKey, name: str) -> str:
    namespace, resource, _ = key
    return _arn(
        ctx,
        "autoscaling",
        f"scalingPolicy:{uuid.uuid4()}:resource/{namespace}/{resource}:policyName/{name}",
    )


def describe_scaling_policies(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    found = _named(ctx.scaling.policies.values(), params, params.get("PolicyNames"))
    page, token = page_of(found, params.get("NextToken"), _size(params, 10), BAD_TOKEN)
    return _paged("ScalingPolicies", [_policy_out(ctx, p) for p in page], token)


Named = TypeVar("Named", ScalingPolicy, ScheduledAction)


def _named(items: Iterable[Named], params: dict[str, Any], names: list[str] | None) -> list[Named]:
    """Policies or actions in the namespace, of the resource/dimension/names asked for."""
    return [
        item
        for item in items
        if item.key[0] == params["ServiceNamespace"]
        and params.get("ResourceId") in (None, item.key[1])
        and params.get("ScalableDimension") in (None, item.key[2])
        and (not names or item.name in names)
    ]


def _policy_out(ctx: Context, policy: ScalingPolicy) -> dict[str, Any]:
    namespace, resource, dimension = policy.key
    alarms = policy.alarms or attached_alarms(ctx, policy.arn)
    return {
        "PolicyARN": policy.arn,
        "PolicyName": policy.name,
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "PolicyType": policy.policy_type,
        POLICY_CONFIGS[policy.policy_type]: policy.configuration,
        "Alarms": alarms,
        "CreationTime": wall_time(policy.created_at),
    }


def delete_scaling_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    key = _key(params)
    policy = ctx.scaling.policies.pop((key, params["PolicyName"]), None)
    if policy is None:
        raise ApiError(
            "ObjectNotFoundException",
            f"No scaling policy found for {_where(key)}, policy name: {params['PolicyName']}",
        )
    delete_alarms(ctx, policy)
    return {}


def put_scheduled_action(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    key, name = _registered_key(ctx, params, "ScheduledActionName")
    old = ctx.scaling.actions.get((key, name))
    fields = dict(old.fields) if old else {}
    fields.update({f: params[f] for f in ACTION_FIELDS if params.get(f) is not None})
    if "Schedule" not in fields:
        raise validation_error("Schedule must be specified when creating a scheduled action")
    check_schedule(fields["Schedule"])
    capacity = fields.get("ScalableTargetAction") or {}
    check_capacities(capacity.get("MinCapacity"), capacity.get("MaxCapacity"))
    namespace, resource, _ = key
    rest = f"scheduledAction:{uuid.uuid4()}:resource/{namespace}/{resource}"
    ctx.scaling.actions[(key, name)] = ScheduledAction(
        key=key,
        name=name,
        arn=old.arn if old else _arn(ctx, "autoscaling", f"{rest}:scheduledActionName/{name}"),
        fields=fields,
        created_at=old.created_at if old else ctx.now(),
    )
    return {}


def describe_scheduled_actions(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    found = _named(ctx.scaling.actions.values(), params, params.get("ScheduledActionNames"))
    page, token = page_of(found, params.get("NextToken"), _size(params, 50), BAD_TOKEN)
    return _paged("ScheduledActions", [_action_out(a) for a in page], token)


def _action_out(action: ScheduledAction) -> dict[str, Any]:
    namespace, resource, dimension = action.key
    out: dict[str, Any] = {
        "ScheduledActionName": action.name,
        "ScheduledActionARN": action.arn,
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "CreationTime": wall_time(action.created_at),
    }
    out.update(action.fields)
    return out


def delete_scheduled_action(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    key = _key(params)
    name = params["ScheduledActionName"]
    if ctx.scaling.actions.pop((key, name), None) is None:
        raise ApiError(
            "ObjectNotFoundException",
            f"No scheduled action found for {_where(key)}, scheduled action name: {name}",
        )
    return {}


def describe_scaling_activities(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    """Nothing scales by itself in the sandbox, so there is never an activity to report."""
    return {"ScalingActivities": []}


def _tagged(ctx: Context, arn: str) -> ScalableTarget:
    target = ctx.scaling.target_by_arn(arn)
    if target is None:
        raise ApiError("ResourceNotFoundException", f"Resource {arn} not found")
    return target


def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    return {"Tags": dict(_tagged(ctx, params["ResourceARN"]).tags)}


def tag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    target = _tagged(ctx, params["ResourceARN"])
    merged = {**target.tags, **params["Tags"]}
    if len(merged) > MAX_TAGS:
        raise ApiError("TooManyTagsException", f"A resource can have at most {MAX_TAGS} tags")
    target.tags = merged
    return {}


def untag_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    target = _tagged(ctx, params["ResourceARN"])
    target.tags = {k: v for k, v in target.tags.items() if k not in set(params["TagKeys"])}
    return {}
