"""ListEndpoints as SageMaker serves it: filters, sort orders and a stable NextToken.

Controllers detect change by listing (`LastModifiedTimeAfter`) instead of describing every
endpoint, so this has to be exact. moto's version compares the request's epoch numbers with
its datetimes (a TypeError), defaults to 100 results instead of 10 and sorts ascending by
default. Pages here are cut after the last (sort key, name) served, so endpoints created or
deleted between pages neither shift nor repeat the ones already listed.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from controller.sandbox.errors import validation_error

DEFAULT_MAX_RESULTS = 10
"""SageMaker's default page size for ListEndpoints (the model says so)."""

SortKey = tuple[Any, str]

_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "Name": lambda e: e.endpoint_name,
    "CreationTime": lambda e: e.creation_time,
    "Status": lambda e: e.endpoint_status,
}
_TIME_FILTERS = (
    "CreationTimeBefore",
    "CreationTimeAfter",
    "LastModifiedTimeBefore",
    "LastModifiedTimeAfter",
)


def list_endpoints(endpoints: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    """One page of endpoint summaries for a ListEndpoints request (endpoints already settled)."""
    bounds = {name: _request_time(name, params[name]) for name in _TIME_FILTERS if name in params}
    matching = [e for e in endpoints if _matches(e, params, bounds)]
    sort_by = params.get("SortBy") or "CreationTime"
    key_of = _SORT_KEYS[sort_by]
    descending = (params.get("SortOrder") or "Descending") == "Descending"
    keyed = sorted(((key_of(e), e.endpoint_name), e) for e in matching)
    if descending:
        keyed.reverse()
    after = _decode(params.get("NextToken"), by_time=sort_by == "CreationTime")
    if after is not None:
        keyed = [(k, e) for k, e in keyed if (k < after if descending else k > after)]
    size = params.get("MaxResults") or DEFAULT_MAX_RESULTS
    page = keyed[:size]
    out: dict[str, Any] = {"Endpoints": [summary(e) for _, e in page]}
    if len(keyed) > size:
        out["NextToken"] = _encode(page[-1][0])
    return out


def summary(endpoint: Any) -> dict[str, Any]:
    """An EndpointSummary, exactly the model's five fields."""
    return {
        "EndpointName": endpoint.endpoint_name,
        "EndpointArn": endpoint.arn,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
        "EndpointStatus": endpoint.endpoint_status,
    }


def _matches(endpoint: Any, params: dict[str, Any], bounds: dict[str, float]) -> bool:
    contains = params.get("NameContains")
    if contains and contains not in endpoint.endpoint_name:
        return False
    status = params.get("StatusEquals")
    if status and endpoint.endpoint_status != status:
        return False
    if not bounds:
        return True
    created = _epoch(endpoint.creation_time)
    modified = _epoch(endpoint.last_modified_time)
    # The model's own words: created "before" (strict), "greater than or equal to" after;
    # modified "before" / "after" (both strict).
    checks: list[tuple[str, float, Callable[[float, float], bool]]] = [
        ("CreationTimeBefore", created, operator.lt),
        ("CreationTimeAfter", created, operator.ge),
        ("LastModifiedTimeBefore", modified, operator.lt),
        ("LastModifiedTimeAfter", modified, operator.gt),
    ]
    return all(holds(actual, bounds[name]) for name, actual, holds in checks if name in bounds)


def _epoch(value: datetime) -> float:
    """moto's naive UTC datetimes as epoch seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _request_time(name: str, value: Any) -> float:
    """A timestamp parameter: epoch seconds (botocore's JSON form) or an ISO 8601 string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return _epoch(parsed)
    raise validation_error(f"Value '{value}' at '{name}' is not a valid timestamp.")


def _encode(key: SortKey) -> str:
    first = key[0].isoformat() if isinstance(key[0], datetime) else key[0]
    return base64.urlsafe_b64encode(json.dumps([first, key[1]]).encode()).decode()


def _decode(token: str | None, by_time: bool) -> SortKey | None:
    """The (sort key, name) a previous page ended at; its key must fit this SortBy."""
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not (isinstance(value, list) and len(value) == 2):
            raise ValueError("not a pair")
        first, name = value
        if not (isinstance(first, str) and isinstance(name, str)):
            raise ValueError("not strings")
        # moto keeps naive UTC datetimes; the token carries one in ISO form.
        return (datetime.fromisoformat(first) if by_time else first), name
    except (ValueError, binascii.Error) as error:
        raise validation_error("Invalid pagination token.") from error
