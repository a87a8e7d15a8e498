"""One stage's analysis, as pure functions: the CloudWatch queries a measurement needs, what a
measurement's numbers say, and the phase of a run of measurements.

The semantics are Argo Rollouts' AnalysisRun's, so they read the same to teams who know it:
`count` measurements `interval` apart; more Failed measurements than `failureLimit` fails the run,
more Inconclusive than `inconclusiveLimit` makes it Inconclusive, more errors in a row than
`consecutiveErrorLimit` makes it Error; Successful once `count` measurements are taken without
reaching a limit. What is SageMaker's own:

- A subject is one endpoint variant, or one inference component, serving the pipeline's group.
  Queries are written in manifest terms and built here from what the controller already knows
  (`AWS/SageMaker`, dimensions `EndpointName` + `VariantName` for a variant,
  `InferenceComponentName` for a component, as SageMaker publishes a component's invocation
  metrics; a `math` check's metrics and expression go in the same batch), so a measurement of a
  whole stage is one `GetMetricData` call per target, not one per endpoint (up to 500 queries a
  call).
- Too little traffic is never a pass: a subject with fewer than `minInvocations` in the window,
  or a check with no datapoints, is Inconclusive. Thresholds on a handful of requests are noise
  either way, so too few invocations is Inconclusive even when the few look bad.
- A stage's measurement is its worst subject's: any Failed fails it, else any Inconclusive.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from controller.manifests.pipelines import conditions
from controller.manifests.pipelines.model import (
    MICROSECONDS_PER_MS,
    SAGEMAKER_METRICS,
    CustomQuery,
    MathQuery,
    MetricCheck,
    Verification,
)


class Phase(enum.Enum):
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


@dataclass(frozen=True)
class Subject:
    """One endpoint variant under analysis, and where its metrics live."""

    location: str
    """The target name (or region) whose account and region hold the endpoint."""
    endpoint: str
    variant: str
    """The variant, or for a component the variant hosting it."""
    component: str = ""
    """The inference component measured; "" for a variant."""

    @property
    def shown(self) -> str:
        """How reports name the subject: `endpoint/variant` or `endpoint/component`."""
        return f"{self.endpoint}/{self.component or self.variant}"


@dataclass(frozen=True)
class Query:
    """One `MetricDataQueries` entry (a `MetricStat`, or metric math over other entries), for
    subject number `subject`."""

    subject: int
    id: str
    namespace: str = ""
    metric: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = ""
    expression: str = ""
    """Metric math over other entries' ids; then this entry is the one whose values count."""
    returned: bool = True
    """False for a metric that only feeds an expression (CloudWatch returns no values for it)."""

    def as_request(self, period: int) -> dict[str, object]:
        """The entry as GetMetricData takes it."""
        if self.expression:
            return {"Id": self.id, "Expression": self.expression, "ReturnData": True}
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric,
                    "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
                },
                "Period": period,
                "Stat": self.statistic,
            },
            "ReturnData": self.returned,
        }


def _dimensions(subject: Subject) -> tuple[tuple[str, str], ...]:
    if subject.component:
        return (("InferenceComponentName", subject.component),)
    return (("EndpointName", subject.endpoint), ("VariantName", subject.variant))


def invocations_id(index: int) -> str:
    return f"s{index}_invocations"


def check_id(index: int, check: int) -> str:
    return f"s{index}_c{check}"


def errors_id(index: int, check: int) -> str:
    return f"s{index}_c{check}_errors"


def queries(verification: Verification, subjects: Sequence[Subject]) -> list[Query]:
    """Every query one measurement needs, ids `s<subject>_...` (CloudWatch's Id pattern)."""
    found: list[Query] = []
    for index, subject in enumerate(subjects):
        dims = _dimensions(subject)
        found.append(
            Query(index, invocations_id(index), SAGEMAKER_METRICS, "Invocations", dims, "Sum")
        )
        for number, check in enumerate(verification.metrics):
            if check.error_rate is not None:
                errors = check.error_rate.errors
                found.append(
                    Query(index, errors_id(index, number), SAGEMAKER_METRICS, errors, dims, "Sum")
                )
            elif check.latency is not None:
                latency = check.latency
                found.append(
                    Query(
                        index,
                        check_id(index, number),
                        SAGEMAKER_METRICS,
                        latency.metric,
                        dims,
                        latency.statistic,
                    )
                )
            elif check.math is not None:
                found += _math(index, number, check.math, subject)
            elif check.query is not None:
                found.append(_custom(index, check_id(index, number), check.query, subject))
    return found


