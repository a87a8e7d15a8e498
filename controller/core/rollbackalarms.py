"""One alarm spec, two layers: a pipeline stage's checks as the CloudWatch alarms an endpoint's
`DeploymentConfig.AutoRollbackConfiguration` watches, so the in-endpoint canary and the gate
between stages judge a version by the same thresholds.

Pure. For an endpoint whose `autoRollbackConfiguration.fromPipeline` resolved to a stage
(`StageAlarms`), every check, bound (`max`, `min`) and production variant serving the
pipeline's groups is one metric alarm, read from the same metrics the stage's analysis reads:

- `errorRate`: metric math `errors / invocations` over the variant's two `Sum`s (no invocation,
  no datapoint);
- `latency`: the variant's `ModelLatency`/`OverheadLatency` statistic, the threshold converted
  from the manifest's milliseconds to CloudWatch's microseconds;
- `query`: the metric the check names, `{endpoint}`/`{variant}` put in its dimensions;
- `math`: the check's metrics and expression, as metric math.

Each alarm looks at one period as long as the analysis' window (its `interval` in whole
minutes) and fires on one breaching period: a deployment's baking time is short, and a canary
that waits for several bad periods rolls back late. Missing data is `notBreaching` and a
percentile over too few samples is ignored: a deployment with no traffic yet must not roll back
on nothing (the gate between stages is where too little traffic is Inconclusive). The alarms
have no actions: SageMaker watches their state during a deployment.
"""

from __future__ import annotations

from typing import Any

from controller.core import tagging
from controller.core.scaling.model import ALARM_FIELDS
from controller.manifests.pipelines.model import (
    MICROSECONDS_PER_MS,
    SAGEMAKER_METRICS,
    CustomQuery,
    MathQuery,
    MetricCheck,
    StageAlarms,
)
from controller.manifests.scaling import NAME_PREFIX

PREFIX = NAME_PREFIX + "rollback-"
_STATISTICS = frozenset({"SampleCount", "Average", "Sum", "Minimum", "Maximum"})
FIELDS = (
    *ALARM_FIELDS,
    "ExtendedStatistic",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "AlarmActions",
)
"""The settings the controller sets and compares (DescribeAlarms reports state and more)."""


def endpoint_prefix(endpoint: str) -> str:
    """Every rollback alarm of `endpoint` starts with this (one DescribeAlarms reads them)."""
    return f"{PREFIX}{endpoint}-"


def alarm_name(endpoint: str, variant: str, check: str, bound: str) -> str:
    return f"{endpoint_prefix(endpoint)}{variant}-{check}-{bound}"


def requests(alarms: StageAlarms, endpoint: str, controller_id: str) -> list[dict[str, Any]]:
    """PutMetricAlarm requests, in name order."""
    found = []
    for variant in alarms.variants:
        dims = [
            {"Name": "EndpointName", "Value": endpoint},
            {"Name": "VariantName", "Value": variant},
        ]
        for check, bound, threshold in alarms.bounds():
            request = {
                "AlarmName": alarm_name(endpoint, variant, check.name, bound),
                "AlarmDescription": (
                    f"sagemaker-gitops: rolls back deployments of {endpoint} when {variant}'s "
                    f"{check.name} goes {'above' if bound == 'max' else 'below'} {threshold:g} "
                    f"(pipeline {alarms.pipeline}, stage {alarms.stage})"
                ),
                "ActionsEnabled": True,
                "AlarmActions": [],  # SageMaker watches the state; nothing is run
                **_metric(check, endpoint, variant, dims, alarms.verification.period_seconds),
                "EvaluationPeriods": 1,
                "DatapointsToAlarm": 1,
                "Threshold": _threshold(check, threshold),
                "ComparisonOperator": (
                    "GreaterThanThreshold" if bound == "max" else "LessThanThreshold"
                ),
                "TreatMissingData": "notBreaching",
                # PutMetricAlarm tags a new alarm and ignores Tags on an update.
                "Tags": tagging.to_list(
                    {tagging.MANAGED_BY: controller_id, tagging.ENDPOINT: endpoint}
                ),
            }
            if "ExtendedStatistic" in request:
                request["EvaluateLowSampleCountPercentile"] = "ignore"
            found.append(request)
    return sorted(found, key=lambda r: str(r["AlarmName"]))


def _threshold(check: MetricCheck, value: float) -> float:
    return value * MICROSECONDS_PER_MS if check.latency is not None else float(value)


def _statistic(name: str) -> dict[str, str]:
    return {"Statistic": name} if name in _STATISTICS else {"ExtendedStatistic": name}


def _metric(
    check: MetricCheck, endpoint: str, variant: str, dims: list[dict[str, str]], seconds: int
) -> dict[str, Any]:
    """The alarm's metric (or metric math) for one check of one variant."""
    if check.error_rate is not None:

        def stat(ident: str, metric: str) -> dict[str, Any]:
            found = {"Namespace": SAGEMAKER_METRICS, "MetricName": metric, "Dimensions": dims}
            return {
                "Id": ident,
                "MetricStat": {"Metric": found, "Period": seconds, "Stat": "Sum"},
                "ReturnData": False,
            }

        rate = {"Id": "rate", "Expression": "errors / invocations", "Label": check.name}
        return {
            "Metrics": [
                stat("errors", check.error_rate.errors),
                stat("invocations", "Invocations"),
                {**rate, "ReturnData": True},
            ]
        }
    if check.latency is not None:
        latency = check.latency
        return {
            "Namespace": SAGEMAKER_METRICS,
            "MetricName": latency.metric,
            "Dimensions": dims,
            "Period": seconds,
            **_statistic(latency.statistic),
        }
    if check.math is not None:
        return {"Metrics": _math(check.math, endpoint, variant, seconds, check.name)}
    assert check.query is not None
    query = check.query
    return {
        "Namespace": query.namespace,
        "MetricName": query.metric_name,
        "Dimensions": _dimensions(query, endpoint, variant),
        "Period": seconds,
        **_statistic(query.statistic),
    }


def _dimensions(query: CustomQuery, endpoint: str, variant: str) -> list[dict[str, str]]:
    return [{"Name": n, "Value": v} for n, v in query.dimensions_for(endpoint, variant)]


def _math(
    math: MathQuery, endpoint: str, variant: str, seconds: int, label: str
) -> list[dict[str, Any]]:
    """A math check's metrics (not returned; ids `m_<id>`, so none is the expression's) and
    its expression (returned, id `value`)."""
    found: list[dict[str, Any]] = []
    for ident, metric in math.metrics.items():
        stat = {
            "Metric": {
                "Namespace": metric.namespace,
                "MetricName": metric.metric_name,
                "Dimensions": _dimensions(metric, endpoint, variant),
            },
            "Period": seconds,
            "Stat": metric.statistic,
        }
        found.append({"Id": f"m_{ident}", "MetricStat": stat, "ReturnData": False})
    expression = math.expression_with("m_")
    return [*found, {"Id": "value", "Expression": expression, "Label": label, "ReturnData": True}]
