"""Autoscaling as data: what `variants[].autoscaling` and `inferenceComponents[].autoscaling`
mean in Application Auto Scaling terms, what is live, and both in manifest terms so the diff can
say `autoscaling.maxCapacity: 4 -> 8`.

Pure. One scalable target per instance-based variant (resource `endpoint/<e>/variant/<v>`,
dimension `sagemaker:variant:DesiredInstanceCount`) or per inference component (resource
`inference-component/<c>`, dimension `sagemaker:inference-component:DesiredCopyCount`); every
manifest term lives under a base path (`variants[v].autoscaling`,
`inferenceComponents[c].autoscaling`). A target's policies and scheduled actions carry
names derived from the manifest (`sagemaker-gitops-<name>`), so an edit is an upsert under the
same name, and a name without the prefix belongs to someone else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.casing import camel, pascal
from controller.core.plan.plans import Action, Op, ResourceType
from controller.manifests.models import EndpointManifest
from controller.manifests.scaling import (
    NAME_PREFIX,
    SCALE_OUT_FROM_ZERO,
    ScaleOutFromZero,
    ScalingBase,
)

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
COMPONENT_PREFIX = "inference-component/"
DIMENSIONS = (DIMENSION, COPY_DIMENSION)
CONFIG_KEYS = {
    "TargetTrackingScaling": "TargetTrackingScalingPolicyConfiguration",
    "StepScaling": "StepScalingPolicyConfiguration",
}
PATHS = {"TargetTrackingScaling": "targetTracking", "StepScaling": "stepScaling"}
# The configuration fields the controller sets; anything else AWS reports is not compared.
SET_FIELDS = {
    "TargetTrackingScaling": (
        "TargetValue",
        "PredefinedMetricSpecification",
        "CustomizedMetricSpecification",
        "ScaleInCooldown",
        "ScaleOutCooldown",
        "DisableScaleIn",
    ),
    "StepScaling": (
        "AdjustmentType",
        "StepAdjustments",
        "MinAdjustmentMagnitude",
        "Cooldown",
        "MetricAggregationType",
    ),
}
ACTION_FIELDS = ("Schedule", "Timezone", "ScalableTargetAction")


def resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def component_resource_id(component: str) -> str:
    return f"{COMPONENT_PREFIX}{component}"


def variant_base(variant: str) -> str:
    return f"variants[{variant}].autoscaling"


def component_base(component: str) -> str:
    return f"inferenceComponents[{component}].autoscaling"


def target_key(resource: str) -> dict[str, str]:
    """The three fields that name a scalable target in every Application Auto Scaling call."""
    dimension = COPY_DIMENSION if resource.startswith(COMPONENT_PREFIX) else DIMENSION
    return {"ServiceNamespace": NAMESPACE, "ResourceId": resource, "ScalableDimension": dimension}


def owned_name(name: str) -> bool:
    return name.startswith(NAME_PREFIX)


@dataclass(frozen=True)
class ScalingSet:
    """One target's capacities, policies and scheduled actions, in API terms (desired or live)."""

    min_capacity: int
    max_capacity: int
    # PolicyName -> {"PolicyType": ..., <config key>: {...}}
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # ScheduledActionName -> {"Schedule", "Timezone", "ScalableTargetAction"}
    actions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveTarget:
    """A registered scalable target on a variant, with what hangs off it."""

    resource_id: str
    arn: str
    scaling: ScalingSet
    tags: Mapping[str, str] | None = None  # None: not read (ListTagsForResource is lazy)


def desired_sets(manifest: EndpointManifest) -> dict[str, ScalingSet]:
    """variant -> the autoscaling the manifest asks for (variants without it are absent)."""
    return {
        v.name: _desired(v.autoscaling) for v in manifest.spec.variants if v.autoscaling is not None
    }


def component_sets(manifest: EndpointManifest) -> dict[str, ScalingSet]:
    """component -> the autoscaling of its copy count (autoscaled components only), with the
    scale-out-from-zero step policy among its policies."""
    out = {}
    for c in manifest.spec.inference_components:
        if c.autoscaling is None:
            continue
        found = _desired(c.autoscaling)
        wake = c.autoscaling.scale_out_from_zero
        if wake is not None:
            policies = {**found.policies, NAME_PREFIX + SCALE_OUT_FROM_ZERO: wake_policy(wake)}
            found = ScalingSet(found.min_capacity, found.max_capacity, policies, found.actions)
        out[c.name] = found
    return out


def wake_policy(wake: ScaleOutFromZero) -> dict[str, Any]:
    """The step policy SageMaker documents for scale-out from zero: add copies whenever the
    alarm on NoCapacityInvocationFailures fires (any breach: lower bound 0, no upper bound)."""
    config = {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": wake.copies}],
        "Cooldown": wake.cooldown,
        "MetricAggregationType": "Maximum",
    }
    return _policy("StepScaling", config)