def _custom(
    index: int, ident: str, query: CustomQuery, subject: Subject, *, returned: bool = True
) -> Query:
    """A metric the manifest names, with the subject's names put in its dimensions."""
    dims = query.dimensions_for(subject.endpoint, subject.variant, subject.component)
    return Query(
        index, ident, query.namespace, query.metric_name, dims, query.statistic, returned=returned
    )


def _math(index: int, number: int, math: MathQuery, subject: Subject) -> list[Query]:
    """A math check's metrics (ids made unique in the batch: `s<subject>_c<check>_<id>`, values
    not returned) and the expression over them, whose values are the check's."""
    prefix = f"{check_id(index, number)}_"
    found = [
        _custom(index, prefix + ident, metric, subject, returned=False)
        for ident, metric in math.metrics.items()
    ]
    expression = math.expression_with(prefix)
    return [*found, Query(index, check_id(index, number), expression=expression)]


Series = Mapping[str, Sequence[float]]
"""Query id -> the values of its datapoints in the window (any order)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    value: float | None
    """None when there was no datapoint (or no invocation to divide by)."""
    phase: Phase
    detail: str = ""


@dataclass(frozen=True)
class SubjectResult:
    subject: Subject
    invocations: float
    phase: Phase
    checks: tuple[CheckResult, ...]
    reason: str = ""


@dataclass(frozen=True)
class Measurement:
    """One measurement of the whole stage."""

    at: str
    """ISO 8601 UTC time of the measurement."""
    phase: Phase
    subjects: tuple[SubjectResult, ...] = ()
    error: str = ""
    """Why the measurement could not be taken (phase Error)."""


def _combine(statistic: str, values: Sequence[float]) -> float:
    """One value for the window from its datapoints: counts add up, an average is averaged, and
    the worst datapoint stands for a percentile or an extreme (conservative for a gate)."""
    if statistic in ("Sum", "SampleCount"):
        return float(sum(values))
    if statistic == "Average":
        return float(sum(values) / len(values))
    if statistic == "Minimum":
        return float(min(values))
    return float(max(values))


def _value(
    check: MetricCheck, index: int, number: int, series: Series, invocations: float
) -> float | None:
    if check.error_rate is not None:
        errors = series.get(errors_id(index, number), ())
        if invocations <= 0:
            return None
        return float(sum(errors)) / invocations
    values = series.get(check_id(index, number), ())
    if not values:
        return None
    if check.latency is not None:
        return _combine(check.latency.statistic, values) / MICROSECONDS_PER_MS
    if check.math is not None:
        return _combine("Average", values)  # one period per window: one value, as a rule
    assert check.query is not None
    return _combine(check.query.statistic, values)


def judge(check: MetricCheck, value: float | None) -> CheckResult:
    """A check's verdict on one value."""
    if value is None:
        return CheckResult(check.name, None, Phase.INCONCLUSIVE, "no datapoints")
    if check.max is not None and value > check.max:
        return CheckResult(check.name, value, Phase.FAILED, f"{value:.4g} > max {check.max:g}")
    if check.min is not None and value < check.min:
        return CheckResult(check.name, value, Phase.FAILED, f"{value:.4g} < min {check.min:g}")
    if check.condition is not None and not conditions.holds(
        conditions.parse(check.condition), value
    ):
        detail = f"{value:.4g} fails {check.condition}"
        return CheckResult(check.name, value, Phase.FAILED, detail)
    return CheckResult(check.name, value, Phase.SUCCESSFUL)


