"""Hourly cost at most: the manifest side (projects' cap) and the live side (plans)."""

from __future__ import annotations

from typing import Any

from controller.core.plan.costs import live_cost
from controller.manifests.models import EndpointSpec
from controller.manifests.projects.cost import endpoint_cost, most_instances

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
HOURLY = {"ml.m5.large": 0.1, "ml.g5.xlarge": 1.5}
MODEL = {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"}


def spec(*variants: dict[str, Any], shadow: dict[str, Any] | None = None) -> EndpointSpec:
    data: dict[str, Any] = {"executionRoleArn": ROLE, "variants": list(variants)}
    if shadow is not None:
        data["shadowVariants"] = [shadow]
    return EndpointSpec.model_validate(data)


def test_each_variant_counts_at_the_most_instances_it_may_reach() -> None:
    scaled = {
        "name": "a",
        "model": MODEL,
        "instanceType": "ml.m5.large",
        "initialInstanceCount": 2,
        "autoscaling": {"minCapacity": 1, "maxCapacity": 6},
    }
    serverless = {
        "name": "s",
        "model": MODEL,
        "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5},
    }
    gpu = {"name": "g", "model": MODEL, "instanceType": "ml.g5.xlarge"}
    found = endpoint_cost(spec(scaled, serverless), HOURLY)
    assert round(found.hourly, 4) == 0.6 and found.unpriced == ()
    assert most_instances(spec(serverless).variants[0]) == 0
    shadowed = endpoint_cost(
        spec(gpu, shadow={**gpu, "name": "h", "instanceType": "ml.p5.48xlarge"}), HOURLY
    )
    assert shadowed.hourly == 1.5 and shadowed.unpriced == ("ml.p5.48xlarge",)


def test_the_live_side_reads_the_live_config_and_the_scalable_targets() -> None:
    terms = {
        "variants[a].instanceType": "ml.m5.large",
        "variants[a].initialInstanceCount": 3,
        "variants[b].instanceType": "ml.g5.xlarge",
        "variants[b].initialInstanceCount": 1,
        "variants[b].managedInstanceScaling.status": "ENABLED",
        "variants[b].managedInstanceScaling.maxInstanceCount": 2,
        "shadowVariants[c].instanceType": "ml.m5.large",
        "shadowVariants[c].initialInstanceCount": 1,
    }
    # a: 5 (its target's max) x 0.1; b: 2 x 1.5; c: 1 x 0.1
    assert round(live_cost(terms, {"a": 5}, HOURLY), 4) == 3.6
