"""Autoscaling of inference components' copy counts, and the alarm behind scale-out from zero.

Pure. A component's copy count is a scalable target (`inference-component/<c>`, dimension
`sagemaker:inference-component:DesiredCopyCount`) handled like a variant's: registered, updated
and deregistered with the same actions (`scaling_actions`). With `scaleOutFromZero` it also gets
the set-up SageMaker documents for leaving zero copies (target tracking cannot: it divides by the
copy count): a step policy adding copies, and a CloudWatch alarm on NoCapacityInvocationFailures
(AWS/SageMaker, dimension InferenceComponentName) whose action is that policy. The alarm is named
`sagemaker-gitops-<component>-scale-out-from-zero` and tagged with ownership; an alarm or target
the controller does not own is reported and left alone.

Registration waits for the component to be InService with nothing else planned for it; removing
`autoscaling` deregisters (policies, actions and the alarm go first); a component pruned from the
manifest loses its autoscaling before it is deleted (the kind table orders the phases).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller.core import tagging
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.observed import DiffOptions, Observed
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType
from controller.core.scaling import model as scaling
from controller.core.scaling.actions import deregister_at, in_sync_at, not_owned_warning, upserts
from controller.core.scaling.model import ALARM_FIELDS, LiveAlarm, LiveTarget, ScalingSet
from controller.manifests.scaling import NAME_PREFIX, SCALE_OUT_FROM_ZERO, ScaleOutFromZero

METRIC = "NoCapacityInvocationFailures"
METRIC_NAMESPACE = "AWS/SageMaker"
WAKE_POLICY = NAME_PREFIX + SCALE_OUT_FROM_ZERO


def alarm_name(component: str) -> str:
    return f"{NAME_PREFIX}{component}-{SCALE_OUT_FROM_ZERO}"


def alarm_request(
    component: str, wake: ScaleOutFromZero, endpoint: str, controller_id: str
) -> dict[str, Any]:
    """PutMetricAlarm for the component's scale-out-from-zero alarm: one failed invocation
    (Sum >= 1) in any of the last `evaluationPeriods` periods runs the step policy.

    AlarmActions (the step policy's ARN, known only once the policy is put) is filled in at
    apply time by `aws.alarms.AlarmWriter`."""
    return {
        "AlarmName": alarm_name(component),
        "AlarmDescription": (
            f"sagemaker-gitops: add copies of inference component {component} when it is "
            "invoked with none"
        ),
        "MetricName": METRIC,
        "Namespace": METRIC_NAMESPACE,
        "Statistic": "Sum",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": component}],
        "Period": wake.period,
        "EvaluationPeriods": wake.evaluation_periods,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        # PutMetricAlarm tags a new alarm and ignores Tags on an update.
        "Tags": tagging.to_list({tagging.MANAGED_BY: controller_id, tagging.ENDPOINT: endpoint}),
    }


def alarm_terms(base: str, fields: Mapping[str, Any] | None) -> dict[str, Any]:
    if fields is None:
        return {}
    where = f"{base}.scaleOutFromZero.alarm"
    return {
        f"{where}.{k[0].lower()}{k[1:]}": fields[k]
        for k in ALARM_FIELDS
        if fields.get(k) is not None
    }


def alarm_in_sync(
    base: str, want: Mapping[str, Any] | None, have: LiveAlarm | None, target: LiveTarget | None
) -> bool:
    """The alarm matches the manifest and runs the live step policy (when its ARN is known)."""
    if want is None or have is None:
        return want is None and have is None
    if field_changes(alarm_terms(base, have.fields), alarm_terms(base, want), {}):
        return False
    policy = target.scaling.policies.get(WAKE_POLICY) if target is not None else None
    if policy is None:
        return False  # the step policy is (re)created: the alarm must name its new ARN
    arn = policy.get("PolicyARN")
    return not arn or list(have.fields.get("AlarmActions") or []) == [arn]


def wanted_alarms(desired: DesiredEndpoint, controller_id: str) -> dict[str, dict[str, Any]]:
    """Lower-cased component -> its alarm's PutMetricAlarm request (scaleOutFromZero only)."""
    out = {}
    for c in desired.manifest.spec.inference_components:
        wake = c.autoscaling.scale_out_from_zero if c.autoscaling else None
        if wake is not None:
            out[c.name.lower()] = alarm_request(c.name, wake, desired.name, controller_id)
    return out


def wanted_sets(desired: DesiredEndpoint) -> dict[str, ScalingSet]:
    """Lower-cased component -> its copy-count autoscaling."""
    return {n.lower(): s for n, s in scaling.component_sets(desired.manifest).items()}


def plan_component_scaling(
    desired: DesiredEndpoint,
    seen: Observed,
    options: DiffOptions,
    ready: bool,
    planned: Sequence[Action],
) -> tuple[list[Action], list[str]]:
    """Actions making every owned component's copy-count autoscaling match the manifest.

    A component is registered or changed only when `ready` (the endpoint is InService with no
    endpoint change planned), it is InService and nothing else is `planned` for it;
    deregistration needs no wait."""
    controller_id, prune = options.controller_id, options.prune
    busy = {a.name.lower() for a in planned if a.type is ResourceType.INFERENCE_COMPONENT}
    settled = {
        c.name.lower()
        for c in seen.components
        if ready and c.status == "InService" and c.name.lower() not in busy
    }
    sets, alarms = wanted_sets(desired), wanted_alarms(desired, controller_id)
    named = {c.name.lower() for c in desired.manifest.spec.inference_components}
    actions: list[Action] = []
    warnings: list[str] = []
    for have in seen.components:
        key = have.name.lower()
        listed = key in named
        if not tagging.owned_by(seen.component_tags.get(key), controller_id):
            continue  # someone else's component: its row says so
        if not listed and not prune:
            continue  # kept without --prune, and so is its autoscaling
        want, alarm = (sets.get(key), alarms.get(key)) if listed else (None, None)
        if want is not None and key not in settled:
            continue  # registered once the component is InService
        reason = Reason.AUTOSCALING if listed else Reason.COMPONENT_REMOVED
        found = reconcile_component(
            have.name, want, alarm, seen, desired.name, controller_id, reason
        )
        actions += found[0]
        warnings += found[1]
    return actions, warnings


def reconcile_component(
    component: str,
    want: ScalingSet | None,
    alarm: dict[str, Any] | None,
    seen: Observed,
    endpoint: str,
    controller_id: str,
    reason: Reason,
) -> tuple[list[Action], list[str]]:
    base, rid = scaling.component_base(component), scaling.component_resource_id(component)
    target = seen.component_scaling.get(component.lower())
    live_alarm = seen.component_alarms.get(component.lower())
    actions: list[Action] = []
    if not in_sync_at(base, want, target):
        if target is not None and not tagging.owned_by(target.tags, controller_id):
            subject = f"inference component {component}"
            return [], [not_owned_warning(subject, target, "copy")]
        if want is None:
            assert target is not None
            actions += deregister_at(base, rid, target, reason)
        else:
            actions += upserts(base, rid, want, target, endpoint, controller_id)
    if alarm_in_sync(base, alarm, live_alarm, target):
        return actions, []
    if live_alarm is not None and not tagging.owned_by(live_alarm.tags, controller_id):
        return actions, [
            f"inference component {component}: alarm {live_alarm.name} is not managed by "
            "sagemaker-gitops; it is left alone"
        ]
    if alarm is None:
        assert live_alarm is not None
        return [*actions, _delete_alarm(base, live_alarm, reason)], []
    return [*actions, _put_alarm(base, alarm, live_alarm, target)], []


def teardown(
    component: str,
    target: LiveTarget | None,
    alarm: LiveAlarm | None,
    controller_id: str,
    reason: Reason,
) -> list[Action]:
    """Delete the controller's alarm and deregister its target of a component about to be
    deleted with its endpoint (someone else's are left alone)."""
    base, rid = scaling.component_base(component), scaling.component_resource_id(component)
    out = []
    if alarm is not None and tagging.owned_by(alarm.tags, controller_id):
        out.append(_delete_alarm(base, alarm, reason))
    if target is not None and tagging.owned_by(target.tags, controller_id):
        out += deregister_at(base, rid, target, reason)
    return out


def _put_alarm(
    base: str, want: dict[str, Any], have: LiveAlarm | None, target: LiveTarget | None
) -> Action:
    before = alarm_terms(base, have.fields if have else None)
    changes = field_changes(before, alarm_terms(base, want), {})
    request = dict(want)
    policy = target.scaling.policies.get(WAKE_POLICY) if target is not None else None
    if policy is not None and policy.get("PolicyARN"):
        request["AlarmActions"] = [policy["PolicyARN"]]
    if have is not None and not changes:  # only the policy it runs changes
        path = f"{base}.scaleOutFromZero.alarm.alarmActions"
        after = request.get("AlarmActions", [WAKE_POLICY])
        changes = (FieldChange(path, list(have.fields.get("AlarmActions") or []), after),)
    op = Op.UPDATE if have is not None else Op.CREATE
    return Action(
        op,
        ResourceType.ALARM,
        want["AlarmName"],
        Reason.AUTOSCALING,
        changes,
        call="put_metric_alarm",
        request=request,
    )


def _delete_alarm(base: str, have: LiveAlarm, reason: Reason) -> Action:
    before = alarm_terms(base, have.fields)
    return Action(
        Op.DELETE,
        ResourceType.ALARM,
        have.name,
        reason,
        tuple(FieldChange(path, value, None) for path, value in before.items()),
        call="delete_alarms",
        request={"AlarmNames": [have.name]},
    )
