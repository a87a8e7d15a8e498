"""Plans for owned endpoints whose manifest is gone: kept, or deleted with --prune."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core.endpoint.health import health_of
from controller.core.kinds import delete_action
from controller.core.livestate import LiveEndpoint
from controller.core.plan.plans import Action, EndpointPlan, Reason, ResourceType, Status
from controller.core.scaling.actions import deregister
from controller.core.scaling.model import LiveTarget


def diff_removed(
    name: str,
    region: str,
    live: LiveEndpoint | None,
    confirmed_owned: bool,
    leftovers: tuple[tuple[ResourceType, str], ...],
    prune: bool,
    source: str | None = None,
    targets: Mapping[str, LiveTarget] | None = None,
    components: tuple[tuple[str, bool], ...] = (),
    component_scaling: tuple[Action, ...] = (),
    rollback_alarms: tuple[Action, ...] = (),
) -> EndpointPlan:
    """Plan an owned endpoint whose manifest is gone: delete only with --prune.

    `targets` are the endpoint's scalable targets this controller owns; they are deregistered
    (with their policies and scheduled actions) before the endpoint is deleted. `components` are
    the inference components on it, as (name, owned). Its own components go first and the
    endpoint in a later pass; one it does not own keeps the endpoint alive. `component_scaling`
    deregisters the controller's autoscaling of those components first. `rollback_alarms`
    deletes the rollback alarms the controller put for the endpoint, with it."""
    health = health_of(live.status if live else None)
    base: dict[str, Any] = {"name": name, "manifest": None, "region": region, "health": health}
    if not prune:
        where = f" (was {source})" if source else ""
        return EndpointPlan(
            **base,
            status=Status.UNCHANGED,
            warnings=(f"manifest removed{where}; kept (use --prune to delete)",),
        )
    if live is not None and not confirmed_owned:
        return EndpointPlan(
            **base,
            status=Status.ERROR,
            errors=("ownership could not be confirmed; not deleted",),
            error_reason="NotOwned",
        )
    foreign = [name for name, owned in components if not owned]
    if foreign:
        return EndpointPlan(
            **base,
            status=Status.ERROR,
            errors=(
                f"endpoint hosts inference components not managed by this controller "
                f"({', '.join(foreign)}); not deleted",
            ),
            error_reason="NotOwned",
        )
    if components:
        doomed = [name for name, _ in components]
        return EndpointPlan(
            **base,
            status=Status.DELETE,
            actions=component_scaling
            + tuple(
                delete_action(ResourceType.INFERENCE_COMPONENT, n, Reason.MANIFEST_REMOVED)
                for n in doomed
            ),
            warnings=(f"endpoint {name} will be deleted once its inference components are gone",),
        )
    actions: list[Action] = []
    for variant, target in sorted((targets or {}).items()):
        actions.extend(deregister(variant, target.resource_id, target, Reason.MANIFEST_REMOVED))
    if live is not None and live.status != "Deleting":
        actions.append(delete_action(ResourceType.ENDPOINT, name, Reason.MANIFEST_REMOVED))
        actions.extend(rollback_alarms)
    if live is None:  # configs and models go once the endpoint itself is gone
        actions.extend(delete_action(kind, n, Reason.MANIFEST_REMOVED) for kind, n in leftovers)
    if not actions:
        return EndpointPlan(**base, status=Status.UNCHANGED)
    return EndpointPlan(
        **base,
        status=Status.DELETE,
        actions=tuple(actions),
        warnings=(f"endpoint {name} will be deleted (manifest removed)",)
        if live is not None
        else (),
    )
