"""CloudWatch `GetMetricData` over the sandbox's synthesised SageMaker invocation metrics.

moto answers GetMetricData only from what PutMetricData stored, and has no percentiles; a stage's
analysis needs `AWS/SageMaker` per-variant series (`Invocations`, the error counts, `ModelLatency`
and `OverheadLatency` in microseconds) for endpoints that serve no real traffic. This handler
builds them from `traffic` for every endpoint of the caller's account and region that is
InService or Updating, per production and shadow variant (dimensions `EndpointName` +
`VariantName`), and per inference component (dimension `InferenceComponentName`, where SageMaker
publishes a component's invocation metrics), from the moment its current status began
(`LastModifiedTime`); an unknown endpoint or component, or a window before that, has no
datapoints, as CloudWatch answers for a metric with no data. Any other metric is read from what
PutMetricData stored in the caller's account and region (a team's own data-quality or business
signal, which a stage's `query` check reads): the datapoints whose dimensions are exactly the
query's, grouped into the query's periods, with every statistic CloudWatch offers (percentiles
by nearest rank).

Also: metric math `Expression`s with + - * / and parentheses over other queries' ids (pointwise,
a division by zero drops the point, as CloudWatch does); other functions are refused by name.
"""

from __future__ import annotations

import ast
import math
import re
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.models import cloudwatch_backends

from controller.sandbox.cloudwatch.traffic import Profile, latency_statistic, noise
from controller.sandbox.components import handlers as component_handlers
from controller.sandbox.context import Context
from controller.sandbox.errors import ApiError
from controller.sandbox.hosting import endpoints as hosting_endpoints
from controller.sandbox.hosting import resources

NAMESPACE = "AWS/SageMaker"
MAX_QUERIES = 500
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_STAT = re.compile(r"^(?:Average|Minimum|Maximum|Sum|SampleCount|p\d{1,2}(?:\.\d{1,2})?)$")
SERVING = frozenset({"InService", "Updating"})
COUNTS = {
    "Invocation4XXErrors": "error4xx_rate",
    "Invocation5XXErrors": "error5xx_rate",
    "InvocationModelErrors": "model_error_rate",
}
LATENCIES = {"ModelLatency": "model_latency_ms", "OverheadLatency": "overhead_latency_ms"}


def _invalid(message: str, code: str = "InvalidParameterValue") -> ApiError:
    """CloudWatch's own error codes (query-compatible: botocore reads them from the header)."""
    return ApiError(code, message)


Points = dict[float, float]
"""Period start (epoch seconds) -> value."""


