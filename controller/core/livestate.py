"""The live account as plain data: endpoints, owned resources, configs in manifest terms.

Pure (no AWS calls): `controller.aws.reading` fills these from API answers; the diff compares them
with the desired state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core import tagging
from controller.core.casing import camel, flatten
from controller.core.endpoint import surface
from controller.core.packages import account_of, group_arn, parse_package_arn


@dataclass(frozen=True, slots=True)
class LiveVariant:
    name: str
    weight: float | None
    instance_count: int | None
    serverless: bool


@dataclass(frozen=True, slots=True)
class LiveEndpoint:
    """What DescribeEndpoint says about one endpoint."""

    name: str
    arn: str
    status: str
    config_name: str
    failure_reason: str = ""
    variants: tuple[LiveVariant, ...] = ()
    # LastModifiedTime in epoch milliseconds: SageMaker moves it on every update, weights change and
    # status change, so an unchanged value in ListEndpoints means an unchanged endpoint.
    last_modified: str = ""

    @property
    def weights(self) -> dict[str, tuple[float | None, int | None]]:
        return {v.name: (v.weight, v.instance_count) for v in self.variants}


@dataclass(frozen=True, slots=True)
class Owned:
    """A resource the tagging index says this controller owns."""

    kind: str  # endpoint | endpoint-config | model
    name: str
    arn: str
    tags: dict[str, str]

    @property
    def endpoint(self) -> str:
        return self.tags.get(tagging.ENDPOINT, "")


@dataclass
class Inventory:
    """Everything carrying this controller's managed-by tag in one region.

    Keyed by lower-cased name: SageMaker names are case-insensitive and its ARNs (where the
    index takes names from) are lower-case, while manifests may use any case.
    """

    resources: dict[tuple[str, str], Owned] = field(default_factory=dict)
    # (kind, endpoint) -> {name: resource}: per-endpoint lookups stay O(1) on large accounts.
    _by_endpoint: dict[tuple[str, str], dict[str, Owned]] = field(default_factory=dict, repr=False)

    def get(self, kind: str, name: str) -> Owned | None:
        return self.resources.get((kind, name.lower()))

    def of_kind(self, kind: str) -> list[Owned]:
        return [r for (k, _), r in sorted(self.resources.items()) if k == kind]

    def for_endpoint(self, kind: str, endpoint: str) -> list[Owned]:
        found = self._by_endpoint.get((kind, endpoint.lower()), {})
        return [found[name] for name in sorted(found)]

    def put(self, item: Owned) -> None:
        self.drop(item.kind, item.name)
        self.resources[(item.kind, item.name.lower())] = item
        if item.endpoint:
            group = self._by_endpoint.setdefault((item.kind, item.endpoint.lower()), {})
            group[item.name.lower()] = item

    def drop(self, kind: str, name: str) -> None:
        old = self.resources.pop((kind, name.lower()), None)
        if old is not None and old.endpoint:
            self._by_endpoint.get((kind, old.endpoint.lower()), {}).pop(name.lower(), None)


def all_variants(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A config's production and shadow variants (both name Models)."""
    return [*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])]


def config_terms(
    config: dict[str, Any], models: dict[str, dict[str, Any] | None], live: LiveEndpoint
) -> dict[str, Any]:
    """The live config in manifest terms, so the diff can say `model.version: 6 -> 7`."""
    terms: dict[str, Any] = {}
    current = live.weights
    for pv in config.get("ProductionVariants", []):
        weight, count = current.get(pv["VariantName"], (None, None))
        terms.update(_variant_terms("variants", pv, models, weight, count))
    # Shadow variants' weights and counts are part of the config (they never change in place).
    for pv in config.get("ShadowProductionVariants", []):
        terms.update(_variant_terms("shadowVariants", pv, models, None, None))
    if config.get("ExecutionRoleArn"):  # on configs of endpoints hosting inference components
        terms["executionRoleArn"] = config["ExecutionRoleArn"]
    for k, v in _capture_terms(config.get("DataCaptureConfig")):
        terms[f"dataCapture.{k}"] = v
    if config.get("KmsKeyId"):
        terms["kmsKeyId"] = config["KmsKeyId"]
    terms.update(surface.live_config_terms(config))
    return terms


def _variant_terms(
    kind: str,
    pv: dict[str, Any],
    models: dict[str, dict[str, Any] | None],
    weight: float | None,
    count: int | None,
) -> dict[str, Any]:
    base = f"{kind}[{pv['VariantName']}]"
    terms: dict[str, Any] = {}
    model = models.get(pv.get("ModelName", ""))
    if model is not None:
        terms["executionRoleArn"] = model.get("ExecutionRoleArn")
        terms.update(model_terms(base, model))
        terms.update(surface.live_model_terms(model))
    terms[f"{base}.initialWeight"] = (
        weight if weight is not None else pv.get("InitialVariantWeight")
    )
    if "ServerlessConfig" in pv:
        for k, v in camel(pv["ServerlessConfig"]).items():
            terms[f"{base}.serverless.{k}"] = v
    else:
        terms[f"{base}.instanceType"] = pv.get("InstanceType")
        terms[f"{base}.initialInstanceCount"] = count or pv.get("InitialInstanceCount")
        if pv.get("VolumeSizeInGB"):
            terms[f"{base}.volumeSizeInGB"] = pv["VolumeSizeInGB"]
        terms.update(surface.live_variant_terms(base, pv))
    terms.update(hosting_terms(base, pv))
    return terms


def hosting_terms(base: str, production_variant: dict[str, Any]) -> dict[str, Any]:
    """A component-hosting variant's managed scaling, in manifest terms; the same function reads
    the desired request and the live config, so the two always line up. (Its routingConfig is a
    hosting option of every instance-based variant: `surface.live_variant_terms`.)"""
    terms: dict[str, Any] = {}
    for path, value in flatten(camel(production_variant.get("ManagedInstanceScaling") or {})):
        terms[f"{base}.managedInstanceScaling.{path}"] = value
    return terms


def model_terms(base: str, model: dict[str, Any]) -> dict[str, Any]:
    """A described Model in manifest terms under `base`."""
    if surface.is_pipeline(model):
        return surface.pipeline_terms(base, model)
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    container = containers[0] if containers else {}
    terms: dict[str, Any] = {}
    package_arn = container.get("ModelPackageName", "")
    package = parse_package_arn(package_arn)
    if package is not None:
        terms[f"{base}.model.packageGroup"], terms[f"{base}.model.version"] = package
        if account_of(package_arn) not in ("", account_of(model.get("ModelArn", ""))):
            # A version shared from a registry account: manifests name its group by ARN.
            terms[f"{base}.model.packageGroup"] = group_arn(package_arn)
        if container.get("InferenceSpecificationName"):
            name = container["InferenceSpecificationName"]
            terms[f"{base}.model.inferenceSpecificationName"] = name
    else:
        terms[f"{base}.model.image"] = container.get("Image")
        terms[f"{base}.model.modelDataUrl"] = container.get("ModelDataUrl")
        terms.update(surface.data_source_terms(base, container))
        terms.update(surface.container_option_terms(f"{base}.model", container))
    for k, v in sorted((container.get("Environment") or {}).items()):
        terms[f"{base}.model.environment.{k}"] = v
    return terms


def _capture_terms(capture: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """DataCaptureConfig in manifest terms: camelCase, nested options flattened to paths."""
    return flatten(camel(capture)) if capture else []
