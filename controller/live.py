"""Reading the live account: the owned-resource index, endpoints, and immutable configs/models.

Read-only. A no-op pass costs one paginated tagging-API query (what this controller owns, with
tags) plus one DescribeEndpoint per endpoint; EndpointConfigs and Models never change under a
name, so their descriptions are cached for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from controller import tagging
from controller.errors import AwsError, Conflict, NotFound, Throttled
from controller.registry import parse_package_arn

RESOURCE_TYPES = {
    "sagemaker:endpoint": "endpoint",
    "sagemaker:endpoint-config": "endpoint-config",
    "sagemaker:model": "model",
}


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


def translate(error: ClientError, operation: str) -> AwsError:
    """Map a botocore error onto the controller's tree (SageMaker says "not found" via 400s)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", str(error))
    if code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
        return Throttled(message, operation=operation, code=code)
    if "Could not find" in message or code in ("ResourceNotFound", "ResourceNotFoundException"):
        return NotFound(message, operation=operation, code=code)
    if "in-progress" in message or "already existing" in message or code == "ResourceInUse":
        return Conflict(message, operation=operation, code=code)
    return AwsError(f"{operation}: {code}: {message}", operation=operation, code=code)


def call(client: Any, operation: str, **kwargs: Any) -> Any:
    """Call a boto3 operation, translating its errors."""
    try:
        return getattr(client, operation)(**kwargs)
    except ClientError as e:
        raise translate(e, operation) from e


def read_inventory(tagging_client: Any, controller_id: str) -> Inventory:
    inventory = Inventory()
    paginator = tagging_client.get_paginator("get_resources")
    pages = paginator.paginate(
        TagFilters=[{"Key": tagging.MANAGED_BY, "Values": [controller_id]}],
        ResourceTypeFilters=list(RESOURCE_TYPES),
        ResourcesPerPage=100,  # the API's maximum: fewer pages per pass
    )
    try:
        for page in pages:
            for item in page.get("ResourceTagMappingList", []):
                owned = _owned(item)
                if owned is not None:
                    inventory.put(owned)
    except ClientError as e:
        raise translate(e, "get_resources") from e
    return inventory


def _owned(item: dict[str, Any]) -> Owned | None:
    arn = item["ResourceARN"]
    resource = arn.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    if kind not in RESOURCE_TYPES.values():
        return None
    return Owned(kind, name, arn, tagging.from_list(item.get("Tags", [])))


def describe_endpoint(client: Any, name: str) -> LiveEndpoint | None:
    try:
        found = call(client, "describe_endpoint", EndpointName=name)
    except NotFound:
        return None
    variants = tuple(_variant(v) for v in found.get("ProductionVariants", []))
    return LiveEndpoint(
        name=found["EndpointName"],
        arn=found["EndpointArn"],
        status=found["EndpointStatus"],
        config_name=found.get("EndpointConfigName", ""),
        failure_reason=found.get("FailureReason", "") or "",
        variants=variants,
    )


def _variant(summary: dict[str, Any]) -> LiveVariant:
    serverless = "CurrentServerlessConfig" in summary or "DesiredServerlessConfig" in summary
    count = summary.get("DesiredInstanceCount", summary.get("CurrentInstanceCount"))
    weight = summary.get("DesiredWeight", summary.get("CurrentWeight"))
    return LiveVariant(
        name=summary["VariantName"],
        weight=float(weight) if weight is not None else None,
        instance_count=None if serverless or count is None else int(count),
        serverless=serverless,
    )


def list_tags(client: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    paginator = client.get_paginator("list_tags")
    try:
        for page in paginator.paginate(ResourceArn=arn):
            tags.update(tagging.from_list(page.get("Tags", [])))
    except ClientError as e:
        raise translate(e, "list_tags") from e
    return tags


class DescribeCache:
    """Descriptions of immutable resources (EndpointConfig, Model) by (region, kind, name)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str], dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def get(
        self, region: str, kind: str, name: str, fetch: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        key = (region, kind, name)
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = fetch()
        if value is not None:  # a missing resource may appear later: do not cache absence
            with self._lock:
                self._items[key] = value
        return value

    def forget(self, region: str, kind: str, name: str) -> None:
        with self._lock:
            self._items.pop((region, kind, name), None)


def describe_config(
    client: Any, cache: DescribeCache, region: str, name: str
) -> dict[str, Any] | None:
    def fetch() -> dict[str, Any] | None:
        try:
            return dict(call(client, "describe_endpoint_config", EndpointConfigName=name))
        except NotFound:
            return None

    return cache.get(region, "endpoint-config", name, fetch)


def describe_model(
    client: Any, cache: DescribeCache, region: str, name: str
) -> dict[str, Any] | None:
    def fetch() -> dict[str, Any] | None:
        try:
            return dict(call(client, "describe_model", ModelName=name))
        except NotFound:
            return None

    return cache.get(region, "model", name, fetch)


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
            terms.update(_model_terms(base, model))
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
    for k, v in _capture_terms(config.get("DataCaptureConfig")):
        terms[f"dataCapture.{k}"] = v
    if config.get("KmsKeyId"):
        terms["kmsKeyId"] = config["KmsKeyId"]
    return terms


def _model_terms(base: str, model: dict[str, Any]) -> dict[str, Any]:
    containers = model.get("Containers") or [model.get("PrimaryContainer") or {}]
    container = containers[0] if containers else {}
    terms: dict[str, Any] = {}
    package = parse_package_arn(container.get("ModelPackageName", ""))
    if package is not None:
        terms[f"{base}.model.packageGroup"], terms[f"{base}.model.version"] = package
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
