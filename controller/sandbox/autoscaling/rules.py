"""Application Auto Scaling's rules that the botocore model cannot express.

Resource IDs must have the shape the dimension needs (`endpoint/<e>/variant/<v>` for SageMaker
variants, `inference-component/<name>` for components), capacities must be ordered, the
predefined metric of a target-tracking policy must belong to the dimension it scales, and
schedules must be `at(...)`, `rate(...)` or `cron(...)` expressions.
"""

from __future__ import annotations

import re
from typing import Any

from controller.sandbox.autoscaling.store import TargetKey
from controller.sandbox.errors import validation_error

UNSUPPORTED = "Unsupported service namespace, resource type or scalable dimension"

_SAGEMAKER_IDS = {
    "sagemaker:variant:DesiredInstanceCount": re.compile(r"endpoint/[^/]+/variant/[^/]+"),
    "sagemaker:variant:DesiredProvisionedConcurrency": re.compile(r"endpoint/[^/]+/variant/[^/]+"),
    "sagemaker:inference-component:DesiredCopyCount": re.compile(r"inference-component/[^/]+"),
}

METRICS_BY_DIMENSION = {
    "sagemaker:variant:DesiredInstanceCount": (
        "SageMakerVariantInvocationsPerInstance",
        "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    ),
    "sagemaker:variant:DesiredProvisionedConcurrency": (
        "SageMakerVariantProvisionedConcurrencyUtilization",
    ),
    "sagemaker:inference-component:DesiredCopyCount": (
        "SageMakerInferenceComponentInvocationsPerCopy",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
    ),
}
"""Which predefined metric types each SageMaker dimension can track (botocore enum order)."""

_SCHEDULE = re.compile(
    r"at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)"
    r"|rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)"
    r"|cron\(\S+( \S+){5}\)"
)

_SERVICE_ROLES = {
    "sagemaker": "sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
}


def check_target(key: TargetKey) -> None:
    """The dimension belongs to the namespace, and the resource ID has the dimension's shape."""
    namespace, resource, dimension = key
    if dimension.split(":", 1)[0] != namespace:
        raise validation_error(UNSUPPORTED)
    shape = _SAGEMAKER_IDS.get(dimension)
    if shape is not None and shape.fullmatch(resource) is None:
        raise validation_error(UNSUPPORTED)


def check_capacities(low: Any, high: Any) -> None:
    if low is not None and high is not None and low > high:
        raise validation_error("Minimum capacity cannot be greater than maximum capacity")


def check_policy(key: TargetKey, policy_type: str, configuration: dict[str, Any]) -> None:
    if policy_type != "TargetTrackingScaling":
        return
    predefined = configuration.get("PredefinedMetricSpecification")
    customized = configuration.get("CustomizedMetricSpecification")
    if (predefined is None) == (customized is None):
        raise validation_error(
            "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification "
            "must be specified"
        )
    allowed = METRICS_BY_DIMENSION.get(key[2])
    metric = (predefined or {}).get("PredefinedMetricType")
    if metric is not None and allowed is not None and metric not in allowed:
        # AWS's wording, as reported for a provisioned-concurrency target (aws-cdk #29065).
        raise validation_error(
            f"Scalable dimension {key[2]} only supports the following predefined metric "
            f"types: {', '.join(allowed)}"
        )


def check_schedule(schedule: str) -> None:
    if _SCHEDULE.fullmatch(schedule) is None:
        raise validation_error(
            f"Invalid schedule expression: {schedule}. Use at(yyyy-mm-ddThh:mm:ss), "
            "rate(value unit) or cron(fields)"
        )


def default_role(account: str, key: TargetKey) -> str:
    """The service-linked role AWS fills in when RegisterScalableTarget names none."""
    namespace = key[0]
    generic = (
        f"{namespace}.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling"
    )
    role = _SERVICE_ROLES.get(namespace, generic)
    return f"arn:aws:iam::{account}:role/aws-service-role/{role}"
