"""`kind: Pipeline` manifests: the ordered stages a model package group's versions walk through,
and how each stage verifies a version on its endpoints' live CloudWatch metrics.

A pipeline lives in the manifest tree beside the endpoints it names, so one loader reports every
problem with `file:line: path:` and a stage is reviewed like any other change. A stage selects its
endpoints the way `promote` does (names, targets, labels; every kind given must match) rather
than by file path: paths move when a tree is reorganised, while labels and targets are what
environment templates and endpoint sets already stamp on each environment's endpoints.

A stage's name is also what the controller records as the version's `ModelLifeCycle.Stage` in
the Model Registry, so it follows that field's pattern (botocore's SageMaker model).
"""

from __future__ import annotations

import graphlib
import math
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from controller.manifests import botocore_model as api
from controller.manifests.models import TARGET_NAME_PATTERN, GroupName, Strict, VariantName
from controller.manifests.pipelines import conditions

PIPELINE_NAME_PATTERN = TARGET_NAME_PATTERN
"""Pipeline names: lower case, digits and '-', at most 63 (they appear in commits and metrics)."""

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_SECONDS = 86_400
"""Analysis durations are bounded by a day: a longer soak is a separate, explicit decision."""

StageName = Annotated[
    str,
    Field(
        pattern=api.pattern("EntityName"),  # ModelLifeCycle.Stage's shape
        min_length=1,
        max_length=api.shape("EntityName")["max"],
    ),
]
"""A stage name is recorded as the version's ModelLifeCycle.Stage: the same pattern."""

SAGEMAKER_METRICS = "AWS/SageMaker"
"""The namespace of SageMaker's invocation metrics (per variant, and per inference component)."""
MICROSECONDS_PER_MS = 1000.0
"""CloudWatch reports latencies in microseconds; checks are written in milliseconds."""
LATENCY_METRICS = ("ModelLatency", "OverheadLatency")
ERROR_METRICS = ("Invocation5XXErrors", "Invocation4XXErrors", "InvocationModelErrors")
_STATISTIC = re.compile(r"^(?:Average|Minimum|Maximum|Sum|SampleCount|p\d{1,2}(?:\.\d{1,2})?)$")


def parse_seconds(text: str | int | float) -> float:
    """'30s', '5m', '1h', '1m30s' or a number of seconds -> seconds (more than 0, at most a day)."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h")
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(text.strip().lower())
        if not match or not any(match.groups()):
            raise ValueError(f"duration {text!r}: use e.g. 30s, 5m, 1h or 1m30s")
        hours, minutes, secs = (int(g or 0) for g in match.groups())
        seconds = float(hours * 3600 + minutes * 60 + secs)
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"duration {text!r} must be more than 0 and at most 24h")
    return seconds


Duration = Annotated[str | int | float, Field(union_mode="left_to_right")]


def _refuse_repeats(what: str, names: list[str]) -> None:
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{what} names must be unique: {', '.join(twice)} repeated")


class PipelineMetadata(Strict):
    """Identity of the pipeline."""

    name: str = Field(pattern=PIPELINE_NAME_PATTERN)
    """Pipeline name (lower case, digits and '-', at most 63)."""
    labels: dict[str, str] = {}
    """Free-form labels."""


class StageEndpoints(Strict):
    """Which endpoints make up a stage; every kind of selector given must match."""

    names: list[str] = []
    """Endpoint names (`metadata.name`); any of them."""
    targets: list[Annotated[str, Field(pattern=TARGET_NAME_PATTERN)]] = []
    """Deployment targets (`spec.target`); any of them."""
    match_labels: dict[str, str] = {}
    """Labels every selected endpoint carries (`metadata.labels`)."""

    @model_validator(mode="after")
    def _something(self) -> StageEndpoints:
        if not (self.names or self.targets or self.match_labels):
            raise ValueError("give names, targets or matchLabels: a stage selects its endpoints")
        return self


class ErrorRate(Strict):
    """Errors per invocation over the window: `errors` summed / `Invocations` summed."""

    errors: Literal["Invocation5XXErrors", "Invocation4XXErrors", "InvocationModelErrors"] = (
        "Invocation5XXErrors"
    )
    """Which error count (AWS/SageMaker, per variant)."""


class Latency(Strict):
    """A latency statistic of the variant, in milliseconds (CloudWatch reports microseconds)."""

    metric: Literal["ModelLatency", "OverheadLatency"] = "ModelLatency"
    statistic: str = "p99"
    """Average, Minimum, Maximum or a percentile such as p99 or p99.9."""

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str) -> str:
        if not _STATISTIC.match(value) or value in {"Sum", "SampleCount"}:
            raise ValueError(f"{value!r} is not a latency statistic (Average, Maximum, p99, ...)")
        return value


class CustomQuery(Strict):
    """Any CloudWatch metric, per endpoint variant: `{endpoint}`, `{variant}` and `{component}`
    in a dimension value are replaced by the endpoint's, the variant's and the inference
    component's names."""

    namespace: str = Field(min_length=1, max_length=255)
    metric_name: str = Field(min_length=1, max_length=255)
    dimensions: dict[str, str] = {}
    statistic: str = "Average"
    """Average, Minimum, Maximum, Sum, SampleCount or a percentile (p99)."""

    @field_validator("statistic")
    @classmethod
    def _statistic(cls, value: str) -> str:
        if not _STATISTIC.match(value):
            raise ValueError(f"{value!r} is not a CloudWatch statistic (Average, Sum, p99, ...)")
        return value

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 30:
            raise ValueError("at most 30 dimensions (CloudWatch's limit)")
        return value

    def dimensions_for(
        self, endpoint: str, variant: str, component: str = ""
    ) -> tuple[tuple[str, str], ...]:
        """(name, value) of each dimension, sorted, with the subject's names put in: what the
        analysis queries and the rollback alarms watch alike."""
        return tuple(
            (
                name,
                value.replace("{endpoint}", endpoint)
                .replace("{variant}", variant)
                .replace("{component}", component),
            )
            for name, value in sorted(self.dimensions.items())
        )


