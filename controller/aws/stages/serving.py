"""Which registry versions an endpoint's config serves: its variants' Models, read back to their
model package ARNs.

`verify` asks it of the live endpoint (has the stage converged on the version its manifests
pin?), `rollback` of the config the rollback history names. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.aws import reading
from controller.core import packages
from controller.errors import NotFound


@dataclass(frozen=True)
class Serving:
    """An endpoint's status and what its current config serves."""

    status: str
    config: str
    versions: dict[str, tuple[str, int]]
    """Variant name -> (model package group name, version); registry-backed variants only."""
    failure_reason: str = ""
    packages: dict[str, str] = field(default_factory=dict)
    """Variant name -> the versioned model package ARN it serves."""


def config_versions(sagemaker: Any, config: str) -> dict[str, tuple[str, int]]:
    """Variant name -> (group name, version) for the registry-backed variants of `config`
    (production and shadow)."""
    return _versions(config_packages(sagemaker, config))


def _versions(packages_by_variant: dict[str, str]) -> dict[str, tuple[str, int]]:
    versions: dict[str, tuple[str, int]] = {}
    for variant, arn in packages_by_variant.items():
        parsed = packages.parse_package_arn(arn)
        if parsed is not None:
            group, version = parsed
            versions[variant] = (packages.group_name(group), version)
    return versions


def config_packages(sagemaker: Any, config: str) -> dict[str, str]:
    """Variant name -> versioned model package ARN, for the variants of `config` whose Model
    deploys exactly one registry version."""
    with reading.translated("DescribeEndpointConfig"):
        described = sagemaker.describe_endpoint_config(EndpointConfigName=config)
    found_packages: dict[str, str] = {}
    variants = [*described["ProductionVariants"], *described.get("ShadowProductionVariants", [])]
    for variant in variants:
        model_name = variant.get("ModelName")
        if not model_name:
            continue  # a variant hosting inference components: its models live in them
        with reading.translated("DescribeModel"):
            model = sagemaker.describe_model(ModelName=model_name)
        containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
        found = [
            arn
            for container in containers
            if packages.parse_package_arn(arn := str(container.get("ModelPackageName", "")))
        ]
        if len(found) == 1:
            found_packages[str(variant["VariantName"])] = found[0]
    return found_packages


def serving(sagemaker: Any, endpoint: str) -> Serving | None:
    """The endpoint's status and versions now; None when there is no such endpoint."""
    try:
        with reading.translated("DescribeEndpoint"):
            described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except NotFound:
        return None
    config = str(described.get("EndpointConfigName", ""))
    served = config_packages(sagemaker, config) if config else {}
    reason = str(described.get("FailureReason", "") or "")
    return Serving(str(described["EndpointStatus"]), config, _versions(served), reason, served)
