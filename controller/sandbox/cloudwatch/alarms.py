"""The CloudWatch alarms behind scaling policies, kept in moto's CloudWatch backend.

A target-tracking policy owns two alarms AWS creates and deletes with it
(`TargetTracking-<resource id>-AlarmHigh-<uuid>` / `-AlarmLow-`; only High when scale-in is
disabled), on the metric it tracks. A step policy has none of its own: it lists the alarms
whose actions name it (the controller's NoCapacityInvocationFailures alarm for scale-from-zero).
"""

from __future__ import annotations

import uuid
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from controller.sandbox.autoscaling.store import ScalingPolicy
from controller.sandbox.context import Context

_PREDEFINED = {
    "SageMakerVariantInvocationsPerInstance": "InvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": "ConcurrentRequestsPerModel",
    "SageMakerVariantProvisionedConcurrencyUtilization": (
        "ServerlessProvisionedConcurrencyUtilization"
    ),
    "SageMakerInferenceComponentInvocationsPerCopy": "InvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution": (
        "ConcurrentRequestsPerCopy"
    ),
}
"""The AWS/SageMaker metric each predefined SageMaker metric type tracks."""


def _cloudwatch(ctx: Context) -> Any:
    return cloudwatch_backends[ctx.account][ctx.region]


def _metric(policy: ScalingPolicy) -> dict[str, Any]:
    """Namespace, metric name, dimensions and statistic the policy's alarms watch."""
    config = policy.configuration
    customized = config.get("CustomizedMetricSpecification")
    if customized is not None:
        return {
            "namespace": customized.get("Namespace", ""),
            "metric_name": customized.get("MetricName", ""),
            "dimensions": [
                {"Name": d["Name"], "Value": d["Value"]} for d in customized.get("Dimensions", [])
            ],
            "statistic": customized.get("Statistic", "Average"),
        }
    metric = config["PredefinedMetricSpecification"]["PredefinedMetricType"]
    parts = policy.key[1].split("/")
    if parts[0] == "endpoint":
        dimensions = [
            {"Name": "EndpointName", "Value": parts[1]},
            {"Name": "VariantName", "Value": parts[3]},
        ]
    else:
        dimensions = [{"Name": "InferenceComponentName", "Value": parts[-1]}]
    return {
        "namespace": "AWS/SageMaker",
        "metric_name": _PREDEFINED.get(metric, metric),
        "dimensions": dimensions,
        "statistic": "Average",
    }


def create_alarms(ctx: Context, policy: ScalingPolicy) -> list[dict[str, str]]:
    """The alarms of a target-tracking policy (none for other types)."""
    if policy.policy_type != "TargetTrackingScaling":
        return []
    config = policy.configuration
    sides = [("AlarmHigh", "GreaterThanThreshold", 3)]
    if not config.get("DisableScaleIn"):
        sides.append(("AlarmLow", "LessThanThreshold", 15))
    alarms = []
    for side, comparison, periods in sides:
        alarm = _cloudwatch(ctx).put_metric_alarm(
            name=f"TargetTracking-{policy.key[1]}-{side}-{uuid.uuid4()}",
            comparison_operator=comparison,
            evaluation_periods=periods,
            period=60,
            threshold=float(config["TargetValue"]),
            description=f"DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {policy.arn}.",
            alarm_actions=[policy.arn],
            **_metric(policy),
        )
        alarms.append({"AlarmName": alarm.name, "AlarmARN": alarm.alarm_arn})
    return alarms


def delete_alarms(ctx: Context, policy: ScalingPolicy) -> None:
    """Remove the alarms a target-tracking policy made (user-made alarms stay)."""
    names = [a["AlarmName"] for a in policy.alarms]
    if names:
        _cloudwatch(ctx).delete_alarms(names)


def attached_alarms(ctx: Context, policy_arn: str) -> list[dict[str, str]]:
    """Alarms whose actions invoke the policy, as DescribeScalingPolicies lists them."""
    return [
        {"AlarmName": a.name, "AlarmARN": a.alarm_arn}
        for a in _cloudwatch(ctx).alarms.values()
        if policy_arn in (a.alarm_actions or [])
    ]