_MATH_ID = re.compile(r"^[a-z][a-zA-Z0-9_]{0,29}$")
_IDENTIFIER = re.compile(r"\b[a-z][a-zA-Z0-9_]*\b")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


class MathQuery(Strict):
    """CloudWatch metric math over named metrics: `expression` refers to each of `metrics` by
    its id (CloudWatch's Id pattern, lower case first); functions (`SUM`, `IF`, ...) are
    CloudWatch's own. The expression's value is the check's."""

    expression: str = Field(min_length=1, max_length=2048)
    metrics: dict[str, CustomQuery] = Field(min_length=1, max_length=10)

    @field_validator("metrics")
    @classmethod
    def _ids(cls, value: dict[str, CustomQuery]) -> dict[str, CustomQuery]:
        bad = sorted(k for k in value if not _MATH_ID.match(k))
        if bad:
            raise ValueError(
                f"metric id(s) {', '.join(map(repr, bad))}: start with a lower-case letter, then "
                "letters, digits or '_' (at most 30)"
            )
        return value

    def expression_with(self, prefix: str) -> str:
        """The expression with each metric id prefixed (ids unique in a larger batch)."""
        parts = re.split(f"({_QUOTED.pattern})", self.expression)  # quoted text kept as written
        return "".join(
            part
            if index % 2
            else _IDENTIFIER.sub(lambda m: prefix + m[0] if m[0] in self.metrics else m[0], part)
            for index, part in enumerate(parts)
        )

    @model_validator(mode="after")
    def _refers(self) -> MathQuery:
        # Lower-case names outside quotes are metric ids (CloudWatch's functions are upper case).
        used = set(_IDENTIFIER.findall(_QUOTED.sub("", self.expression)))
        unknown = sorted(used - set(self.metrics))
        if unknown:
            raise ValueError(
                f"the expression names {', '.join(map(repr, unknown))}, not in metrics"
            )
        unused = sorted(set(self.metrics) - used)
        if unused:
            raise ValueError(f"the expression uses no metric {', '.join(map(repr, unused))}")
        return self


