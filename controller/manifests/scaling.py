"""`variants[].autoscaling` and `inferenceComponents[].autoscaling`: Application Auto Scaling
of a variant's instance count and of a component's copy count.

Enums, names and limits come from botocore's application-autoscaling model; what the model
cannot say (which predefined metrics fit `sagemaker:variant:DesiredInstanceCount` and
`sagemaker:inference-component:DesiredCopyCount`, the schedule grammar) follows the Application
Auto Scaling API reference. Both share the policy and schedule models; a component adds
scale-out from zero copies (a step policy on a CloudWatch alarm, as SageMaker documents it).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, model_validator

from controller.manifests import botocore_model as api
from controller.manifests.base import Strict

AAS = api.AUTOSCALING
# The predefined metrics that can drive sagemaker:variant:DesiredInstanceCount; the others in
# the MetricType enum belong to provisioned concurrency or to inference components.
VARIANT_METRICS = tuple(
    m
    for m in api.enum("MetricType", AAS)
    if m.startswith("SageMakerVariant") and "ProvisionedConcurrency" not in m
)
# The predefined metrics that can drive sagemaker:inference-component:DesiredCopyCount.
COMPONENT_METRICS = tuple(
    m for m in api.enum("MetricType", AAS) if m.startswith("SageMakerInferenceComponent")
)
# Prefix of every policy and scheduled action name the controller makes; it is how it tells its
# own (untaggable) policies and actions from someone else's on the same target.
NAME_PREFIX = "sagemaker-gitops-"
_NAME_ROOM = 256 - len(NAME_PREFIX)
_ACTION_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # ScheduledActionName forbids : / | and edges
_SCHEDULE = re.compile(
    r"at\((?P<at>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)"
    r"|rate\((?P<value>[1-9]\d*) (?P<unit>minutes?|hours?|days?)\)"
    r"|cron\((?P<cron>[^()]+)\)"
)
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?,/#L W-]+$")


def _check_schedule(value: str) -> str:
    found = _SCHEDULE.fullmatch(value)
    if found is None:
        raise ValueError(
            f"schedule {value!r} must be at(yyyy-mm-ddThh:mm:ss), rate(value unit) or "
            "cron(minutes hours day-of-month month day-of-week year)"
        )
    if found["unit"] and (found["value"] == "1") == found["unit"].endswith("s"):
        raise ValueError(f"schedule {value!r}: write rate(1 minute) but rate(5 minutes)")
    if found["cron"] is not None:
        fields = found["cron"].split(" ")
        if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError(f"schedule {value!r}: cron() takes six space-separated fields")
        if "?" not in (fields[2], fields[4]):
            raise ValueError(f"schedule {value!r}: day-of-month or day-of-week must be ?")
    return value


def _check_timezone(value: str) -> str:
    zones = available_timezones()
    if zones and value not in zones:  # no tz database installed: leave it to the API
        raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)")
    return value


Schedule = Annotated[str, AfterValidator(_check_schedule), Field(max_length=1600)]
Timezone = Annotated[str, AfterValidator(_check_timezone), Field(max_length=1600)]
Label = Annotated[str, Field(min_length=1, max_length=_NAME_ROOM, pattern=_ACTION_NAME)]
Cooldown = Annotated[int, Field(ge=0, le=86400)]


class MetricDimension(Strict):
    """A CloudWatch metric dimension (MetricDimension)."""

    name: str = Field(min_length=1, max_length=255)
    """Dimension name, e.g. EndpointName."""
    value: str = Field(min_length=1, max_length=1024)
    """Dimension value."""


class CustomizedMetric(Strict):
    """A CloudWatch metric to track (CustomizedMetricSpecification)."""

    metric_name: str = Field(min_length=1, max_length=255)
    """CloudWatch metric name."""
    namespace: str = Field(min_length=1, max_length=255)
    """CloudWatch namespace, e.g. AWS/SageMaker."""
    dimensions: list[MetricDimension] = Field(default=[], max_length=30)
    """Dimensions the metric was published with."""
    statistic: Literal[api.enum("MetricStatistic", AAS)]  # type: ignore[valid-type]
    """Average, Minimum, Maximum, SampleCount or Sum."""
    unit: str | None = Field(default=None, min_length=1, max_length=32)
    """Unit of the metric, e.g. Percent."""


class _Tracking(Strict):
    """What target-tracking policies share; the predefined metrics depend on the dimension."""

    name: Label | None = None
    """Policy identity; defaults to the metric (predefinedMetric or customizedMetric.metricName)."""
    predefined_metric: str | None = None
    customized_metric: CustomizedMetric | None = None
    """A CloudWatch metric instead of a predefined one."""
    target_value: float = Field(gt=0, allow_inf_nan=False)
    """The metric value to hold, e.g. 70 invocations per instance per minute."""
    scale_in_cooldown: Cooldown = 300
    """Seconds after a scale-in before the next one (SageMaker's default: 300)."""
    scale_out_cooldown: Cooldown = 300
    """Seconds after a scale-out before the next one (SageMaker's default: 300)."""
    disable_scale_in: bool = False
    """Only ever scale out."""

    @model_validator(mode="after")
    def _one_metric(self) -> _Tracking:
        if (self.predefined_metric is None) == (self.customized_metric is None):
            raise ValueError("set exactly one of predefinedMetric or customizedMetric")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.predefined_metric:
            return str(self.predefined_metric)
        assert self.customized_metric is not None
        return self.customized_metric.metric_name


class TargetTracking(_Tracking):
    """A target-tracking scaling policy (TargetTrackingScalingPolicyConfiguration)."""

    predefined_metric: Literal[VARIANT_METRICS] | None = None  # type: ignore[valid-type]
    """A predefined SageMaker variant metric, e.g. SageMakerVariantInvocationsPerInstance."""


class ComponentTargetTracking(_Tracking):
    """A target-tracking scaling policy on a component's copy count."""

    predefined_metric: Literal[COMPONENT_METRICS] | None = None  # type: ignore[valid-type]
    """A predefined inference component metric, e.g.
    SageMakerInferenceComponentInvocationsPerCopy."""


class StepAdjustment(Strict):
    """One step of a step-scaling policy (StepAdjustment)."""

    metric_interval_lower_bound: float | None = Field(default=None, allow_inf_nan=False)
    """Lower bound of the metric's distance from the alarm threshold (none: minus infinity)."""
    metric_interval_upper_bound: float | None = Field(default=None, allow_inf_nan=False)
    """Upper bound of the metric's distance from the alarm threshold (none: infinity)."""
    scaling_adjustment: int
    """Instances to add (negative: remove), or the percent or count per adjustmentType."""


class StepScaling(Strict):
    """A step-scaling policy (StepScalingPolicyConfiguration), driven by a CloudWatch alarm."""

    name: Label
    """Policy identity (the CloudWatch alarm's action names the policy by it)."""
    adjustment_type: Literal[api.enum("AdjustmentType", AAS)]  # type: ignore[valid-type]
    """ChangeInCapacity, PercentChangeInCapacity or ExactCapacity."""
    step_adjustments: list[StepAdjustment] = Field(min_length=1, max_length=20)
    """The steps, by distance from the alarm threshold."""
    min_adjustment_magnitude: int | None = Field(default=None, ge=1)
    """Smallest change in instances (PercentChangeInCapacity only)."""
    cooldown: Cooldown | None = None
    """Seconds to wait after a scaling activity before another can start."""
    metric_aggregation_type: Literal[api.enum("MetricAggregationType", AAS)] = "Average"  # type: ignore[valid-type]
    """How the alarm's metric is aggregated: Average (default), Minimum or Maximum."""

    @model_validator(mode="after")
    def _magnitude_for_percent(self) -> StepScaling:
        if self.min_adjustment_magnitude and self.adjustment_type != "PercentChangeInCapacity":
            raise ValueError("minAdjustmentMagnitude needs adjustmentType PercentChangeInCapacity")
        return self


class Scheduled(Strict):
    """A scheduled action that sets the capacity range at given times (PutScheduledAction)."""

    name: Label
    """Action identity."""
    schedule: Schedule
    """at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(six fields)."""
    timezone: Timezone = "UTC"
    """IANA time zone of at() and cron() expressions."""
    min_capacity: int | None = Field(default=None, ge=1)
    """minCapacity while the action is in effect."""
    max_capacity: int | None = Field(default=None, ge=1)
    """maxCapacity while the action is in effect."""

    @model_validator(mode="after")
    def _sets_a_capacity(self) -> Scheduled:
        low, high = self.min_capacity, self.max_capacity
        if low is None and high is None:
            raise ValueError("set minCapacity, maxCapacity or both")
        if low is not None and high is not None and low > high:
            raise ValueError("minCapacity must not exceed maxCapacity")
        return self


class ComponentScheduled(Scheduled):
    """A scheduled action that sets the copy-count range at given times (PutScheduledAction)."""

    min_capacity: int | None = Field(default=None, ge=0)
    """minCapacity while the action is in effect (0: no copies, with scaleOutFromZero)."""


# The step policy (and its alarm) behind scale-out from zero: a name users cannot give a policy.
SCALE_OUT_FROM_ZERO = "scale-out-from-zero"


class ScaleOutFromZero(Strict):
    """A component at zero copies gets copies back when invoked: a step-scaling policy adding
    `copies`, run by a CloudWatch alarm on SageMaker's NoCapacityInvocationFailures metric
    ("Scale an endpoint to zero instances" in the SageMaker developer guide)."""

    copies: int = Field(default=1, ge=1)
    """Copies added when the component is invoked with none (ChangeInCapacity)."""
    period: int = Field(default=60, ge=10, le=86400)
    """Seconds over which the alarm sums failed invocations: 10, 20, 30 or a multiple of 60."""
    evaluation_periods: int = Field(default=1, ge=1)
    """Periods the alarm looks back over; one failed invocation in any of them triggers."""
    cooldown: Cooldown = 60
    """Seconds after a scale-out before the policy may add copies again."""

    @model_validator(mode="after")
    def _cloudwatch_periods(self) -> ScaleOutFromZero:
        if self.period not in (10, 20, 30) and self.period % 60:
            raise ValueError(
                f"period {self.period}: CloudWatch takes 10, 20, 30 or a multiple of 60"
            )
        if self.period * self.evaluation_periods > 86400:
            raise ValueError("period x evaluationPeriods must not exceed one day (86400 seconds)")
        return self


class ScalingBase(Strict):
    """What variant and component autoscaling share: capacities, policies, schedules."""

    min_capacity: int = Field(ge=0)
    max_capacity: int = Field(ge=1)
    target_tracking: list[_Tracking] = Field(default=[], max_length=50)
    step_scaling: list[StepScaling] = Field(default=[], max_length=50)
    """Step-scaling policies."""
    scheduled: list[Scheduled] = Field(default=[], max_length=200)
    """Scheduled capacity changes."""

    @model_validator(mode="after")
    def _consistent(self) -> ScalingBase:
        if self.min_capacity > self.max_capacity:
            raise ValueError("minCapacity must not exceed maxCapacity")
        policies = [p.label for p in self.target_tracking] + [p.name for p in self.step_scaling]
        for what, names in (("policy", policies), ("scheduled action", self.scheduled_names)):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(
                    f"{what} names must be unique (give targetTracking a name); "
                    f"repeated: {', '.join(repeated)}"
                )
        return self

    @property
    def scheduled_names(self) -> list[str]:
        return [s.name for s in self.scheduled]


class Autoscaling(ScalingBase):
    """Application Auto Scaling of the variant's instance count
    (resource endpoint/<endpoint>/variant/<variant>, sagemaker:variant:DesiredInstanceCount)."""

    min_capacity: int = Field(ge=1)
    """Fewest instances autoscaling may leave."""
    max_capacity: int = Field(ge=1)
    """Most instances autoscaling may start."""
    target_tracking: list[TargetTracking] = Field(default=[], max_length=50)  # type: ignore[assignment]
    """Target-tracking policies."""


class ComponentAutoscaling(ScalingBase):
    """Application Auto Scaling of the component's copy count (resource
    inference-component/<component>, sagemaker:inference-component:DesiredCopyCount)."""

    min_capacity: int = Field(ge=0)
    """Fewest copies autoscaling may leave (0: none while idle; needs scaleOutFromZero)."""
    max_capacity: int = Field(ge=1)
    """Most copies autoscaling may start."""
    target_tracking: list[ComponentTargetTracking] = Field(default=[], max_length=50)  # type: ignore[assignment]
    """Target-tracking policies."""
    scheduled: list[ComponentScheduled] = Field(default=[], max_length=200)  # type: ignore[assignment]
    """Scheduled copy-count ranges."""
    scale_out_from_zero: ScaleOutFromZero | None = None
    """Give a component at zero copies a copy when it is invoked (`{}` for the defaults)."""

    @model_validator(mode="after")
    def _zero_needs_a_way_out(self) -> ComponentAutoscaling:
        if any(p.name == SCALE_OUT_FROM_ZERO for p in self.step_scaling):
            raise ValueError(f"stepScaling name {SCALE_OUT_FROM_ZERO} is scaleOutFromZero's")
        zero = self.min_capacity == 0 or any(s.min_capacity == 0 for s in self.scheduled)
        if zero and self.scale_out_from_zero is None:
            raise ValueError(
                "minCapacity 0 needs scaleOutFromZero (`scaleOutFromZero: {}` for the defaults): "
                "target tracking cannot scale out from zero copies, so the component would "
                "never serve again"
            )
        if not zero and self.scale_out_from_zero is not None:
            raise ValueError("scaleOutFromZero is for minCapacity 0 (here no copy count is 0)")
        return self
