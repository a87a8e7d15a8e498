"""The live account as plain data: endpoints, owned resources, configs in manifest terms.

Pure (no AWS calls): `controller.aws.reading` fills these from API answers; the diff compares them
with the desired state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.core import tagging
from controller.core.packages import account_of, group_arn, parse_package_arn


@dataclass(frozen=True)
class LiveVariant:
    name: str
    weight: float | None
    instance_count: int | None
    serverless: bool


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


def config_terms(
    config: dict[str, Any], models: dict[str, dict[str, Any] | None], live: LiveEndpoint
) -> dict[str, Any]:
    """The live config in manifest terms, so the diff can say `model.version: 6 -> 7`."""
    terms: dict[str, Any] = {}
    current = live.weights
    for pv in config.get("ProductionVariants", []):
        base = f"variants[{pv['VariantName']}]"
        model = models.get(pv.get("ModelName", ""))
        if model is not None:
            terms["executionRoleArn"] = model.get("ExecutionRoleArn")
            terms.update(model_terms(base, model))
        weight, count = current.get(pv["VariantName"], (None, None))
        terms[f"{base}.initialWeight"] = (
            weight if weight is not None else pv.get("InitialVariantWeight")
        )
        if "ServerlessConfig" in pv:
            for k, v in pv["ServerlessConfig"].items():
                terms[f"{base}.serverless.{k[:1].lower()}{k[1:]}"] = v
        else:
            terms[f"{base}.instanceType"] = pv.get("InstanceType")
            terms[f"{base}.initialInstanceCount"] = count or pv.get("InitialInstanceCount")
            if pv.get("VolumeSizeInGB"):
                terms[f"{base}.volumeSizeInGB"] = pv["VolumeSizeInGB"]
        terms.update(hosting_terms(base, pv))
    if config.get("ExecutionRoleArn"):  # on configs of endpoints hosting inference components
        terms["executionRoleArn"] = config["ExecutionRoleArn"]
    for k, v in _capture_terms(config.get("DataCaptureConfig")):
        terms[f"dataCapture.{k}"] = v
    if config.get("KmsKeyId"):
        terms["kmsKeyId"] = config["KmsKeyId"]
    return terms


def hosting_terms(base: str, production_variant: dict[str, Any]) -> dict[str, Any]:
    """A component-hosting variant's managed scaling and routing, in manifest terms; the same
    function reads the desired request and the live config, so the two always line up."""
    terms: dict[str, Any] = {}
    for key in ("ManagedInstanceScaling", "RoutingConfig"):
        for path, value in _camel_flat(production_variant.get(key) or {}):
            if path != "status":  # always ENABLED when managed scaling is set
                terms[f"{base}.{_camel(key)}.{path}"] = value
    return terms


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def _camel_flat(value: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in value.items():
        if isinstance(v, dict):
            out.extend((f"{_camel(k)}.{path}", inner) for path, inner in _camel_flat(v))
        else:
            out.append((_camel(k), v))
    return out


def model_terms(base: str, model: dict[str, Any]) -> dict[str, Any]:
    """A described Model in manifest terms under `base`."""
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
    else:
        terms[f"{base}.model.image"] = container.get("Image")
        terms[f"{base}.model.modelDataUrl"] = container.get("ModelDataUrl")
    for k, v in sorted((container.get("Environment") or {}).items()):
        terms[f"{base}.model.environment.{k}"] = v
    return terms


def _capture_terms(capture: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not capture:
        return []

    def camel(key: str) -> str:
        return key[:1].lower() + key[1:]

    out: list[tuple[str, Any]] = []
    for k, v in capture.items():
        if isinstance(v, list):
            v = [{camel(ik): iv for ik, iv in item.items()} for item in v]
        elif isinstance(v, dict):
            out.extend((f"{camel(k)}.{camel(ik)}", iv) for ik, iv in v.items())
            continue
        out.append((camel(k), v))
    return out
