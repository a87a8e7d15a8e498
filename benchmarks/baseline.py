"""THE BASELINE: a straightforward sequential boto3 reconciler, for the fleet benchmark's ratios.

This is not the controller. It is what a competent engineer writes first: for every manifest, one
call at a time, list the model package group and describe the pinned version, describe the
endpoint, its config and every model, list the endpoint's tags, and compare. It only plans (reads
and compares, like a no-op `plan`); `benchmarks/fleet.py` times it on the same sandbox fleet as
the controller and prints the ratio. It reads manifests with PyYAML's safe loader and trusts them
(no schema), so the comparison flatters it, not us.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def plan(sm: Any, root: Path) -> dict[str, str]:
    """Endpoint name -> "in sync" / "changed" / "missing", one call at a time."""
    verdicts: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        verdicts[manifest["metadata"]["name"]] = _plan_one(sm, manifest)
    return verdicts


def _plan_one(sm: Any, manifest: dict[str, Any]) -> str:
    name = manifest["metadata"]["name"]
    wanted = {v["name"]: _resolve(sm, v) for v in manifest["spec"]["variants"]}
    try:
        endpoint = sm.describe_endpoint(EndpointName=name)
    except sm.exceptions.ClientError:
        return "missing"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    sm.list_tags(ResourceArn=endpoint["EndpointArn"])
    live = {}
    for variant in config["ProductionVariants"]:
        model = sm.describe_model(ModelName=variant["ModelName"])
        container = (model.get("Containers") or [model.get("PrimaryContainer", {})])[0]
        live[variant["VariantName"]] = (
            container.get("ModelPackageName"),
            variant.get("InstanceType"),
            variant.get("InitialInstanceCount"),
        )
    return "in sync" if live == wanted else "changed"


def _resolve(sm: Any, variant: dict[str, Any]) -> tuple[Any, ...]:
    group, version = variant["model"]["packageGroup"], variant["model"]["version"]
    arn = None
    for page in sm.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        for package in page["ModelPackageSummaryList"]:
            if package.get("ModelPackageVersion") == version:
                arn = package["ModelPackageArn"]
    if arn is None:
        raise LookupError(f"{group} has no version {version}")
    package = sm.describe_model_package(ModelPackageName=arn)
    if package.get("ModelApprovalStatus") != "Approved":
        raise LookupError(f"{arn} is not approved")
    return (
        arn,
        variant.get("instanceType"),
        variant.get("initialInstanceCount", 1),
    )
