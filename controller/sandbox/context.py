"""Shared state of one running sandbox, and the per-request context handlers receive.

Handlers for the SageMaker overrides are plain functions `(Context, params) -> dict | None`;
returning None hands the request on to moto unchanged (after the handler's checks passed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.sagemaker.models import sagemaker_backends
from moto.utilities.utils import get_partition

from controller.sandbox.autoscaling.store import ScalingStates, ScalingStore
from controller.sandbox.cloudwatch.traffic import TrafficSettings
from controller.sandbox.components.states import ComponentStates
from controller.sandbox.hosting.lifecycle import EndpointStates
from controller.sandbox.snapshots import Snapshots


@dataclass
class SandboxState:
    """Mutable settings and endpoint records shared by all request threads (under the app lock)."""

    transition_seconds: float = 0.0
    clock: Callable[[], float] = time.time
    endpoints: EndpointStates = field(init=False)
    components: ComponentStates = field(init=False)
    scaling: ScalingStates = field(default_factory=ScalingStates)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The create request (less Tags) of each Model and EndpointConfig, by ARN. Describe calls
    echo it back, because moto keeps only some fields (e.g. drops EnableNetworkIsolation)."""
    group_policies: dict[str, str] = field(default_factory=dict)
    """Model package group resource policies (JSON), by lower-cased group ARN."""
    snapshots: Snapshots = field(default_factory=Snapshots)
    """Sorted GetResources matches being paged through (see `snapshots`)."""
    life_cycles: dict[str, dict[str, str]] = field(default_factory=dict)
    """ModelLifeCycle of each model package version (moto keeps none), by lower-cased ARN."""
    traffic: TrafficSettings = field(default_factory=TrafficSettings)
    """Invocation traffic profiles behind the synthesised CloudWatch metrics."""

    def __post_init__(self) -> None:
        self.endpoints = EndpointStates(self.clock)
        self.components = ComponentStates(self.clock)


@dataclass(frozen=True)
class Context:
    """Who is calling where: moto keeps one backend per account and region."""

    state: SandboxState
    account: str
    region: str
    access_key: str | None = None
    """The caller's access key, for resource policies that name a role."""

    @property
    def backend(self) -> Any:
        """moto's SageMaker backend for this account and region."""
        return sagemaker_backends[self.account][self.region]

    def arn(self, resource_type: str, name: str) -> str:
        """A SageMaker ARN, e.g. `arn:aws:sagemaker:us-east-1:123456789012:endpoint/x`."""
        partition = get_partition(self.region)
        return f"arn:{partition}:sagemaker:{self.region}:{self.account}:{resource_type}/{name}"

    @property
    def scaling(self) -> ScalingStore:
        """Application Auto Scaling's targets, policies and actions here."""
        return self.state.scaling.of(self.account, self.region)

    def now(self) -> float:
        return self.state.clock()


Handler = Callable[[Context, dict[str, Any]], dict[str, Any] | None]
