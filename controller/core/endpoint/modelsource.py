"""Model sources (a registry version or a bring-your-own image) as SageMaker Models.

Shared by variants and inference components: the same manifest `model` block always yields the
same CreateModel request, content-hashed name and manifest-terms view, whoever hosts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.core import naming
from controller.core.casing import pascal
from controller.core.endpoint import surface
from controller.core.packages import PackageVersion
from controller.manifests.models import ImageModel, PipelineModel, RegistryModel


@dataclass(frozen=True)
class DesiredModel:
    name: str
    variant: str
    request: dict[str, Any]  # CreateModel kwargs without Tags
    display: str  # "churn-xgb v7", the image URI, or a multi-container model's images


def api_dict(model: Any) -> dict[str, Any]:
    """A manifest sub-model as SageMaker request JSON (camelCase -> PascalCase, None dropped)."""
    result: dict[str, Any] = pascal(model.model_dump(by_alias=True, exclude_none=True))
    return result


def model_request(
    source: RegistryModel | ImageModel, role: str, package: PackageVersion | None
) -> dict[str, Any]:
    if isinstance(source, RegistryModel):
        assert package is not None, "registry models are resolved before building"
        container: dict[str, Any] = {"ModelPackageName": package.arn}
        if source.environment:
            container["Environment"] = dict(sorted(source.environment.items()))
        if source.inference_specification_name:
            container["InferenceSpecificationName"] = source.inference_specification_name
        return {"ExecutionRoleArn": role, "Containers": [container]}
    return {"ExecutionRoleArn": role, "PrimaryContainer": surface.container_request(source)}


def desired_model(
    endpoint: str,
    key: str,
    source: RegistryModel | ImageModel,
    role: str,
    packages: dict[str, PackageVersion],
    shared: Mapping[str, Any] | None = None,
) -> DesiredModel:
    """The Model for one model source; `key` is its variant (or component) name, which also
    keys `packages`. `shared`: the CreateModel keys every Model of the endpoint carries (VPC,
    network isolation); empty for most endpoints, so their Models keep their names."""
    package = packages.get(key)
    request = model_request(source, role, package)
    request.update(shared or {})
    name = naming.model_name(endpoint, key, request)
    display = package.display if package else shown(source)
    return DesiredModel(name, key, {"ModelName": name, **request}, display)


def shown(source: RegistryModel | ImageModel | PipelineModel | None) -> str:
    """What a reviewer reads for a model without a registry version: the image URI, or every
    container of a multi-container model (`Serial: a -> b`, `Direct: pre=a, predict=b`), so a
    plan's `models:` line is never empty."""
    if isinstance(source, ImageModel):
        return source.image
    if not isinstance(source, PipelineModel):
        return ""  # a registry version is shown by its package (PackageVersion.display)
    if source.inference_execution_mode == "Direct":
        parts = [f"{c.container_hostname}={c.image}" for c in source.containers]
        return "Direct: " + ", ".join(parts)
    return "Serial: " + " -> ".join(c.image for c in source.containers)


def model_terms(base: str, model: RegistryModel | ImageModel) -> dict[str, Any]:
    """A model source in manifest terms under `base` (`variants[a]`, `inferenceComponents[b]`)."""
    terms: dict[str, Any] = {}
    if isinstance(model, RegistryModel):
        terms[f"{base}.model.packageGroup"] = model.package_group
        terms[f"{base}.model.version"] = model.version
        if model.inference_specification_name:
            terms[f"{base}.model.inferenceSpecificationName"] = model.inference_specification_name
    else:
        container = surface.container_request(model)
        terms[f"{base}.model.image"] = model.image
        terms[f"{base}.model.modelDataUrl"] = model.model_data_url
        terms.update(surface.data_source_terms(base, container))
        terms.update(surface.container_option_terms(f"{base}.model", container))
    for k, val in sorted(model.environment.items()):
        terms[f"{base}.model.environment.{k}"] = val
    return terms
