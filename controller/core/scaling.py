"""Autoscaling as data: what `variants[].autoscaling` means in Application Auto Scaling terms,
what is live, and both in manifest terms so the diff can say `autoscaling.maxCapacity: 4 -> 8`.

Pure. One scalable target per instance-based variant (resource `endpoint/<e>/variant/<v>`,
dimension `sagemaker:variant:DesiredInstanceCount`); its policies and scheduled actions carry
names derived from the manifest (`sagemaker-gitops-<name>`), so an edit is an upsert under the
same name, and a name without the prefix belongs to someone else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.casing import camel, pascal
from controller.core.plans import Action, Op, ResourceType
from controller.manifests.models import EndpointManifest
from controller.manifests.scaling import NAME_PREFIX, Autoscaling

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
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


def target_key(resource: str) -> dict[str, str]:
    """The three fields that name a scalable target in every Application Auto Scaling call."""
    return {"ServiceNamespace": NAMESPACE, "ResourceId": resource, "ScalableDimension": DIMENSION}


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


def _desired(scaling: Autoscaling) -> ScalingSet:
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


def terms(variant: str, scaling: ScalingSet | None) -> dict[str, Any]:
    """A target's settings in manifest terms, keyed `variants[v].autoscaling.<path>`.

    Only names the controller owns are included: someone else's policy is reported, not diffed.
    """
    if scaling is None:
        return {}
    out = capacity_terms(variant, scaling)
    for name, policy in scaling.policies.items():
        out.update(policy_terms(variant, name, policy))
    for name, action in scaling.actions.items():
        out.update(action_terms(variant, name, action))
    return out


def capacity_terms(variant: str, scaling: ScalingSet) -> dict[str, Any]:
    base = f"variants[{variant}].autoscaling"
    return {
        f"{base}.minCapacity": scaling.min_capacity,
        f"{base}.maxCapacity": scaling.max_capacity,
    }


def policy_terms(variant: str, name: str, policy: Mapping[str, Any]) -> dict[str, Any]:
    policy_type = str(policy.get("PolicyType"))
    if not owned_name(name) or policy_type not in CONFIG_KEYS:
        return {}
    label = name.removeprefix(NAME_PREFIX)
    where = f"variants[{variant}].autoscaling.{PATHS[policy_type]}[{label}]"
    return _policy_terms(where, policy_type, policy.get(CONFIG_KEYS[policy_type]) or {})


def action_terms(variant: str, name: str, action: Mapping[str, Any]) -> dict[str, Any]:
    if not owned_name(name):
        return {}
    label = name.removeprefix(NAME_PREFIX)
    return _action_terms(f"variants[{variant}].autoscaling.scheduled[{label}]", action)


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


@dataclass(frozen=True)
class ScalingState:
    """Every SageMaker variant scalable target in one region, by lower-cased resource id."""

    targets: Mapping[str, LiveTarget] = field(default_factory=dict)
    # Lower-cased names of inference components whose copy count a scalable target owns (read in
    # the same DescribeScalableTargets; the controller never registers those).
    components: frozenset[str] = frozenset()

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
        for action in actions:
            request = action.request
            rid = str(request.get("ResourceId", "")).lower()
            if action.type is ResourceType.SCALABLE_TARGET and action.op is Op.DELETE:
                targets.pop(rid, None)
            elif action.type is ResourceType.SCALABLE_TARGET:
                draft = targets.setdefault(rid, _Draft(request["ResourceId"]))
                draft.apply_register(request)
            elif rid in targets:
                targets[rid].apply_item(action)
        return ScalingState({rid: d.freeze() for rid, d in targets.items()}, self.components)


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