def get_metric_data(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    queries = params.get("MetricDataQueries") or []
    start, end = (
        _time(params.get("StartTime"), "StartTime"),
        _time(params.get("EndTime"), "EndTime"),
    )
    _check(queries, start, end)
    now = ctx.now()
    series: dict[str, Points] = {}
    variants: dict[tuple[str, str], Serving | None] = {}  # several queries read one variant
    for query in queries:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            series[query["Id"]] = _metric(ctx, stat, start, min(end, now), variants)
    for query in queries:
        if "Expression" in query:
            series[query["Id"]] = expression_points(query["Expression"], series)
    descending = params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    results = []
    for query in queries:
        if query.get("ReturnData", True) is False:
            continue
        points = sorted(series[query["Id"]].items(), reverse=descending)
        results.append(
            {
                "Id": query["Id"],
                "Label": query.get("Label") or _label(query),
                "Timestamps": [datetime.fromtimestamp(t, UTC) for t, _ in points],
                "Values": [v for _, v in points],
                "StatusCode": "Complete",
            }
        )
    return {"MetricDataResults": results, "Messages": []}


def _time(value: Any, name: str) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _invalid(f"The parameter {name} is required.", "MissingParameter")


def _check(queries: list[dict[str, Any]], start: float, end: float) -> None:
    if not queries:
        raise _invalid("The parameter MetricDataQueries is required.", "MissingParameter")
    if len(queries) > MAX_QUERIES:
        raise _invalid(
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )
    if start >= end:
        raise _invalid("The parameter StartTime must be less than the parameter EndTime.")
    seen: set[str] = set()
    for number, query in enumerate(queries, start=1):
        where = f"MetricDataQueries.member.{number}"
        ident = str(query.get("Id", ""))
        if not _ID.match(ident):
            raise _invalid(
                f"The value {ident} for parameter {where}.Id is not valid: it must start with a "
                "lowercase letter and contain only letters, numbers and underscores."
            )
        if ident in seen:
            raise _invalid(f"The value {ident} for parameter {where}.Id is duplicated.")
        seen.add(ident)
        if ("MetricStat" in query) == ("Expression" in query):
            raise _invalid(
                "Exactly one element of the MetricStat or the Expression must be specified in "
                f"{where}.",
                "InvalidParameterCombination",
            )
        stat = query.get("MetricStat")
        if stat is not None:
            period = stat.get("Period")
            if not isinstance(period, int) or not (
                period in (1, 5, 10, 30) or (period >= 60 and period % 60 == 0)
            ):
                raise _invalid(
                    f"The parameter {where}.MetricStat.Period must be 1, 5, 10, 30 or a multiple "
                    "of 60."
                )
            if not _STAT.match(str(stat.get("Stat", ""))):
                raise _invalid(
                    f"The value {stat.get('Stat')} for parameter {where}.MetricStat.Stat is not "
                    "valid."
                )


def _label(query: dict[str, Any]) -> str:
    stat = query.get("MetricStat")
    return str(stat["Metric"].get("MetricName", query["Id"])) if stat else str(query["Id"])


Serving = tuple[float, float, Profile]
"""(serving since, share of the endpoint's traffic, profile) of one variant."""


def _metric(
    ctx: Context,
    stat: dict[str, Any],
    start: float,
    end: float,
    variants: dict[tuple[str, str], Serving | None],
) -> Points:
    metric = stat["Metric"]
    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
    if metric.get("Namespace") != NAMESPACE:
        return _published(ctx, stat, start, end)
    if set(dims) == {"EndpointName", "VariantName"}:
        named = (dims["EndpointName"], dims["VariantName"])
        if named not in variants:
            variants[named] = _variant(ctx, *named)
    elif set(dims) == {"InferenceComponentName"}:
        named = ("", dims["InferenceComponentName"])  # no endpoint is named ""
        if named not in variants:
            variants[named] = _component(ctx, named[1])
    else:
        return _published(ctx, stat, start, end)
    found = variants[named]
    if found is None:
        return {}
    since, share, profile = found
    period = int(stat["Period"])
    scale = ctx.state.traffic.time_scale
    seed = ctx.state.traffic.seed
    points: Points = {}
    bucket = math.floor(start / period) * period
    while bucket < end and len(points) < 100_800:
        first = max(start, since, bucket)
        overlap = min(end, bucket + period) - first
        if overlap > 0:
            # The part of the period read is in the key: the same query answers the same
            # numbers, two windows inside one period do not.
            key = (*named, bucket, round(first, 3))
            invocations = round(
                profile.invocations_per_minute
                / 60.0
                * scale
                * overlap
                * share
                * noise(seed, *key, "Invocations")
            )
            got = value(metric["MetricName"], str(stat["Stat"]), profile, invocations, seed, key)
            if got is not None:
                points[float(bucket)] = got
        bucket += period
    return points


def value(
    name: str, stat: str, profile: Profile, invocations: int, seed: int, key: tuple[object, ...]
) -> float | None:
    if name == "Invocations":
        return (
            float(invocations) if stat in ("Sum", "SampleCount") else (1.0 if invocations else None)
        )
    if name in COUNTS:
        rate = getattr(profile, COUNTS[name])
        errors = round(invocations * rate * noise(seed, *key, name)) if rate else 0
        if stat in ("Sum",):
            return float(errors)
        if stat == "SampleCount":
            return float(invocations)
        if not invocations:
            return None
        return (
            errors / invocations
            if stat == "Average"
            else float(errors > 0 if stat == "Maximum" else 0)
        )
    if name in LATENCIES:
        if not invocations:
            return None  # no request, no latency sample: CloudWatch has no datapoint
        p50, p99 = getattr(profile, LATENCIES[name])
        ms = latency_statistic(p50, p99, stat, invocations)
        return ms * 1000.0 * (noise(seed, *key, name, stat) if stat != "SampleCount" else 1.0)
    return None


def _variant(ctx: Context, endpoint: str, variant: str) -> Serving | None:
    """How a serving variant's traffic looks; None when it is not serving."""
    try:
        described = hosting_endpoints.describe_endpoint(ctx, {"EndpointName": endpoint})
    except ApiError:
        return None
    if described is None or described.get("EndpointStatus") not in SERVING:
        return None
    since = _time(described.get("LastModifiedTime"), "LastModifiedTime")
    try:
        config = resources.describe_endpoint_config(
            ctx, {"EndpointConfigName": described["EndpointConfigName"]}
        )
    except ApiError:
        return None
    assert config is not None
    production = config.get("ProductionVariants", [])
    shadows = config.get("ShadowProductionVariants", [])
    weights = {
        v["VariantName"]: float(v.get("CurrentWeight", 1.0))
        for v in described.get("ProductionVariants", [])
    }
    total = sum(weights.values()) or 1.0
    chosen = next((v for v in [*production, *shadows] if v["VariantName"] == variant), None)
    if chosen is None:
        return None
    if chosen in shadows:
        weight = float(chosen.get("InitialVariantWeight", 1.0))
        share = min(1.0, weight / total)
    else:
        share = weights.get(variant, float(chosen.get("InitialVariantWeight", 1.0))) / total
    profile = ctx.state.traffic.profile(
        ctx.account, ctx.region, endpoint, model_package(ctx, chosen)
    )
    return since, share, profile


def _component(ctx: Context, name: str) -> Serving | None:
    """How a serving inference component's traffic looks (its own requests, all of them: a
    component is invoked by name); None when it is not serving."""
    try:
        described = component_handlers.describe_inference_component(
            ctx, {"InferenceComponentName": name}
        )
    except ApiError:
        return None
    if described is None or described.get("InferenceComponentStatus") not in SERVING:
        return None
    since = _time(described.get("LastModifiedTime"), "LastModifiedTime")
    model = (described.get("Specification") or {}).get("ModelName")
    package = model_package(ctx, {"ModelName": model})
    endpoint = str(described.get("EndpointName", ""))
    return since, 1.0, ctx.state.traffic.profile(ctx.account, ctx.region, endpoint, package)


def model_package(ctx: Context, variant: dict[str, Any]) -> str | None:
    """The model package ARN the variant's Model deploys, if it deploys one."""
    name = variant.get("ModelName")
    if not name:
        return None
    try:
        model = resources.describe_model(ctx, {"ModelName": name})
    except ApiError:
        return None
    assert model is not None
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    packages = [c["ModelPackageName"] for c in containers if c.get("ModelPackageName")]
    return str(packages[0]) if packages else None


# -- metric math ------------------------------------------------------------------------------

_OPERATORS = {ast.Add: float.__add__, ast.Sub: float.__sub__, ast.Mult: float.__mul__}


def expression_points(text: str, series: dict[str, Points]) -> Points:
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise _invalid(f"Error in expression: {text!r} is not valid metric math.") from None
    result = _evaluate(tree, series, text)
    if isinstance(result, float):
        raise _invalid(f"Error in expression: {text!r} refers to no metric.")
    return result


def _evaluate(node: ast.AST, series: dict[str, Points], text: str) -> Points | float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in series:
            raise _invalid(f"Error in expression: unknown metric id {node.id!r}.")
        return series[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _combine(-1.0, _evaluate(node.operand, series, text), float.__mul__)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (*_OPERATORS, ast.Div)):
        left = _evaluate(node.left, series, text)
        right = _evaluate(node.right, series, text)
        if isinstance(node.op, ast.Div):
            return _combine(left, right, _divide)
        return _combine(left, right, _OPERATORS[type(node.op)])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        raise _invalid(
            f"Error in expression: function {node.func.id} is not supported by the sandbox "
            "(arithmetic only)."
        )
    raise _invalid(f"Error in expression: {text!r} is not valid metric math.")


def _divide(a: float, b: float) -> float:
    return a / b if b else math.nan


def _combine(left: Points | float, right: Points | float, op: Any) -> Points | float:
    if isinstance(left, float) and isinstance(right, float):
        return float(op(left, right))
    if isinstance(left, float):
        out = {t: op(left, v) for t, v in right.items()}  # type: ignore[union-attr]
    elif isinstance(right, float):
        out = {t: op(v, right) for t, v in left.items()}
    else:
        out = {t: op(v, right[t]) for t, v in left.items() if t in right}
    return {t: v for t, v in out.items() if not math.isnan(v)}


def _published(ctx: Context, stat: dict[str, Any], start: float, end: float) -> Points:
    """What PutMetricData stored for exactly this metric, per period of the window."""
    metric = stat["Metric"]
    wanted = {(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])}
    period = int(stat["Period"])
    buckets: dict[float, list[float]] = {}
    backend = cloudwatch_backends[ctx.account][ctx.region]
    for datum in backend.metric_data:
        value = getattr(datum, "value", None)  # raw values only (not StatisticValues sets)
        if value is None or datum.namespace != metric.get("Namespace"):
            continue
        if datum.name != metric.get("MetricName"):
            continue
        if {(d.name, d.value) for d in datum.dimensions} != wanted:
            continue
        stamp = datum.timestamp
        when = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
        bucket = math.floor(when / period) * period
        if bucket < end and bucket + period > start:  # the periods the window touches
            buckets.setdefault(float(bucket), []).append(float(value))
    return {b: _statistic(str(stat["Stat"]), values) for b, values in buckets.items()}


def _statistic(name: str, values: list[float]) -> float:
    ordered = sorted(values)
    if name == "Sum":
        return sum(ordered)
    if name == "SampleCount":
        return float(len(ordered))
    if name == "Average":
        return sum(ordered) / len(ordered)
    if name == "Minimum":
        return ordered[0]
    if name == "Maximum":
        return ordered[-1]
    rank = max(1, math.ceil(float(name[1:]) / 100 * len(ordered)))  # pNN: nearest rank
    return ordered[rank - 1]
