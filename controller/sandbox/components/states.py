"""Inference components and their status over time (moto has no inference components at all).

Same lazy style as endpoints (`lifecycle`): each create/update/delete records a `Deployment` and
the status is computed from the clock whenever a component is read, so a manual clock gives the
same statuses every time. `lifecycle.phase_at` is reused for the timing; the only difference is
the status names: InferenceComponentStatus has no RollingBack, so a failed update stays
Updating while it rolls back and then ends InService on its old specification with
FailureReason set, as SageMaker's automatic rollback of a rolling update does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from controller.sandbox.hosting.lifecycle import Deployment, DeploymentKind, phase_at

RESOURCE_TYPE = "inference-component"
"""The resource type in an inference component's ARN (and GetResources' `sagemaker:` filter)."""

BUSY = frozenset({"Creating", "Updating", "Deleting"})
"""Statuses in which SageMaker refuses to update (or delete) an inference component."""


@dataclass
class Change:
    """A change in flight: the deployment timing plus what the component becomes at the end."""

    deployment: Deployment
    specification: dict[str, Any] | None = None
    """The new Specification of an UpdateInferenceComponent; None keeps the current one."""
    copies: int | None = None
    """The new desired copy count; None keeps the current one."""
    previous: dict[str, Any] | None = None
    """The specification before the change, restored if it rolls back."""


@dataclass
class Component:
    """One inference component, as the sandbox stores it (request fields as sent)."""

    name: str
    arn: str
    endpoint_name: str
    endpoint_arn: str
    variant_name: str
    specification: dict[str, Any]
    copies: int | None
    """Desired copy count (RuntimeConfig.CopyCount); None for an adapter, which has none."""
    created_at: float
    modified_at: float
    status: str
    tags: list[dict[str, str]] = field(default_factory=list)
    current_copies: int | None = None
    failure_reason: str | None = None
    last_deployment_config: dict[str, Any] | None = None
    change: Change | None = None


class ComponentStates:
    """All inference components of one sandbox, keyed by ARN (ARNs carry account and region)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._components: dict[str, Component] = {}

    def add(self, component: Component) -> None:
        self._components[component.arn] = component

    def get(self, arn: str) -> Component | None:
        """The component, brought up to date; None if it does not exist (or has gone)."""
        component = self._components.get(arn)
        if component is not None:
            self._settle(component)
        return self._components.get(arn)

    def all(self, prefix: str) -> Iterator[Component]:
        """Every live component whose ARN starts with `prefix` (one account and region)."""
        for arn in [a for a in self._components if a.startswith(prefix)]:
            component = self.get(arn)
            if component is not None:
                yield component

    def begin(self, component: Component, change: Change) -> None:
        """Start a change: the component shows its first status at once.

        Every accepted create, update, runtime-config update and delete is a modification
        ("the time when the inference component was last updated"), even one whose status does
        not change (a zero-second copy change stays InService), so LastModifiedTime moves here;
        it moves again when the status changes. Controllers describe a component only when its
        listing shows a new LastModifiedTime or status, so a hand edit must move it. Tags are
        not part of the component: AddTags/DeleteTags leave it alone.
        """
        component.change = change
        component.modified_at = change.deployment.started_at
        # Describe shows what is being deployed at once (there is no pending summary for
        # components); a rollback restores the old specification and copy count.
        if change.copies is not None:
            component.copies = change.copies
        if change.specification is not None:
            change.previous = component.specification
            component.specification = change.specification
        self._settle(component)

    def _settle(self, component: Component) -> None:
        change = component.change
        if change is None:
            return
        started = change.deployment.started_at
        phase = phase_at(change.deployment, self._clock() - started)
        if phase.status is None:
            self._components.pop(component.arn, None)
            return
        status = "Updating" if phase.status == "RollingBack" else phase.status
        if component.status != status:
            component.status = status
            component.modified_at = started + phase.since
        if phase.finished:
            _finish(component, change)
            component.change = None


def _finish(component: Component, change: Change) -> None:
    """Write the end state of a finished change into the component."""
    failure = change.deployment.failure
    kind = change.deployment.kind
    if failure and kind is DeploymentKind.CREATE:
        component.failure_reason = failure
        component.current_copies = None if component.copies is None else 0
        return
    if failure:
        # Rolled back: the old specification and copy count return, the reason is reported.
        component.failure_reason = failure
        component.copies = component.current_copies
        if change.previous is not None:
            component.specification = change.previous
        return
    component.failure_reason = None
    component.current_copies = component.copies
