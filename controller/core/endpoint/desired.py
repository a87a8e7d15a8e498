"""Desired resources: what one manifest means in SageMaker terms, with content-hashed names.

Pure: takes a validated manifest and the registry versions it resolved to, returns the exact
CreateModel / CreateEndpointConfig requests plus a flat "manifest terms" view the diff compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.core import naming, rollbackalarms, tagging
from controller.core.casing import flatten
from controller.core.component.model import DesiredComponent, build_components
from controller.core.endpoint import modelsource, surface
from controller.core.endpoint.modelsource import DesiredModel, api_dict
from controller.core.livestate import hosting_terms
from controller.core.packages import PackageVersion
from controller.core.plan.plans import ResourceType
from controller.core.scaling.model import ScalingSet, desired_sets
from controller.manifests.models import (
    EndpointManifest,
    EndpointSpec,
    ImageModel,
    PipelineModel,
    RegistryModel,
    Variant,
)
from controller.manifests.pipelines.model import StageAlarms


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
    # variant -> its autoscaling in Application Auto Scaling terms (autoscaled variants only)
    scaling: dict[str, ScalingSet] = field(default_factory=dict)
    components: tuple[DesiredComponent, ...] = ()  # inference components, in manifest order
    # PutMetricAlarm requests of the rollback alarms its DeploymentConfig names from a pipeline
    # stage's checks (`autoRollbackConfiguration.fromPipeline`), in name order.
    rollback_alarms: tuple[dict[str, Any], ...] = ()

    @property
    def weights(self) -> dict[str, tuple[float, int | None]]:
        """variant -> (weight, instance count); changed in place, without a new config."""
        # Managed instance scaling moves a component-hosting variant's count: never reset it.
        managed = {
            v.name
            for v in self.manifest.spec.variants
            if v.managed_instance_scaling is not None and v.managed_instance_scaling.enabled
        }
        return {
            v.name: (v.initial_weight, None if v.name in managed else v.instance_count)
            for v in self.manifest.spec.variants
        }

    @property
    def immutable_resources(self) -> tuple[tuple[ResourceType, str], ...]:
        """The content-addressed resources this endpoint is built from, config first."""
        models = tuple((ResourceType.MODEL, m.name) for m in self.models)
        return ((ResourceType.ENDPOINT_CONFIG, self.config_name), *models)


def model_request(variant: Variant, role: str, package: PackageVersion | None) -> dict[str, Any]:
    source = variant.model
    assert source is not None, "variants without a model host inference components"
    if isinstance(source, PipelineModel):
        return {"ExecutionRoleArn": role, **surface.pipeline_request(source)}
    return modelsource.model_request(source, role, package)


def production_variant(variant: Variant, model_name: str | None) -> dict[str, Any]:
    """The ProductionVariant; without a model name it hosts inference components."""
    out: dict[str, Any] = {
        "VariantName": variant.name,
        "InitialVariantWeight": float(variant.initial_weight),
    }
    if model_name is not None:
        out["ModelName"] = model_name
    if variant.managed_instance_scaling is not None:
        scaling = api_dict(variant.managed_instance_scaling)
        out["ManagedInstanceScaling"] = {"Status": scaling.pop("Status"), **scaling}
    if variant.serverless is not None:
        out["ServerlessConfig"] = api_dict(variant.serverless)
    else:
        out["InstanceType"] = variant.instance_type
        out["InitialInstanceCount"] = variant.instance_count
        if variant.volume_size_in_gb:
            out["VolumeSizeInGB"] = variant.volume_size_in_gb
        out.update(surface.variant_request(variant))
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
    project: str | None = None,
    stage_alarms: StageAlarms | None = None,
) -> DesiredEndpoint:
    """Desired resources for one manifest; `packages` maps variant name -> resolved version;
    `stage_alarms`: the stage its `fromPipeline` resolved to (the tree's load says)."""
    manifest, spec = loaded_manifest, loaded_manifest.spec
    name = manifest.metadata.name
    models: list[DesiredModel] = []
    variants: list[dict[str, Any]] = []
    shadows: list[dict[str, Any]] = []
    for variant in [*spec.variants, *spec.shadow_variants]:
        group = shadows if variant in spec.shadow_variants else variants
        if variant.model is None:  # hosts inference components
            group.append(production_variant(variant, None))
            continue
        package = packages.get(variant.name)
        request = model_request(variant, spec.execution_role_arn, package)
        request.update(surface.model_request(spec))
        model_name = naming.model_name(name, variant.name, request)
        display = package.display if package else modelsource.shown(variant.model)
        models.append(
            DesiredModel(model_name, variant.name, {"ModelName": model_name, **request}, display)
        )
        group.append(production_variant(variant, model_name))
    # Variant order means nothing to SageMaker: sorting keeps a YAML reorder from renaming the
    # config (and so from starting a rollout).
    config: dict[str, Any] = {"ProductionVariants": sorted(variants, key=_variant_name)}
    if shadows:
        config["ShadowProductionVariants"] = sorted(shadows, key=_variant_name)
    if spec.data_capture:
        config["DataCaptureConfig"] = api_dict(spec.data_capture)
    if spec.kms_key_id:
        config["KmsKeyId"] = spec.kms_key_id
    config.update(surface.config_request(spec))
    if spec.hosts_components:  # SageMaker needs the role on the config itself then
        config["ExecutionRoleArn"] = spec.execution_role_arn
    config_name = naming.config_name(name, _config_identity(config))
    hashed = spec_hash(spec)
    alarms = rollbackalarms.requests(stage_alarms, name, controller_id) if stage_alarms else []
    return DesiredEndpoint(
        key=key,
        name=name,
        region=region,
        source=source,
        manifest=manifest,
        models=tuple(models),
        config_name=config_name,
        config_request={"EndpointConfigName": config_name, **config},
        deployment_config=_deployment_config(spec, alarms),
        tags=ownership_tags(
            spec.tags, controller_id, name, source, revision, hashed, scope, project
        ),
        spec_hash=hashed,
        terms=manifest_terms(manifest, packages),
        scaling=desired_sets(manifest),
        rollback_alarms=tuple(alarms),
        components=build_components(name, spec, packages),
    )


def spec_hash(spec: EndpointSpec) -> str:
    """The manifest spec's hash, tagged on what apply writes: a tag that differs says the
    manifest changed since the endpoint was last applied (apply reconciles those first)."""
    # Defaults left out: a new optional manifest field (an unset target, no inference
    # components, no managed scaling) must not change every endpoint's hash.
    return naming.content_hash(spec.model_dump(mode="json", exclude_defaults=True), length=12)


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
    project: str | None = None,
) -> dict[str, str]:
    tags = dict(user)
    if scope:  # which manifest tree owns it: prune deletes only its own scope's endpoints
        tags[tagging.SCOPE] = scope
    if project:  # which project owns it: another project's manifest may not take it over
        tags[tagging.PROJECT] = project
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
    for kind, group in (("variants", spec.variants), ("shadowVariants", spec.shadow_variants)):
        for v in group:
            terms.update(_variant_terms(f"{kind}[{v.name}]", v))
    if spec.data_capture:
        for k, val in flatten(spec.data_capture.model_dump(by_alias=True, exclude_none=True)):
            terms[f"dataCapture.{k}"] = val
    if spec.kms_key_id:  # part of the config's identity: without a term it would look like drift
        terms["kmsKeyId"] = spec.kms_key_id
    terms.update(surface.config_terms(spec))
    terms.update(surface.model_terms(spec))
    return terms


def _variant_terms(base: str, v: Variant) -> dict[str, Any]:
    terms = _model_terms(base, v.model) if v.model is not None else {}
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
        terms.update(surface.variant_terms(base, v))
    return terms


def _model_terms(base: str, model: RegistryModel | ImageModel | PipelineModel) -> dict[str, Any]:
    if isinstance(model, PipelineModel):
        return surface.pipeline_terms(base, surface.pipeline_request(model))
    return modelsource.model_terms(base, model)


def _deployment_config(spec: EndpointSpec, alarms: list[dict[str, Any]]) -> dict[str, Any] | None:
    """UpdateEndpoint's DeploymentConfig: the manifest's, naming the alarms written there and
    then those generated from the pipeline stage (`fromPipeline` is the manifest's, not AWS's)."""
    if spec.deployment is None:
        return None
    config = api_dict(spec.deployment)
    rollback = config.get("AutoRollbackConfiguration")
    if rollback is not None:
        rollback.pop("FromPipeline", None)
        named = [*rollback.get("Alarms", []), *({"AlarmName": a["AlarmName"]} for a in alarms)]
        if named:
            rollback["Alarms"] = named
        else:
            del config["AutoRollbackConfiguration"]
    return config
