"""Which registry versions an endpoint's config, or an inference component, serves: the Models
they deploy, read back to their model package ARNs.

`verify` asks it of the live endpoint or component (has the stage converged on the version its
manifests pin?), `rollback` of the config the rollback history names. Read-only.
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
        arn = model_package(sagemaker, str(model_name))
        if arn:
            found_packages[str(variant["VariantName"])] = arn
    return found_packages


def model_package(sagemaker: Any, model_name: str) -> str:
    """The versioned model package ARN a Model deploys; "" unless it deploys exactly one."""
    with reading.translated("DescribeModel"):
        model = sagemaker.describe_model(ModelName=model_name)
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    found = [
        arn
        for container in containers
        if packages.parse_package_arn(arn := str(container.get("ModelPackageName", "")))
    ]
    return found[0] if len(found) == 1 else ""


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


@dataclass(frozen=True)
class ComponentServing:
    """An inference component's status and the registry version its Model deploys."""

    status: str
    endpoint: str
    version: tuple[str, int] | None
    """(model package group name, version); None for a component not deploying one."""
    package: str = ""
    failure_reason: str = ""


def component_serving(sagemaker: Any, component: str) -> ComponentServing | None:
    """The component's status and version now; None when there is no such component (SageMaker
    answers a ValidationException naming it, which `reading` turns into NotFound)."""
    try:
        with reading.translated("DescribeInferenceComponent"):
            described = sagemaker.describe_inference_component(InferenceComponentName=component)
    except NotFound:
        return None
    model_name = str((described.get("Specification") or {}).get("ModelName") or "")
    package = model_package(sagemaker, model_name) if model_name else ""
    parsed = packages.parse_package_arn(package) if package else None
    version = (packages.group_name(parsed[0]), parsed[1]) if parsed else None
    return ComponentServing(
        str(described["InferenceComponentStatus"]),
        str(described.get("EndpointName", "")),
        version,
        package,
        str(described.get("FailureReason", "") or ""),
    )