class MetricCheck(Strict):
    """One measured value and the range it must stay in."""

    name: str = Field(pattern=r"^[a-z][a-zA-Z0-9_-]{0,62}$")
    """Names the check in reports, metrics and commit messages."""
    error_rate: ErrorRate | None = None
    latency: Latency | None = None
    query: CustomQuery | None = None
    math: MathQuery | None = None
    max: float | None = None
    """Fail when the value is above this."""
    min: float | None = None
    """Fail when the value is below this."""
    condition: str | None = None
    """Fail unless this holds: an expression over `value` (`value < 0.01 or value > 0.99`;
    numbers, + - * /, comparisons, and, or, not, abs), for what one range cannot say. With
    `max` or `min` too, all must hold."""
    compare: Literal["ratio", "difference"] | None = None
    """Only in a `shadow` gate: judge the shadow variant's value against production's on the
    same endpoint, as `ratio` (shadow / production: a latency 20% worse is 1.2) or `difference`
    (shadow - production: an error rate half a point worse is 0.005)."""

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            conditions.parse(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> MetricCheck:
        sources = (self.error_rate, self.latency, self.query, self.math)
        if len([s for s in sources if s is not None]) != 1:
            raise ValueError("give exactly one of errorRate, latency, query or math")
        if self.max is None and self.min is None and self.condition is None:
            raise ValueError("give max, min or a condition: a check needs a threshold")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self


class Verification(Strict):
    """An analysis run after the stage's endpoints converge on a version (Argo Rollouts'
    AnalysisRun semantics: `count` measurements `interval` apart after `initialDelay`)."""

    interval: Duration = "1m"
    """Time between measurements, and the window each one reads (30s, 5m, 1h)."""
    count: int = Field(default=5, ge=1, le=1000, strict=True)
    """Measurements to take; Successful once all are taken without reaching a limit."""
    initial_delay: Duration = "0s"
    """Wait this long after convergence before the first measurement (CloudWatch lags ~1 min)."""
    failure_limit: int = Field(default=0, ge=0, strict=True)
    """Failed measurements tolerated; one more fails the analysis."""
    inconclusive_limit: int = Field(default=0, ge=0, strict=True)
    """Inconclusive measurements tolerated; one more makes the analysis Inconclusive."""
    consecutive_error_limit: int = Field(default=4, ge=0, strict=True)
    """Measurements in a row that could not be taken (API errors) before the analysis errors."""
    min_invocations: int = Field(default=100, ge=0, strict=True)
    """Invocations an endpoint needs in a window for its measurement to count; fewer is
    Inconclusive, never Successful."""
    metrics: list[MetricCheck] = Field(min_length=1, max_length=50)

    @field_validator("interval", "initial_delay")
    @classmethod
    def _duration(cls, value: str | int | float, info: object) -> str | int | float:
        name = getattr(info, "field_name", "")
        if name == "initial_delay" and value in ("0s", 0, "0"):
            return value
        parse_seconds(value)
        return value

    @field_validator("metrics")
    @classmethod
    def _unique(cls, value: list[MetricCheck]) -> list[MetricCheck]:
        _refuse_repeats("metric", [m.name for m in value])
        return value

    @property
    def interval_seconds(self) -> float:
        return parse_seconds(self.interval)

    @property
    def period_seconds(self) -> int:
        """CloudWatch's period for a window of `interval`: SageMaker publishes per minute, so
        whole minutes, at least one (the analysis and the rollback alarms read the same)."""
        return 60 * max(1, math.ceil(self.interval_seconds / 60))

    @property
    def initial_delay_seconds(self) -> float:
        return 0.0 if self.initial_delay in ("0s", 0, "0") else parse_seconds(self.initial_delay)


class ShadowGate(Strict):
    """Verify a version as a shadow of production before it serves: `run --promote` first adds
    it as each endpoint's shadow variant (a copy of production's requests, responses dropped),
    measures it against production on the same endpoints, then swaps it in and drops the
    shadow, or drops the shadow and holds the version."""

    variant: VariantName = "shadow"
    """The shadow variant's name (ShadowProductionVariants); its capacity is copied from the
    endpoint's production variant."""
    sampling_weight: float = Field(default=1.0, gt=0, le=1.0)
    """The shadow's InitialVariantWeight: the share of production's requests copied to it,
    relative to production's weight (1: every request)."""
    verification: Verification
    """The analysis of the shadow; checks with `compare` judge it against production."""


class Stage(Strict):
    """One environment a version passes through, in pipeline order."""

    name: StageName
    endpoints: StageEndpoints
    verification: Verification | None = None
    """How a version is verified here; without it a stage is never verified (promotion past it
    needs `--force`)."""
    auto_promote: bool | None = None
    """`run --promote` writes the promotion into this stage by itself once the stage before
    verified the version (the first stage: once a newer version is Approved). Unset: on, except
    for a stage whose endpoints deploy to a target labelled `prod` or `production` (any label
    key), which a human promotes, as Kargo keeps production's auto-promotion off by default."""
    required_soak_time: Duration | None = None
    """How long the version must have been Verified in the stage before this one before it is
    promoted here (Kargo's requiredSoakTime)."""
    write: Literal["commit", "pullRequest"] = "commit"
    """How `run --promote` writes a promotion (or an auto-rollback) into this stage: a commit
    pushed to the branch it follows, or a pull request against it."""
    auto_rollback: bool = False
    """When this stage's verification fails, also write the revert to the last version this stage
    verified (same `write`). A failed version is held either way: never auto-promoted again."""
    shadow: ShadowGate | None = None
    """A version enters this stage as a shadow first and serves only once the shadow's analysis
    passed (`run --promote`); its verdict is recorded as stage `<name>-shadow`."""
    after: list[StageName] | None = None
    """The stages this one takes its versions from (fan-in): a version moves here only once
    every one of them has verified it. Unset: the stage before in the list (the first stage
    takes the newest Approved version from the registry); `[]` makes a stage a root too."""

    @field_validator("after")
    @classmethod
    def _after(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            _refuse_repeats("after", value)
        return value

    @model_validator(mode="after")
    def _compare_only_in_shadow(self) -> Stage:
        if self.verification and any(m.compare for m in self.verification.metrics):
            raise ValueError(
                "compare is for a shadow gate's checks (shadow.verification): a stage's own "
                "verification has no production to compare with"
            )
        if self.shadow is not None and len(self.name) > 56:
            raise ValueError("a stage with a shadow gate has a name of at most 56 characters")
        return self

    @property
    def shadow_stage(self) -> str:
        """Where the shadow gate's verdict is recorded (a ModelLifeCycle stage of its own)."""
        return f"{self.name}-shadow"

    @field_validator("required_soak_time")
    @classmethod
    def _soak(cls, value: str | int | float | None) -> str | int | float | None:
        if value is not None:
            parse_seconds(value)
        return value

    @property
    def soak_seconds(self) -> float:
        return 0.0 if self.required_soak_time is None else parse_seconds(self.required_soak_time)


class PipelineSpec(Strict):
    """The groups a pipeline moves and its stages, first to last."""

    package_groups: list[GroupName] = Field(min_length=1)
    """Model package groups whose versions walk these stages."""
    stages: list[Stage] = Field(min_length=1, max_length=20)

    @field_validator("stages")
    @classmethod
    def _unique(cls, value: list[Stage]) -> list[Stage]:
        _refuse_repeats("stage", [s.name for s in value])
        return value


class PipelineManifest(Strict):
    """A `kind: Pipeline` document."""

    api_version: Literal["sagemaker-gitops/v1"]
    kind: Literal["Pipeline"]
    metadata: PipelineMetadata
    spec: PipelineSpec

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.spec.stages if s.name == name), None)

    def upstreams(self, name: str) -> list[Stage]:
        """The stages `name` takes its versions from: its `after`, else the stage before it in
        the list; none for a root (or an unknown) stage. Unknown names are left out (`validate`
        refuses them)."""
        stages = self.spec.stages
        names = [s.name for s in stages]
        if name not in names:
            return []
        stage = stages[names.index(name)]
        if stage.after is not None:
            return [stages[names.index(n)] for n in stage.after if n in names]
        index = names.index(name)
        return [stages[index - 1]] if index > 0 else []

    def ordered(self) -> list[Stage]:
        """The stages, each after every stage it takes versions from, in list order where that
        leaves a choice; list order when there is a cycle (which `validate` refuses)."""
        position = {s.name: i for i, s in enumerate(self.spec.stages)}
        sorter = self._sorter()
        try:
            sorter.prepare()
        except graphlib.CycleError:
            return list(self.spec.stages)
        found: list[Stage] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            found.extend(self.spec.stages[position[name]] for name in ready)
            sorter.done(*ready)
        return found

    def cycle(self) -> list[str]:
        """A cycle the stages' `after`s make, as names walked (the first repeated last); []
        when there is none."""
        try:
            self._sorter().prepare()
        except graphlib.CycleError as e:
            return [str(name) for name in e.args[1]]
        return []

    def _sorter(self) -> graphlib.TopologicalSorter[str]:
        return graphlib.TopologicalSorter(
            {s.name: [u.name for u in self.upstreams(s.name)] for s in self.spec.stages}
        )


@dataclass(frozen=True)
class StageAlarms:
    """What an endpoint's `autoRollbackConfiguration.fromPipeline` resolves to when the tree is
    loaded: the stage that selects it, whose checks become the alarms its deployments watch."""

    pipeline: str
    stage: str
    verification: Verification
    variants: tuple[str, ...]
    """The endpoint's production variants serving one of the pipeline's groups."""

    def bounds(self) -> list[tuple[MetricCheck, Literal["max", "min"], float]]:
        """(check, bound, threshold) of every bound the checks set: one alarm each per variant
        (a `condition` has no alarm counterpart)."""
        found: list[tuple[MetricCheck, Literal["max", "min"], float]] = []
        for check in self.verification.metrics:
            if check.max is not None:
                found.append((check, "max", check.max))
            if check.min is not None:
                found.append((check, "min", check.min))
        return found
