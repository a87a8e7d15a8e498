"""Reading the live account: the owned-resource index, endpoints, and immutable configs/models.

Read-only. A no-op pass costs one paginated tagging-API query (what this controller owns, with
tags) plus one DescribeEndpoint per endpoint; EndpointConfigs and Models never change under a
name, so their descriptions are cached for the life of the process.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from controller.aws.retrying import NO_ANSWER
from controller.core import kinds, tagging
from controller.core.kinds import Kind
from controller.core.livestate import Inventory, LiveEndpoint, LiveVariant, Owned
from controller.errors import AwsError, Conflict, NoAnswer, NotFound, Throttled


def translate(error: ClientError, operation: str) -> AwsError:
    """Map a botocore error onto the controller's tree (SageMaker says "not found" via 400s)."""
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", str(error))
    if code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
        return Throttled(message, operation=operation, code=code)
    missing = ("ResourceNotFound", "ResourceNotFoundException", "ObjectNotFoundException")
    if "Could not find" in message or code in missing:
        return NotFound(message, operation=operation, code=code)
    busy = ("ResourceInUse", "ConcurrentUpdateException")
    if "in-progress" in message or "already existing" in message or code in busy:
        return Conflict(message, operation=operation, code=code)
    return AwsError(f"{operation}: {code}: {message}", operation=operation, code=code)


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """botocore's errors raised inside, as the controller's: an error answer by its code, no
    answer at all as NoAnswer. botocore already retried what is safe to repeat (reads,
    idempotent writes); a write without an answer reaches the reconciler, which re-reads."""
    try:
        yield
    except ClientError as e:
        raise translate(e, operation) from e
    except NO_ANSWER as e:
        message = f"{operation}: no answer ({e}); it may have taken effect"
        raise NoAnswer(message, operation=operation, code=type(e).__name__) from e


def call(client: Any, operation: str, **kwargs: Any) -> Any:
    """Call a boto3 operation, translating its errors."""
    with translated(operation):
        return getattr(client, operation)(**kwargs)


# GetResources' largest page (ResourcesPerPage), and so the resources a single query reads in
# one call.
PAGE_SIZE = 100


def sweeps(split: bool) -> tuple[tuple[str, ...], ...]:
    """The GetResources queries that read the owned index, as `ResourceTypeFilters` each.

    One query when the index fits a page. A larger one is read as three queries at once
    (endpoints; models; configs with the rest), so its pages come back in about a third of the
    round trips, and endpoints can be looked at before the models and configs are in. Each query
    pages with its own tokens (a token is bound to the filters it was issued for).
    """
    types = [k.tagging_type for k in kinds.indexed_kinds() if k.tagging_type]
    if not split:
        return (tuple(types),)
    alone = (kinds.ENDPOINT.tagging_type, kinds.MODEL.tagging_type)
    rest = tuple(t for t in types if t not in alone)
    return tuple((t,) for t in alone if t) + ((rest,) if rest else ())


def owned_pages(
    tagging_client: Any, controller_id: str, types: tuple[str, ...]
) -> Iterator[list[Owned]]:
    """One GetResources query over `types`, a list of owned resources per page as it arrives."""
    pages = tagging_client.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": tagging.MANAGED_BY, "Values": [controller_id]}],
        ResourceTypeFilters=list(types),
        ResourcesPerPage=PAGE_SIZE,  # the API's maximum: fewer pages per pass
    )
    with translated("get_resources"):
        for page in pages:
            yield [
                owned
                for item in page.get("ResourceTagMappingList", [])
                if (owned := _owned(item)) is not None
            ]


def read_inventory(
    tagging_client: Any,
    controller_id: str,
    queries: tuple[tuple[str, ...], ...] | None = None,
    into: Inventory | None = None,
) -> Inventory:
    """Run `queries` (default: the one combined query) at once, filling `into` (or a new one)."""
    inventory = into if into is not None else Inventory()
    lock = threading.Lock()

    def sweep(types: tuple[str, ...]) -> None:
        for page in owned_pages(tagging_client, controller_id, types):
            with lock:
                for owned in page:
                    inventory.put(owned)

    todo = queries if queries is not None else sweeps(split=False)
    if len(todo) == 1:
        sweep(todo[0])
        return inventory
    with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="index") as pool:
        for future in [pool.submit(sweep, types) for types in todo]:
            future.result()  # the first failed query's error, once every query has stopped
    return inventory


def _owned(item: dict[str, Any]) -> Owned | None:
    arn = item["ResourceARN"]
    resource = arn.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    if kinds.by_segment(kind) is None:
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
        last_modified=stamp(found.get("LastModifiedTime")),
    )


def list_endpoint_versions(client: Any) -> dict[str, tuple[str, str]]:
    """Every endpoint in the region: lower-cased name -> (EndpointStatus, LastModifiedTime).

    ListEndpoints returns 100 endpoints a page, so this tells what changed across a fleet for
    about N/100 calls instead of N DescribeEndpoint calls.
    """
    versions: dict[str, tuple[str, str]] = {}
    paginator = client.get_paginator("list_endpoints")
    with translated("list_endpoints"):
        for page in paginator.paginate(PaginationConfig={"PageSize": 100}):
            for summary in page.get("Endpoints", []):
                status, modified = (
                    summary["EndpointStatus"],
                    stamp(summary.get("LastModifiedTime")),
                )
                versions[summary["EndpointName"].lower()] = (status, modified)
    return versions


def stamp(value: Any) -> str:
    """A timestamp as epoch milliseconds: the API's own precision, whatever the time zone the
    parser attached, so a listing and a describe of the same moment compare equal."""
    if not isinstance(value, datetime):
        return ""
    whole = calendar.timegm(value.utctimetuple())  # integer arithmetic: no float rounding
    return str(whole * 1000 + value.microsecond // 1000)


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
    with translated("list_tags"):
        for page in paginator.paginate(ResourceArn=arn):
            tags.update(tagging.from_list(page.get("Tags", [])))
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


def describe_immutable(
    client: Any, cache: DescribeCache, region: str, kind: Kind, name: str
) -> dict[str, Any] | None:
    """Describe a content-addressed resource (a Model, an EndpointConfig), cached for good."""

    def fetch() -> dict[str, Any] | None:
        try:
            found = call(client, kind.describe_call, **{kind.name_param: name})
        except NotFound:
            return None
        # Kept for as long as the resource lives: the HTTP metadata (headers, request id) was
        # about a third of each kept description and nothing reads it.
        return {k: v for k, v in found.items() if k != "ResponseMetadata"}

    return cache.get(region, kind.segment, name, fetch)