def _desired(scaling: ScalingBase) -> ScalingSet:
    policies: dict[str, Mapping[str, Any]] = {}
    for tracking in scaling.target_tracking:
        config = pascal(tracking.model_dump(by_alias=True, exclude_none=True, exclude={"name"}))
        metric = config.pop("PredefinedMetric", None)
        if metric is not None:
            config["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric}
        if "CustomizedMetric" in config:
            config["CustomizedMetricSpecification"] = config.pop("CustomizedMetric")
        policies[NAME_PREFIX + tracking.label] = _policy("TargetTrackingScaling", config)
    for step in scaling.step_scaling:
        config = pascal(step.model_dump(by_alias=True, exclude_none=True, exclude={"name"}))
        policies[NAME_PREFIX + step.name] = _policy("StepScaling", config)
    actions = {
        NAME_PREFIX + s.name: {
            "Schedule": s.schedule,
            "Timezone": s.timezone,
            "ScalableTargetAction": pascal(
                s.model_dump(by_alias=True, include={"min_capacity", "max_capacity"})
            ),
        }
        for s in scaling.scheduled
    }
    return ScalingSet(scaling.min_capacity, scaling.max_capacity, policies, actions)


def _policy(policy_type: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyType": policy_type, CONFIG_KEYS[policy_type]: config}


def terms(base: str, scaling: ScalingSet | None) -> dict[str, Any]:
    """A target's settings in manifest terms, keyed `<base>.<path>` (base: `variant_base` or
    `component_base`).

    Only names the controller owns are included: someone else's policy is reported, not diffed.
    """
    if scaling is None:
        return {}
    out = capacity_terms(base, scaling)
    for name, policy in scaling.policies.items():
        out.update(policy_terms(base, name, policy))
    for name, action in scaling.actions.items():
        out.update(action_terms(base, name, action))
    return out


def capacity_terms(base: str, scaling: ScalingSet) -> dict[str, Any]:
    return {
        f"{base}.minCapacity": scaling.min_capacity,
        f"{base}.maxCapacity": scaling.max_capacity,
    }


def policy_terms(base: str, name: str, policy: Mapping[str, Any]) -> dict[str, Any]:
    policy_type = str(policy.get("PolicyType"))
    if not owned_name(name) or policy_type not in CONFIG_KEYS:
        return {}
    label = name.removeprefix(NAME_PREFIX)
    if label == SCALE_OUT_FROM_ZERO:  # the step policy scaleOutFromZero stands for
        where = f"{base}.scaleOutFromZero"
    else:
        where = f"{base}.{PATHS[policy_type]}[{label}]"
    return _policy_terms(where, policy_type, policy.get(CONFIG_KEYS[policy_type]) or {})


def action_terms(base: str, name: str, action: Mapping[str, Any]) -> dict[str, Any]:
    if not owned_name(name):
        return {}
    label = name.removeprefix(NAME_PREFIX)
    return _action_terms(f"{base}.scheduled[{label}]", action)


def _policy_terms(where: str, policy_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    kept = camel({k: config[k] for k in SET_FIELDS[policy_type] if k in config})
    metric = kept.pop("predefinedMetricSpecification", None)
    if metric is not None:
        kept["predefinedMetric"] = metric.get("predefinedMetricType")
    if "customizedMetricSpecification" in kept:
        kept["customizedMetric"] = kept.pop("customizedMetricSpecification")
    return {f"{where}.{k}": v for k, v in kept.items()}


def _action_terms(where: str, action: Mapping[str, Any]) -> dict[str, Any]:
    capacity = action.get("ScalableTargetAction") or {}
    found = {
        "schedule": action.get("Schedule"),
        "timezone": action.get("Timezone") or "UTC",
        "minCapacity": capacity.get("MinCapacity"),
        "maxCapacity": capacity.get("MaxCapacity"),
    }
    return {f"{where}.{k}": v for k, v in found.items() if v is not None}


def starting_count(live_count: int | None, scaling: ScalingSet, fallback: int) -> int:
    """The instance count a new config starts a scaled variant with: the live count (what
    autoscaling chose) clamped to [min, max]; the manifest's count when nothing is live."""
    count = live_count if live_count is not None else fallback
    return max(scaling.min_capacity, min(scaling.max_capacity, count))


# The alarm settings the controller sets and compares (AWS reports state and more besides):
# a scale-out-from-zero alarm's, and the single-metric part of a rollback alarm's.
ALARM_FIELDS = (
    "MetricName",
    "Namespace",
    "Statistic",
    "Dimensions",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
)


@dataclass(frozen=True)
class LiveAlarm:
    """A CloudWatch metric alarm named with the controller's prefix (scale-out from zero)."""

    name: str
    arn: str
    # The DescribeAlarms entry, or the PutMetricAlarm request just made.
    fields: Mapping[str, Any]
    tags: Mapping[str, str] | None = None  # None: not read (ListTagsForResource is lazy)


@dataclass(frozen=True)
class ScalingState:
    """Every SageMaker scalable target in one region (variants' instance counts and components'
    copy counts), by lower-cased resource id, and the controller-prefixed alarms."""

    targets: Mapping[str, LiveTarget] = field(default_factory=dict)
    # Lower-cased names of inference components whose copy count a scalable target owns (read in
    # the same DescribeScalableTargets), whoever registered it.
    components: frozenset[str] = frozenset()
    # Lower-cased alarm name -> alarm; read only when some component target exists.
    alarms: Mapping[str, LiveAlarm] = field(default_factory=dict)

    def for_components(self, names: Iterable[str]) -> dict[str, LiveTarget]:
        """component (as given) -> its copy-count target, for those that have one."""
        found = {n: self.targets.get(component_resource_id(n).lower()) for n in names}
        return {n: t for n, t in found.items() if t is not None}

    def for_endpoint(self, endpoint: str) -> dict[str, LiveTarget]:
        """variant -> target, for every target registered on the endpoint's variants."""
        prefix = f"endpoint/{endpoint}/variant/".lower()
        return {
            t.resource_id[len(prefix) :]: t
            for rid, t in sorted(self.targets.items())
            if rid.startswith(prefix)
        }

    def after(self, actions: Iterable[Action]) -> ScalingState:
        """This state with the controller's own applied autoscaling actions folded in, so the
        next look at an endpoint sees what was just done without a region-wide re-read."""
        targets = {rid: _Draft.of(t) for rid, t in self.targets.items()}
        alarms = dict(self.alarms)
        for action in actions:
            request = action.request
            rid = str(request.get("ResourceId", "")).lower()
            if action.type is ResourceType.ALARM:
                _fold_alarm(alarms, action)
            elif action.type is ResourceType.SCALABLE_TARGET and action.op is Op.DELETE:
                targets.pop(rid, None)
            elif action.type is ResourceType.SCALABLE_TARGET:
                draft = targets.setdefault(rid, _Draft(request["ResourceId"]))
                draft.apply_register(request)
            elif rid in targets:
                targets[rid].apply_item(action)
        components = frozenset(
            rid.removeprefix(COMPONENT_PREFIX)
            for rid in targets
            if rid.startswith(COMPONENT_PREFIX)
        )
        frozen = {rid: d.freeze() for rid, d in targets.items()}
        return ScalingState(frozen, components, alarms)


def _fold_alarm(alarms: dict[str, LiveAlarm], action: Action) -> None:
    if action.op is Op.DELETE:
        for name in action.request.get("AlarmNames", []):
            alarms.pop(name.lower(), None)
        return
    name = action.request["AlarmName"]
    earlier = alarms.get(name.lower())
    tags = earlier.tags if earlier else None
    if earlier is None:  # PutMetricAlarm tags a new alarm and ignores Tags on an update
        tags = {t["Key"]: t["Value"] for t in action.request.get("Tags", [])}
    arn = earlier.arn if earlier else ""
    alarms[name.lower()] = LiveAlarm(name, arn, dict(action.request), tags)


@dataclass
class _Draft:
    """A mutable LiveTarget while actions are folded in."""

    resource_id: str
    arn: str = ""
    low: int = 0
    high: int = 0
    policies: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    actions: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    tags: Mapping[str, str] | None = None

    @classmethod
    def of(cls, t: LiveTarget) -> _Draft:
        s = t.scaling
        return cls(
            t.resource_id, t.arn, s.min_capacity, s.max_capacity,
            dict(s.policies), dict(s.actions), t.tags,
        )  # fmt: skip

    def apply_register(self, request: Mapping[str, Any]) -> None:
        self.low, self.high = int(request["MinCapacity"]), int(request["MaxCapacity"])
        if "Tags" in request:  # a registration: the tags it was given are the target's
            self.tags = dict(request["Tags"])

    def apply_item(self, action: Action) -> None:
        key = "PolicyName" if action.type is ResourceType.SCALING_POLICY else "ScheduledActionName"
        items = self.policies if key == "PolicyName" else self.actions
        name = action.request[key]
        if action.op is Op.DELETE:
            items.pop(name, None)
        else:
            items[name] = {k: v for k, v in action.request.items() if k not in _KEY_FIELDS}

    def freeze(self) -> LiveTarget:
        scaling = ScalingSet(self.low, self.high, self.policies, self.actions)
        return LiveTarget(self.resource_id, self.arn, scaling, self.tags)


_KEY_FIELDS = ("ServiceNamespace", "ResourceId", "ScalableDimension")
