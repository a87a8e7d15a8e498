"""The hosting options of `manifests.surface` in API terms and in manifest terms, both ways.

Pure. Desired requests and live descriptions are turned into the same flat manifest-terms paths
(`variants[a].routingConfig.routingStrategy`, `asyncInference.outputConfig.s3OutputPath`,
`vpcConfig.subnets`), so a change of any of them is a field-level change in the plan and a
config change (rollout), and a live config that already has them is not drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core.casing import camel, flatten, pascal
from controller.manifests.models import EndpointSpec, ImageModel, PipelineModel, Variant
from controller.manifests.surface import VariantHosting

# Manifest name -> ProductionVariant key, for the VariantHosting fields.
VARIANT_KEYS = {
    "inferenceAmiVersion": "InferenceAmiVersion",
    "routingConfig": "RoutingConfig",
    "enableSsmAccess": "EnableSSMAccess",
    "containerStartupHealthCheckTimeoutInSeconds": "ContainerStartupHealthCheckTimeoutInSeconds",
    "modelDataDownloadTimeoutInSeconds": "ModelDataDownloadTimeoutInSeconds",
    "capacityReservationConfig": "CapacityReservationConfig",
    "coreDumpConfig": "CoreDumpConfig",
}


def _hosting(variant: Variant) -> dict[str, Any]:
    fields = set(VariantHosting.model_fields)
    dumped: dict[str, Any] = variant.model_dump(by_alias=True, exclude_none=True, include=fields)
    return dumped


def variant_request(variant: Variant) -> dict[str, Any]:
    """The ProductionVariant keys the variant's hosting options set."""
    return {VARIANT_KEYS[k]: pascal(v) for k, v in _hosting(variant).items()}


def variant_terms(base: str, variant: Variant) -> dict[str, Any]:
    return {f"{base}.{path}": v for path, v in flatten(_hosting(variant))}


def live_variant_terms(base: str, production_variant: Mapping[str, Any]) -> dict[str, Any]:
    found = {
        name: camel(production_variant[key])
        for name, key in VARIANT_KEYS.items()
        if production_variant.get(key) is not None
    }
    return {f"{base}.{path}": v for path, v in flatten(found)}


def config_request(spec: EndpointSpec) -> dict[str, Any]:
    """CreateEndpointConfig keys beyond the variants."""
    if spec.async_inference is None:
        return {}
    return {"AsyncInferenceConfig": pascal(spec.async_inference.model_dump(by_alias=True))}


def config_terms(spec: EndpointSpec) -> dict[str, Any]:
    return _terms("asyncInference", config_request(spec).get("AsyncInferenceConfig"))


def live_config_terms(config: Mapping[str, Any]) -> dict[str, Any]:
    return _terms("asyncInference", config.get("AsyncInferenceConfig"))


def model_request(spec: EndpointSpec) -> dict[str, Any]:
    """CreateModel keys every Model of the endpoint shares."""
    out: dict[str, Any] = {}
    if spec.vpc_config is not None:
        out["VpcConfig"] = pascal(spec.vpc_config.model_dump(by_alias=True))
    if spec.enable_network_isolation:
        out["EnableNetworkIsolation"] = True
    return out


def model_terms(spec: EndpointSpec) -> dict[str, Any]:
    return live_model_terms(model_request(spec))


def live_model_terms(model: Mapping[str, Any]) -> dict[str, Any]:
    terms = _terms("vpcConfig", model.get("VpcConfig"))
    if model.get("EnableNetworkIsolation"):
        terms["enableNetworkIsolation"] = True
    return terms


def _terms(prefix: str, api_value: Any) -> dict[str, Any]:
    if not api_value:
        return {}
    return {f"{prefix}.{path}": v for path, v in flatten(camel(api_value))}


CONTAINER_KEYS = ("ContainerHostname", "Image", "ModelDataUrl", "ModelDataSource", "Environment")
# ContainerDefinition options beyond the image and its data, by manifest name (ImageModel).
CONTAINER_OPTIONS = {
    "mode": "Mode",
    "multiModelConfig": "MultiModelConfig",
    "imageConfig": "ImageConfig",
    "additionalModelDataSources": "AdditionalModelDataSources",
    "containerMetricsConfig": "ContainerMetricsConfig",
}


