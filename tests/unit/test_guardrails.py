"""Deployment guardrails checked before any call: rolling, canary and blue/green rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from builders import (
    byom_variant,
    desired,
    manifest,
    manifest_dict,
    mirror,
    options,
    registry_variant,
)
from pydantic import ValidationError

from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import Status
from controller.manifests.models import EndpointManifest

ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25},
        "waitIntervalInSeconds": 60,
    }
}


def canary(percent: int) -> dict[str, Any]:
    routing = {
        "type": "CANARY",
        "waitIntervalInSeconds": 300,
        "canarySize": {"type": "CAPACITY_PERCENT", "value": percent},
    }
    return {"blueGreenUpdatePolicy": {"trafficRoutingConfiguration": routing}}


@pytest.mark.parametrize(
    ("variants", "deployment", "message"),
    [
        (
            [registry_variant(), registry_variant(name="b")],
            ROLLING,
            "rollingUpdatePolicy needs exactly one instance-based variant",
        ),
        (
            [byom_variant(serverless={"memorySizeInMB": 2048, "maxConcurrency": 5})],
            ROLLING,
            "rollingUpdatePolicy needs exactly one instance-based variant",
        ),
        ([registry_variant()], canary(51), "canarySize: at most 50 percent"),
    ],
)
def test_invalid_deployments(variants: Any, deployment: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        EndpointManifest.model_validate(manifest_dict(variants=variants, deployment=deployment))


@pytest.mark.parametrize("deployment", [ROLLING, canary(50)])
def test_valid_deployments(deployment: Any) -> None:
    assert manifest(variants=[registry_variant()], deployment=deployment).spec.deployment


def test_blue_green_keeps_the_variant_names() -> None:
    old = desired(manifest(variants=[registry_variant(name="a")]))
    new = desired(manifest(variants=[registry_variant(name="b")], deployment=canary(10)))
    seen = mirror(old, live_terms=dict(old.terms), config_exists=False)

    plan = diff_endpoint(new, seen, options())

    assert plan.status is Status.ERROR
    assert "keeps the variant names" in plan.errors[0]


def test_blue_green_with_the_same_names_rolls_out() -> None:
    old = desired(manifest(variants=[registry_variant(name="a")]))
    new = desired(manifest(variants=[registry_variant(name="a", version=8)], deployment=canary(10)))
    seen = mirror(old, live_terms=dict(old.terms), config_exists=False)

    assert diff_endpoint(new, seen, options()).status is Status.UPDATE
