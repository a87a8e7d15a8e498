"""Executing an endpoint's planned actions against SageMaker, in a fixed order, idempotently.

Only `Action.call` and `Action.request` steer what happens here. Every step tolerates having been
done already (a crash between two calls is repaired by the next run), and nothing here waits for
an endpoint to change state: that is the caller's loop or the service's requeue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from controller.aws.reading import call
from controller.core import kinds, tagging
from controller.core.livestate import Inventory, Owned
from controller.core.plan.plans import Action, EndpointPlan, Op, ResourceType
from controller.errors import Conflict, ControllerError, NotFound

log = structlog.get_logger(__name__)

# The apply order comes from the kind table (gitops-engine's kindOrder): create what others
# refer to first, delete in reverse, and move the endpoint only once everything it points at exists.
ORDER: dict[tuple[Op, ResourceType], int] = kinds.apply_order()
# CreateEndpoint may not see a just-created EndpointConfig yet (eventual consistency).
CREATE_ENDPOINT_RETRIES = (0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Change:
    """One entry of an apply's change set."""

    type: ResourceType
    name: str
    result: str  # created | updated | tagged | deleted | unchanged


def ordered(actions: tuple[Action, ...]) -> list[Action]:
    return sorted(actions, key=lambda a: ORDER[(a.op, a.type)])


def apply_endpoint(
    client: Any,
    plan: EndpointPlan,
    inventory: Inventory | None = None,
    sleep: Callable[[float], None] = time.sleep,
    services: Mapping[str, Any] | None = None,
) -> list[Change]:
    """Issue the plan's calls; raises the first error (later actions depend on earlier ones).

    `client` serves SageMaker; `services` maps other services a kind names (its row's
    `service`, e.g. application-autoscaling) to their clients."""
    changes: list[Change] = []
    bound = log.bind(endpoint=plan.name)
    for action in ordered(plan.actions):
        # Every mutation is logged (the endpoint and revision come from the reconcile's context);
        # deletes at warning, so they are seen at the default level of every command.
        emit = bound.warning if action.op is Op.DELETE else bound.info
        emit(
            "apply",
            action=action.op.value,
            type=action.type.value,
            resource=action.name,
            reason=action.reason.value,
        )
        service = kinds.kind_of(action.type).service
        target = client if service == "sagemaker" else (services or {})[service]
        try:
            result = _execute(target, action, sleep)
        except ControllerError:
            if inventory is not None:
                _forget_tags(inventory, action)
            raise
        if inventory is not None:
            _remember(inventory, action)
        changes.append(Change(action.type, action.name, result))
    return changes


def _execute(client: Any, action: Action, sleep: Callable[[float], None]) -> str:
    if action.op is Op.TAG:
        return _retag(client, action)
    if action.op is Op.DELETE:
        try:
            call(client, action.call, **action.request)
        except NotFound:
            return "unchanged"  # already gone: the goal is met
        return "deleted"
    if action.op is Op.UPDATE and (action.tags_set or action.tags_removed):
        _retag(client, action)
    if action.call == "create_endpoint":
        return _create_endpoint(client, action, sleep)
    try:
        call(client, action.call, **action.request)
    except Conflict as e:
        immutable = kinds.kind_of(action.type).immutable
        if action.op is Op.CREATE and immutable and "already existing" in str(e):
            return "unchanged"  # same content-hashed name: made by an earlier, interrupted run
        raise
    return "created" if action.op is Op.CREATE else "updated"


def _create_endpoint(client: Any, action: Action, sleep: Callable[[float], None]) -> str:
    for delay in (*CREATE_ENDPOINT_RETRIES, None):
        try:
            call(client, "create_endpoint", **action.request)
            return "created"
        except NotFound:
            if delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")


def _retag(client: Any, action: Action) -> str:
    arn = action.resource_arn or action.request["ResourceArn"]
    if action.tags_set:
        call(client, "add_tags", ResourceArn=arn, Tags=tagging.to_list(action.tags_set))
    if action.tags_removed:
        call(client, "delete_tags", ResourceArn=arn, TagKeys=list(action.tags_removed))
    return "tagged"


def _forget_tags(inventory: Inventory, action: Action) -> None:
    """After a failed action that tags first (an update's attempted config and history), the
    tags may be written while the call failed, or written without an answer: the cached index
    no longer knows them. Dropped, the next pass asks ListTags, the authority; kept, a stale
    attempted-config tag would keep the superseded config out of GC for the whole command."""
    if kinds.kind_of(action.type).tagging_type is None or action.op is Op.CREATE:
        return
    if action.tags_set or action.tags_removed:
        inventory.drop(kinds.kind_of(action.type).segment, action.name)


def _remember(inventory: Inventory, action: Action) -> None:
    """Keep the cached owned-resource index in step with what we just did."""
    if kinds.kind_of(action.type).tagging_type is None:
        return  # not in the index (autoscaling: the caller re-reads it instead)
    kind = kinds.kind_of(action.type).segment
    if action.op is Op.DELETE:
        inventory.drop(kind, action.name)
        return
    current = inventory.get(kind, action.name)
    if action.op is Op.CREATE:
        tags = tagging.from_list(action.request.get("Tags", []))
        inventory.put(Owned(kind, action.name, current.arn if current else "", tags))
    elif (action.tags_set or action.tags_removed) and current is not None:
        # TAG actions, and updates that tag the endpoint first (attempted config, revision):
        # a later pass must see those tags, or it would not recognise a failed rollout.
        tags = {**current.tags, **action.tags_set}
        for key in action.tags_removed:
            tags.pop(key, None)
        inventory.put(Owned(kind, action.name, current.arn, tags))


def record_observed(client: Any, inventory: Inventory, name: str, stamp: tuple[str, str]) -> bool:
    """Tag the endpoint with when it was seen settled and in sync (`sagemaker-gitops/observed`,
    core/endpoint/observedstamp.py), and keep the cached index in step. Bookkeeping for cold
    plans: False when it failed (logged; the caller looks again, so a change is not left
    "pending" for a later no-op apply to write)."""
    arn, when = stamp
    try:
        call(client, "add_tags", ResourceArn=arn, Tags=[{"Key": tagging.OBSERVED, "Value": when}])
    except ControllerError as e:
        log.warning("recording the observed stamp failed", endpoint=name, error=str(e))
        inventory.drop(kinds.ENDPOINT.segment, name)  # it may have landed: ListTags decides
        return False
    owned = inventory.get(kinds.ENDPOINT.segment, name)
    if owned is not None:
        inventory.put(
            Owned(owned.kind, owned.name, owned.arn, {**owned.tags, tagging.OBSERVED: when})
        )
    return True