def evaluate(
    verification: Verification, subjects: Sequence[Subject], series: Series, at: str
) -> Measurement:
    """The stage's measurement from the series every query returned."""
    results = []
    for index, subject in enumerate(subjects):
        invocations = float(sum(series.get(invocations_id(index), ())))
        checks = tuple(
            judge(check, _value(check, index, number, series, invocations))
            for number, check in enumerate(verification.metrics)
        )
        if invocations < verification.min_invocations:
            reason = (
                f"{invocations:.0f} invocations < minInvocations {verification.min_invocations}"
            )
            results.append(SubjectResult(subject, invocations, Phase.INCONCLUSIVE, checks, reason))
            continue
        results.append(SubjectResult(subject, invocations, _worst(c.phase for c in checks), checks))
    return Measurement(at, _worst(r.phase for r in results), tuple(results))


def evaluate_shadow(
    verification: Verification, subjects: Sequence[Subject], series: Series, at: str
) -> Measurement:
    """A shadow gate's measurement: `subjects` come in pairs, each endpoint's shadow variant
    (even index) then its production variant. Only the shadow is judged; a check with `compare`
    judges its value against production's over the same window, on the same endpoint, so a
    busy hour or a slow dependency moves both and cancels out."""
    results = []
    for shadow in range(0, len(subjects) - 1, 2):
        production = shadow + 1
        mine = float(sum(series.get(invocations_id(shadow), ())))
        theirs = float(sum(series.get(invocations_id(production), ())))
        checks = []
        for number, check in enumerate(verification.metrics):
            value = _value(check, shadow, number, series, mine)
            if check.compare is not None:
                base = _value(check, production, number, series, theirs)
                value = _compared(check.compare, value, base)
            checks.append(judge(check, value))
        least = min(mine, theirs)
        if least < verification.min_invocations:
            reason = (
                f"{least:.0f} invocations (shadow {mine:.0f}, production {theirs:.0f}) "
                f"< minInvocations {verification.min_invocations}"
            )
            result = SubjectResult(
                subjects[shadow], mine, Phase.INCONCLUSIVE, tuple(checks), reason
            )
        else:
            phase = _worst(c.phase for c in checks)
            result = SubjectResult(subjects[shadow], mine, phase, tuple(checks))
        results.append(result)
    return Measurement(at, _worst(r.phase for r in results), tuple(results))


def _compared(how: str, value: float | None, base: float | None) -> float | None:
    """Shadow against production; None (Inconclusive) when either is missing, or for a ratio
    over a production value of 0 (nothing to scale by)."""
    if value is None or base is None:
        return None
    if how == "difference":
        return value - base
    return value / base if base else None


def _worst(phases: Iterable[Phase]) -> Phase:
    found = set(phases)
    for phase in (Phase.FAILED, Phase.INCONCLUSIVE):
        if phase in found:
            return phase
    return Phase.SUCCESSFUL


@dataclass
class Run:
    """The measurements taken so far and the phase they add up to."""

    verification: Verification
    measurements: list[Measurement] = field(default_factory=list)

    def counts(self) -> dict[Phase, int]:
        found = {phase: 0 for phase in Phase}
        for measurement in self.measurements:
            found[measurement.phase] += 1
        return found

    def consecutive_errors(self) -> int:
        errors = 0
        for measurement in reversed(self.measurements):
            if measurement.phase is not Phase.ERROR:
                break
            errors += 1
        return errors

    def phase(self) -> Phase:
        v = self.verification
        counts = self.counts()
        if counts[Phase.FAILED] > v.failure_limit:
            return Phase.FAILED
        if counts[Phase.INCONCLUSIVE] > v.inconclusive_limit:
            return Phase.INCONCLUSIVE
        if self.consecutive_errors() > v.consecutive_error_limit:
            return Phase.ERROR
        taken = len(self.measurements) - counts[Phase.ERROR]
        return Phase.SUCCESSFUL if taken >= v.count else Phase.RUNNING

    def attempts_left(self) -> bool:
        """Whether another measurement may be taken: bounded by `count` plus the errors allowed
        in a row, so a flapping API cannot keep a run going forever."""
        limit = self.verification.count + self.verification.consecutive_error_limit
        return self.phase() is Phase.RUNNING and len(self.measurements) < limit
