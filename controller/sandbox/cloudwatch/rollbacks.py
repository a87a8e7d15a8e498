"""UpdateEndpoint's `DeploymentConfig.AutoRollbackConfiguration` in the sandbox: a deployment
whose alarms would go into ALARM on the new config's traffic rolls back.

In AWS the new fleet takes traffic, the alarms are watched while it bakes, and one in ALARM
rolls the deployment back. The sandbox decides when the update starts, deterministically: each
alarm the DeploymentConfig names (and moto's CloudWatch holds) is evaluated on one period of
the traffic the new config's variants would serve (their versions' profiles, split by
weight), with the same synthesis `metrics` answers GetMetricData with, single-metric alarms and
metric math alike. A breaching alarm makes the update end as a failed one does: Updating ->
RollingBack -> InService on the old config, with a FailureReason naming the alarm. A named
alarm that does not exist cannot fire; an alarm on another endpoint's (or another namespace's)
metric has no data here, which with `notBreaching` never rolls back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from controller.sandbox.cloudwatch import metrics
from controller.sandbox.context import Context

_OPERATORS = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def alarm_failure(
    ctx: Context, endpoint: str, spec: dict[str, Any], deployment_config: dict[str, Any] | None
) -> str | None:
    """The FailureReason of an update rolled back by one of its alarms, or None."""
    rollback = (deployment_config or {}).get("AutoRollbackConfiguration") or {}
    names = [str(a["AlarmName"]) for a in rollback.get("Alarms") or []]
    if not names:  # most updates name no alarm
        return None
    backend = cloudwatch_backends[ctx.account][ctx.region]
    variants = {str(v["VariantName"]): v for v in spec["ProductionVariants"]}
    total = sum(float(v.get("InitialVariantWeight", 1.0)) for v in variants.values()) or 1.0
    serving = _Serving(endpoint, variants, total)
    for name in names:
        alarm = backend.alarms.get(name)
        if alarm is None or alarm.comparison_operator not in _OPERATORS:
            continue
        value = _value(ctx, alarm, serving)
        if value is not None and _OPERATORS[alarm.comparison_operator](value, alarm.threshold):
            return (
                f"The update was rolled back because CloudWatch alarm {name} went into ALARM "
                f"state ({value:.4g} against threshold {alarm.threshold:g})."
            )
    return None


@dataclass(frozen=True)
class _Serving:
    """What the new config serves: the endpoint, its variants by name, their total weight."""

    endpoint: str
    variants: dict[str, Any]
    total: float


def _value(ctx: Context, alarm: Any, serving: _Serving) -> float | None:
    """The alarm's metric (or its metric math's returned query) over one period."""
    if not alarm.metric_data_queries:
        dims = {d.name: d.value for d in alarm.dimensions}
        stat = alarm.extended_statistic or alarm.statistic
        metric = (alarm.namespace, alarm.metric_name, dims, int(alarm.period), stat)
        return _stat(ctx, metric, serving)
    series: dict[str, metrics.Points] = {}
    returned = None
    for query in alarm.metric_data_queries:
        stat = query.metric_stat
        if stat is not None:
            found = stat.metric
            dims = {d.name: d.value for d in found.dimensions}
            metric = (found.namespace, found.metric_name, dims, int(stat.period), str(stat.stat))
            value = _stat(ctx, metric, serving)
            series[query.id] = {} if value is None else {0.0: value}
    for query in alarm.metric_data_queries:
        if query.expression:
            series[query.id] = metrics.expression_points(query.expression, series)
        if str(query.return_data).lower() != "false":
            returned = query.id
    points = series.get(returned or "", {})
    return next(iter(points.values()), None)


def _stat(
    ctx: Context, metric: tuple[str, str, dict[str, str], int, str], serving: _Serving
) -> float | None:
    """One period of a variant's synthesised metric as the new config would serve it."""
    namespace, name, dims, period, stat = metric
    if namespace != metrics.NAMESPACE or set(dims) != {"EndpointName", "VariantName"}:
        return None
    variant = serving.variants.get(dims["VariantName"])
    if variant is None or dims["EndpointName"].lower() != serving.endpoint.lower():
        return None
    package = metrics.model_package(ctx, variant)
    profile = ctx.state.traffic.profile(ctx.account, ctx.region, serving.endpoint, package)
    share = float(variant.get("InitialVariantWeight", 1.0)) / serving.total
    invocations = math.floor(profile.invocations_per_minute * period / 60.0 * share)
    key = (serving.endpoint, str(variant["VariantName"]), "rollback")
    return metrics.value(name, stat, profile, invocations, ctx.state.traffic.seed, key)