def container_request(source: ImageModel) -> dict[str, Any]:
    """One ContainerDefinition of a bring-your-own model (the keys it always had come first, so
    existing models keep their content-hashed names)."""
    container: dict[str, Any] = {"Image": source.image}
    if source.model_data_url:
        container["ModelDataUrl"] = source.model_data_url
    if source.model_data_source is not None:
        container["ModelDataSource"] = pascal(source.model_data_source.model_dump(by_alias=True))
    if source.environment:
        container["Environment"] = dict(sorted(source.environment.items()))
    hostname = getattr(source, "container_hostname", None)
    if hostname:
        container["ContainerHostname"] = hostname
    options = source.model_dump(by_alias=True, exclude_none=True, include=_OPTION_FIELDS)
    container.update({CONTAINER_OPTIONS[k]: pascal(v) for k, v in options.items()})
    return container


_OPTION_FIELDS = {
    name for name, f in ImageModel.model_fields.items() if f.alias in CONTAINER_OPTIONS
}


def container_option_terms(base: str, container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's options in manifest terms (`variants[a].model.mode`); the same function
    reads the desired request and the live description, so the two always line up."""
    terms: dict[str, Any] = {}
    for name, key in CONTAINER_OPTIONS.items():
        value = container.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            terms.update(_terms(f"{base}.{name}", value))
        else:  # a scalar (mode) or a list (data sources): one term
            terms[f"{base}.{name}"] = camel(value)
    return terms


def pipeline_request(source: PipelineModel) -> dict[str, Any]:
    return {
        "Containers": [container_request(c) for c in source.containers],
        "InferenceExecutionConfig": {"Mode": source.inference_execution_mode},
    }


def is_pipeline(model: Mapping[str, Any]) -> bool:
    return "InferenceExecutionConfig" in model or len(model.get("Containers") or []) > 1


def pipeline_terms(base: str, model: Mapping[str, Any]) -> dict[str, Any]:
    """A multi-container model in manifest terms: `model.containers[0].image`, ..."""
    mode = (model.get("InferenceExecutionConfig") or {}).get("Mode", "Serial")
    out: dict[str, Any] = {f"{base}.model.inferenceExecutionMode": mode}
    for i, container in enumerate(model.get("Containers") or []):
        where = f"{base}.model.containers[{i}]"
        kept = {k: container[k] for k in CONTAINER_KEYS if container.get(k) is not None}
        environment = kept.pop("Environment", {})  # variable names keep their spelling
        out.update(_terms(where, kept))
        out.update({f"{where}.environment.{k}": v for k, v in sorted(environment.items())})
        out.update(container_option_terms(where, container))
    return out


def data_source_terms(base: str, container: Mapping[str, Any]) -> dict[str, Any]:
    return _terms(f"{base}.model.modelDataSource", container.get("ModelDataSource"))


def licensed_models(spec: EndpointSpec) -> list[str]:
    """Where the manifest accepts a gated model's license (modelAccessConfig.acceptEula), as
    manifest paths (`inferenceComponents[chat].model`), for the plan to say so."""
    found: list[str] = []
    sources = [(f"variants[{v.name}].model", v.model) for v in spec.variants]
    sources += [(f"shadowVariants[{v.name}].model", v.model) for v in spec.shadow_variants]
    sources += [
        (f"inferenceComponents[{c.name}].model", c.model) for c in spec.inference_components
    ]
    for where, model in sources:
        containers = model.containers if isinstance(model, PipelineModel) else [model]
        for index, container in enumerate(containers):
            if isinstance(container, ImageModel) and _accepts_eula(container):
                found.append(f"{where}.containers[{index}]" if len(containers) > 1 else where)
    return found


def _accepts_eula(container: ImageModel) -> bool:
    data = [container.model_data_source.s3_data_source] if container.model_data_source else []
    data += [s.s3_data_source for s in container.additional_model_data_sources or []]
    return any(d.model_access_config is not None for d in data)
