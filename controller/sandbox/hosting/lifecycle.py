"""Endpoint status over time: Creating/Updating/RollingBack/Deleting -> their end states.

Real endpoints take minutes to change; the controller must poll, requeue and never block one
endpoint on another. Each create/update/delete records a `Deployment` (what, when, how long,
whether it will fail). Status is computed lazily from the clock whenever the endpoint is read,
so there are no timers racing the tests: the same clock readings always give the same statuses.
Finished deployments are written back into moto's endpoint object, so moto's own listings and
the tagging API see the settled state.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

IN_PROGRESS = frozenset({"Creating", "Updating", "RollingBack", "Deleting", "SystemUpdating"})
"""Statuses in which SageMaker refuses UpdateEndpoint (and DeleteEndpoint)."""


class DeploymentKind(enum.Enum):
    """Which API call started the deployment."""

    CREATE = "create"
    """CreateEndpoint: Creating -> InService, or Failed."""
    UPDATE = "update"
    """UpdateEndpoint: Updating -> InService on the new config, or RollingBack -> InService."""
    WEIGHTS = "weights"
    """UpdateEndpointWeightsAndCapacities: Updating -> InService with new weights/counts."""
    DELETE = "delete"
    """DeleteEndpoint: Deleting -> gone."""


@dataclass
class Deployment:
    """One change of an endpoint in flight; `seconds` is fixed when it starts."""

    kind: DeploymentKind
    started_at: float
    seconds: float
    config_name: str | None = None
    variants: list[dict[str, Any]] | None = None
    data_capture: dict[str, Any] | None = None
    failure: str | None = None
    """FailureReason the deployment ends with; None when it succeeds."""


@dataclass(frozen=True)
class Phase:
    """Where a deployment is at a given moment."""

    status: str | None
    """Endpoint status, or None once a deletion has finished (the endpoint is gone)."""
    finished: bool
    since: float
    """Seconds after the start at which this status began (for LastModifiedTime)."""


def phase_at(deployment: Deployment, elapsed: float) -> Phase:
    """The status a deployment shows `elapsed` seconds after it started."""
    span = deployment.seconds
    kind = deployment.kind
    if kind is DeploymentKind.DELETE:
        return Phase("Deleting", False, 0.0) if elapsed < span else Phase(None, True, span)
    if kind is DeploymentKind.CREATE:
        if elapsed < span:
            return Phase("Creating", False, 0.0)
        return Phase("Failed" if deployment.failure else "InService", True, span)
    if elapsed < span:
        return Phase("Updating", False, 0.0)
    if kind is DeploymentKind.UPDATE and deployment.failure:
        # A failed blue/green update rolls traffic back, which takes about as long again.
        if elapsed < 2 * span:
            return Phase("RollingBack", False, span)
        return Phase("InService", True, 2 * span)
    return Phase("InService", True, span)


@dataclass
class EndpointRecord:
    """Sandbox-only facts about one endpoint that moto's object has no place for."""

    backend: Any
    name: str
    deployment: Deployment | None = None
    last_deployment_config: dict[str, Any] | None = None


class EndpointStates:
    """All endpoint records of one sandbox, keyed by endpoint ARN.

    Only endpoints with a deployment in flight are visited by `settle_all`, so listing 1,000
    settled endpoints costs nothing extra.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._records: dict[str, EndpointRecord] = {}
        self._in_flight: set[str] = set()

    def record(self, backend: Any, endpoint: Any) -> EndpointRecord:
        """The record of an endpoint, created on first use."""
        record = self._records.get(endpoint.arn)
        if record is None or record.backend is not backend:
            record = EndpointRecord(backend, endpoint.endpoint_name)
            self._records[endpoint.arn] = record
        return record

    def begin(self, backend: Any, endpoint: Any, deployment: Deployment) -> None:
        """Start a deployment: the endpoint shows its first status at once.

        Every accepted create/update/weights change/delete is a modification, even one whose
        status does not change (a zero-second weights update stays InService), so
        LastModifiedTime moves here; ListEndpoints' LastModifiedTimeAfter relies on it.
        """
        record = self.record(backend, endpoint)
        record.deployment = deployment
        endpoint.last_modified_time = wall_time(deployment.started_at)
        self._in_flight.add(endpoint.arn)
        self._apply(record, endpoint)

    def settle(self, backend: Any, name: str) -> Any | None:
        """Bring one endpoint up to date; returns moto's endpoint, or None if it is gone."""
        endpoint = backend.endpoints.get(name)
        if endpoint is None:
            return None
        record = self._records.get(endpoint.arn)
        if record is None or record.deployment is None:
            return endpoint
        self._apply(record, endpoint)
        return backend.endpoints.get(name)

    def settle_all(self) -> None:
        """Bring every endpoint with a deployment in flight up to date."""
        for arn in list(self._in_flight):
            record = self._records.get(arn)
            if record is None:
                self._in_flight.discard(arn)
                continue
            self.settle(record.backend, record.name)

    def forget(self, arn: str) -> None:
        self._records.pop(arn, None)
        self._in_flight.discard(arn)

    def get(self, arn: str) -> EndpointRecord | None:
        return self._records.get(arn)

    def _apply(self, record: EndpointRecord, endpoint: Any) -> None:
        deployment = record.deployment
        if deployment is None:
            return
        now = self._clock()
        phase = phase_at(deployment, now - deployment.started_at)
        if phase.status is None:
            record.backend.endpoints.pop(record.name, None)
            self.forget(endpoint.arn)
            return
        if endpoint.endpoint_status != phase.status:
            endpoint.endpoint_status = phase.status
            endpoint.last_modified_time = wall_time(deployment.started_at + phase.since)
        if phase.finished:
            _finish(deployment, endpoint)
            record.deployment = None
            self._in_flight.discard(endpoint.arn)


def _finish(deployment: Deployment, endpoint: Any) -> None:
    """Write the end state of a deployment into moto's endpoint object."""
    if deployment.failure:
        # A failed create stays Failed; a failed update is back on its old config.
        endpoint.failure_reason = deployment.failure
        return
    endpoint.failure_reason = None
    if deployment.config_name is not None:
        endpoint.endpoint_config_name = deployment.config_name
    if deployment.variants is not None:
        endpoint.production_variants = deployment.variants
    if deployment.kind is DeploymentKind.UPDATE:
        endpoint.data_capture_config = deployment.data_capture or {}


def wall_time(timestamp: float) -> datetime:
    """A clock reading as moto stores times: naive UTC (moto compares them with naive values).

    Cut to whole milliseconds, as SageMaker keeps its timestamps, so a time a client read back
    round-trips exactly through botocore into a `LastModifiedTimeAfter` filter.
    """
    milliseconds = math.floor(timestamp * 1000) / 1000
    return datetime.fromtimestamp(milliseconds, tz=UTC).replace(tzinfo=None)
