"""Endpoint health from EndpointStatus: a small table, like gitops-engine's health checks."""

from __future__ import annotations

from controller.core.plan.plans import Health

_BY_STATUS = {
    "InService": Health.HEALTHY,
    "Creating": Health.PROGRESSING,
    "Updating": Health.PROGRESSING,
    "SystemUpdating": Health.PROGRESSING,
    "RollingBack": Health.PROGRESSING,
    "Deleting": Health.PROGRESSING,
    "Failed": Health.DEGRADED,
    "UpdateRollbackFailed": Health.DEGRADED,
    "OutOfService": Health.DEGRADED,
}

# Statuses in which SageMaker rejects UpdateEndpoint: a change must wait for them to settle.
BUSY = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


def health_of(status: str | None) -> Health:
    """Health for an EndpointStatus; None means the endpoint does not exist."""
    if status is None:
        return Health.MISSING
    return _BY_STATUS.get(status, Health.UNKNOWN)


def component_health(status: str) -> Health:
    """Health for an InferenceComponentStatus; "Missing" means not created yet."""
    if status == "Missing":
        return Health.MISSING
    return _BY_STATUS.get(status, Health.UNKNOWN)
