"""variants[].autoscaling validation: botocore enums, AWS's schedule grammar, capacity ranges."""

from __future__ import annotations

import re
from typing import Any

import pytest
from builders import manifest_dict, registry_variant
from pydantic import ValidationError

from controller.manifests.models import EndpointManifest
from controller.manifests.scaling import VARIANT_METRICS


def load(autoscaling: dict[str, Any], **variant: Any) -> EndpointManifest:
    v = registry_variant(count=variant.pop("count", None), autoscaling=autoscaling, **variant)
    return EndpointManifest.model_validate(manifest_dict(variants=[v]))


def schedule(expression: str) -> dict[str, Any]:
    entry = {"name": "s", "schedule": expression, "minCapacity": 1}
    return {"minCapacity": 1, "maxCapacity": 2, "scheduled": [entry]}


def test_variant_metrics_come_from_botocore() -> None:
    assert VARIANT_METRICS == (
        "SageMakerVariantInvocationsPerInstance",
        "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    )


@pytest.mark.parametrize(
    "expression",
    [
        "at(2026-12-24T18:00:00)",
        "rate(1 minute)",
        "rate(15 minutes)",
        "rate(2 days)",
        "cron(0 8 ? * MON-FRI *)",
        "cron(30 2 1 * ? 2027)",
    ],
)
def test_schedules_aws_accepts(expression: str) -> None:
    assert load(schedule(expression)).spec.variants[0].autoscaling is not None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("at(2026-12-24)", "must be at("),
        ("rate(1 minutes)", "rate(1 minute)"),
        ("rate(5 minute)", "rate(1 minute)"),
        ("rate(0 days)", "must be at("),
        ("cron(0 8 * * *)", "six space-separated fields"),
        ("cron(0 8 1 * MON *)", "must be ?"),
        ("every day", "must be at("),
    ],
)
def test_schedules_aws_rejects(expression: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        load(schedule(expression))


@pytest.mark.parametrize(
    ("autoscaling", "extra", "message"),
    [
        ({"minCapacity": 3, "maxCapacity": 2}, {}, "minCapacity must not exceed maxCapacity"),
        ({"minCapacity": 1, "maxCapacity": 2}, {"count": 5}, "must be within autoscaling"),
        (
            {"minCapacity": 1, "maxCapacity": 2, "targetTracking": [{"targetValue": 5}]},
            {},
            "exactly one of predefinedMetric or customizedMetric",
        ),
        (
            {
                "minCapacity": 1,
                "maxCapacity": 2,
                "targetTracking": [
                    {
                        "predefinedMetric": "SageMakerVariantProvisionedConcurrencyUtilization",
                        "targetValue": 5,
                    }
                ],
            },
            {},
            "predefinedMetric",
        ),
        (
            {
                "minCapacity": 1,
                "maxCapacity": 2,
                "scheduled": [
                    {"name": "a", "schedule": "rate(1 day)", "minCapacity": 1},
                    {"name": "a", "schedule": "rate(2 days)", "minCapacity": 1},
                ],
            },
            {},
            "repeated: a",
        ),
        (
            {
                "minCapacity": 1,
                "maxCapacity": 2,
                "scheduled": [{"name": "a", "schedule": "rate(1 day)", "timezone": "Mars/Base"}],
            },
            {},
            "set minCapacity, maxCapacity or both|unknown time zone",
        ),
    ],
)
def test_invalid_autoscaling(
    autoscaling: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        load(autoscaling, **extra)


def test_autoscaling_needs_an_instance_based_variant() -> None:
    variant = {
        "name": "s",
        "model": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5},
        "autoscaling": {"minCapacity": 1, "maxCapacity": 2},
    }
    with pytest.raises(ValidationError, match="need instanceType"):
        EndpointManifest.model_validate(manifest_dict(variants=[variant]))


def test_unset_count_starts_at_min_capacity() -> None:
    loaded = load({"minCapacity": 3, "maxCapacity": 6})
    assert loaded.spec.variants[0].instance_count == 3
