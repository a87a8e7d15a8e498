"""Desired resources: what one manifest means in SageMaker terms, with content-hashed names.

Pure: takes a validated manifest and the registry versions it resolved to, returns the exact
CreateModel / CreateEndpointConfig requests plus a flat "manifest terms" view the diff compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.core import naming, tagging
from controller.core.components import DesiredComponent, build_components
from controller.core.livestate import hosting_terms
from controller.core.modelsource import DesiredModel, api_dict, desired_model, model_terms
from controller.core.packages import PackageVersion
from controller.core.plans import ResourceType
from controller.manifests.models import (
    EndpointManifest,
    Variant,
)


@dataclass(frozen=True)
class DesiredEndpoint:
    """Everything the diff needs about one endpoint, derived only from its manifest."""

    key: str
    name: str
    region: str
    source: str
    manifest: EndpointManifest
    models: tuple[DesiredModel, ...]
    config_name: str
    config_request: dict[str, Any]  # CreateEndpointConfig kwargs without Tags
    deployment_config: dict[str, Any] | None
    tags: dict[str, str]  # all tags to put on every resource, ownership included
    spec_hash: str
    terms: dict[str, Any] = field(default_factory=dict)  # flat manifest-terms view
    components: tuple[DesiredComponent, ...] = ()  # inference components, in manifest order

    @property
    def weights(self) -> dict[str, tuple[float, int | None]]:
        """variant -> (weight, instance count); changed in place, without a new config."""
        # Managed instance scaling moves a component-hosting variant's count: never reset it.
        return {
            v.name: (v.initial_weight, None if v.managed_instance_scaling else v.instance_count)
            for v in self.manifest.spec.variants
        }

    @property
    def immutable_resources(self) -> tuple[tuple[ResourceType, str], ...]:
        """The content-addressed resources this endpoint is built from, config first."""
        models = tuple((ResourceType.MODEL, m.name) for m in self.models)
        return ((ResourceType.ENDPOINT_CONFIG, self.config_name), *models)


def production_variant(variant: Variant, model_name: str | None) -> dict[str, Any]:
    """The ProductionVariant; without a model name it hosts inference components."""
    out: dict[str, Any] = {
        "VariantName": variant.name,
        "InitialVariantWeight": float(variant.initial_weight),
    }
    if model_name is not None:
        out["ModelName"] = model_name
    if variant.managed_instance_scaling is not None:
        out["ManagedInstanceScaling"] = {
            "Status": "ENABLED",
            **api_dict(variant.managed_instance_scaling),
        }
    if variant.routing_config is not None:
        out["RoutingConfig"] = api_dict(variant.routing_config)
    if variant.serverless is not None:
        out["ServerlessConfig"] = api_dict(variant.serverless)
    else:
        out["InstanceType"] = variant.instance_type
        out["InitialInstanceCount"] = variant.instance_count
        if variant.volume_size_in_gb:
            out["VolumeSizeInGB"] = variant.volume_size_in_gb
    return out


def _config_identity(request: dict[str, Any]) -> dict[str, Any]:
    """The config content that needs a new EndpointConfig when it changes.

    Weights and instance counts are left out: they change in place through
    UpdateEndpointWeightsAndCapacities, so changing them must not rename the config.
    """
    variants = [
        {k: v for k, v in pv.items() if k not in ("InitialVariantWeight", "InitialInstanceCount")}
        for pv in request["ProductionVariants"]
    ]
    return {**request, "ProductionVariants": variants}


def build(
    key: str,
    loaded_manifest: EndpointManifest,
    source: str,
    region: str,
    packages: dict[str, PackageVersion],
    controller_id: str,
    revision: str | None = None,
    scope: str | None = None,
) -> DesiredEndpoint:
    """Desired resources for one manifest; `packages` maps variant name -> resolved version."""
    manifest, spec = loaded_manifest, loaded_manifest.spec
    name = manifest.metadata.name
    models, variants = [], []
    for variant in spec.variants:
        if variant.model is None:  # hosts inference components
            variants.append(production_variant(variant, None))
            continue
        model = desired_model(name, variant.name, variant.model, spec.execution_role_arn, packages)
        models.append(model)
        variants.append(production_variant(variant, model.name))
    # Variant order means nothing to SageMaker: sorting keeps a YAML reorder from renaming the
    # config (and so from starting a rollout).
    config: dict[str, Any] = {"ProductionVariants": sorted(variants, key=_variant_name)}
    if spec.data_capture:
        config["DataCaptureConfig"] = api_dict(spec.data_capture)
    if spec.kms_key_id:
        config["KmsKeyId"] = spec.kms_key_id
    if spec.hosts_components:  # SageMaker needs the role on the config itself then
        config["ExecutionRoleArn"] = spec.execution_role_arn
    config_name = naming.config_name(name, _config_identity(config))
    spec_hash = naming.content_hash(_hashed_spec(loaded_manifest), length=12)
    return DesiredEndpoint(
        key=key,
        name=name,
        region=region,
        source=source,
        manifest=manifest,
        models=tuple(models),
        config_name=config_name,
        config_request={"EndpointConfigName": config_name, **config},
        deployment_config=api_dict(spec.deployment) if spec.deployment else None,
        tags=ownership_tags(spec.tags, controller_id, name, source, revision, spec_hash, scope),
        spec_hash=spec_hash,
        terms=manifest_terms(manifest, packages),
        components=build_components(name, spec, packages),
    )


def _hashed_spec(manifest: EndpointManifest) -> dict[str, Any]:
    """The spec as hashed for the spec-hash tag: fields added for inference components are left
    out while unset, so an endpoint that does not use them keeps the hash it had."""
    # `target` likewise is left out while unset.
    unset = {"target"} if manifest.spec.target is None else set()
    data: dict[str, Any] = manifest.spec.model_dump(mode="json", exclude=unset)
    if not data.get("inference_components"):
        data.pop("inference_components", None)
    for variant in data["variants"]:
        for key in ("managed_instance_scaling", "routing_config"):
            if variant.get(key) is None:
                variant.pop(key, None)
    return data


def _variant_name(production_variant: dict[str, Any]) -> str:
    return str(production_variant["VariantName"])


def ownership_tags(
    user: dict[str, str],
    controller_id: str,
    endpoint: str,
    source: str,
    revision: str | None,
    spec_hash: str,
    scope: str | None = None,
) -> dict[str, str]:
    tags = dict(user)
    if scope:  # which manifest tree owns it: prune deletes only its own scope's endpoints
        tags[tagging.SCOPE] = scope
    tags[tagging.MANAGED_BY] = controller_id
    tags[tagging.ENDPOINT] = endpoint
    tags[tagging.SOURCE] = source[-256:]
    tags[tagging.SPEC_HASH] = spec_hash
    if revision:
        tags[tagging.REVISION] = revision
    return tags


def manifest_terms(
    manifest: EndpointManifest, packages: dict[str, PackageVersion]
) -> dict[str, Any]:
    """Reviewer-facing fields, flat, keyed by manifest path (`variants[a].model.version`)."""
    spec = manifest.spec
    terms: dict[str, Any] = {"executionRoleArn": spec.execution_role_arn}
    for v in spec.variants:
        base = f"variants[{v.name}]"
        if v.model is not None:
            terms.update(model_terms(base, v.model))
        terms.update(hosting_terms(base, production_variant(v, None)))
        terms[f"{base}.initialWeight"] = float(v.initial_weight)
        if v.serverless is not None:
            for k, val in v.serverless.model_dump(by_alias=True, exclude_none=True).items():
                terms[f"{base}.serverless.{k}"] = val
        else:
            terms[f"{base}.instanceType"] = v.instance_type
            terms[f"{base}.initialInstanceCount"] = v.instance_count
            if v.volume_size_in_gb:
                terms[f"{base}.volumeSizeInGB"] = v.volume_size_in_gb
    if spec.data_capture:
        for k, val in _flatten(spec.data_capture.model_dump(by_alias=True, exclude_none=True)):
            terms[f"dataCapture.{k}"] = val
    if spec.kms_key_id:  # part of the config's identity: without a term it would look like drift
        terms["kmsKeyId"] = spec.kms_key_id
    return terms


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return [(prefix, value)]
