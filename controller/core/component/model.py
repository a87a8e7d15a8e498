"""Inference components: what a manifest's `inferenceComponents` mean, and what one looks like live.

Pure. A component is named by the user and changed in place (unlike Models and EndpointConfigs):
its model is a content-hashed Model (the same as a variant's), and its Specification names that
Model plus the compute each copy reserves. Desired and live are compared in manifest terms
(`inferenceComponents[llm].model.version`), so the plan shows the same paths as variants do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core import naming, tagging
from controller.core.endpoint import surface
from controller.core.endpoint.modelsource import DesiredModel, api_dict, desired_model, model_terms
from controller.core.livestate import model_terms as live_model_terms
from controller.core.packages import PackageVersion
from controller.manifests.models import ComponentCompute, EndpointSpec, InferenceComponent

# Manifest name of each ComputeResourceRequirements member.
COMPUTE_FIELDS = {
    "NumberOfCpuCoresRequired": "cpuCores",
    "NumberOfAcceleratorDevicesRequired": "acceleratorDevices",
    "MinMemoryRequiredInMb": "minMemoryMb",
    "MaxMemoryRequiredInMb": "maxMemoryMb",
}
STARTUP_FIELDS = {
    "ModelDataDownloadTimeoutInSeconds": "modelDataDownloadTimeoutInSeconds",
    "ContainerStartupHealthCheckTimeoutInSeconds": "containerStartupHealthCheckTimeoutInSeconds",
}


@dataclass(frozen=True)
class DesiredComponent:
    """One inference component as the manifest wants it."""

    name: str
    variant: str
    model: DesiredModel
    specification: dict[str, Any]  # the Specification of Create/UpdateInferenceComponent
    copies: int
    deployment_config: dict[str, Any] | None
    # Content hash of the specification: the attempted-spec tag value (failed updates).
    spec_id: str
    terms: dict[str, Any]  # model, compute and startup in manifest terms

    @property
    def base(self) -> str:
        return component_base(self.name)


@dataclass(frozen=True)
class LiveComponent:
    """What ListInferenceComponents and DescribeInferenceComponent say about one component."""

    name: str
    arn: str
    variant: str
    status: str
    last_modified: str  # epoch milliseconds: moves on every update, copy change and status change
    specification: Mapping[str, Any] = field(default_factory=dict)
    desired_copies: int | None = None
    current_copies: int | None = None
    failure_reason: str = ""

    @property
    def model_name(self) -> str:
        return str(self.specification.get("ModelName") or "")


def component_base(name: str) -> str:
    return f"inferenceComponents[{name}]"


def build_components(
    endpoint: str, spec: EndpointSpec, packages: dict[str, PackageVersion]
) -> tuple[DesiredComponent, ...]:
    """Desired components; `packages` maps component name -> resolved registry version."""
    return tuple(_component(endpoint, spec, c, packages) for c in spec.inference_components)


def _component(
    endpoint: str,
    spec: EndpointSpec,
    component: InferenceComponent,
    packages: dict[str, PackageVersion],
) -> DesiredComponent:
    # The endpoint's VPC and network isolation bind every Model it runs, components' included:
    # a component's Model without them would reach the internet the manifest closed off.
    shared = surface.model_request(spec)
    model = desired_model(
        endpoint, component.name, component.model, spec.execution_role_arn, packages, shared
    )
    specification: dict[str, Any] = {
        "ModelName": model.name,
        "ComputeResourceRequirements": compute_request(component.compute),
    }
    if component.startup is not None and api_dict(component.startup):
        specification["StartupParameters"] = api_dict(component.startup)
    base = component_base(component.name)
    terms = {
        **model_terms(base, component.model),
        **_prefixed(base, surface.live_model_terms(shared)),
        **spec_terms(base, specification),
    }
    return DesiredComponent(
        name=component.name,
        variant=component.variant,
        model=model,
        specification=specification,
        copies=component.copies,
        deployment_config=api_dict(component.deployment) if component.deployment else None,
        spec_id=naming.content_hash(specification, length=12),
        terms=terms,
    )


def compute_request(compute: ComponentCompute) -> dict[str, Any]:
    values = {
        "NumberOfCpuCoresRequired": compute.cpu_cores,
        "NumberOfAcceleratorDevicesRequired": compute.accelerator_devices,
        "MinMemoryRequiredInMb": compute.min_memory_mb,
        "MaxMemoryRequiredInMb": compute.max_memory_mb,
    }
    return {k: v for k, v in values.items() if v is not None}


def spec_terms(base: str, specification: Mapping[str, Any]) -> dict[str, Any]:
    """Compute and startup of a Specification (desired or described) in manifest terms."""
    terms: dict[str, Any] = {}
    compute = specification.get("ComputeResourceRequirements") or {}
    for key, path in COMPUTE_FIELDS.items():
        terms[f"{base}.compute.{path}"] = compute.get(key)
    startup = specification.get("StartupParameters") or {}
    for key, path in STARTUP_FIELDS.items():
        terms[f"{base}.startup.{path}"] = startup.get(key)
    return terms


def live_terms(live: LiveComponent, model: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The live component in manifest terms; None when its Model cannot be described."""
    if model is None:
        return None
    base = component_base(live.name)
    return {
        **live_model_terms(base, dict(model)),
        **_prefixed(base, surface.live_model_terms(model)),
        **spec_terms(base, live.specification),
    }


def _prefixed(base: str, terms: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{base}.{path}": value for path, value in terms.items()}


def model_tags(tags: Mapping[str, str], component: str) -> dict[str, str]:
    """A component's Model carries the endpoint's tags plus the component it serves."""
    return {**tags, tagging.COMPONENT: component}
