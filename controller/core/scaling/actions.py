"""Autoscaling actions: register, update and deregister scalable targets, their policies and
scheduled actions (docs/autoscaling.md).

Pure. Only targets tagged with this controller's id are ever changed; within an owned target only
policies and scheduled actions named `sagemaker-gitops-*` are. Someone else's target is reported
in the plan and left alone, and its variant's instance count is still never reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core import kinds, tagging
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType
from controller.core.scaling import model as scaling
from controller.core.scaling.model import LiveTarget, ScalingSet

Targets = Mapping[str, LiveTarget]
_TERMS = {
    ResourceType.SCALING_POLICY: scaling.policy_terms,
    ResourceType.SCHEDULED_ACTION: scaling.action_terms,
}
_PUTS = {
    ResourceType.SCALING_POLICY: "put_scaling_policy",
    ResourceType.SCHEDULED_ACTION: "put_scheduled_action",
}


def in_sync(variant: str, want: ScalingSet | None, have: LiveTarget | None) -> bool:
    """Whether the variant's live target already is what the manifest asks for."""
    return in_sync_at(scaling.variant_base(variant), want, have)


def in_sync_at(base: str, want: ScalingSet | None, have: LiveTarget | None) -> bool:
    """Whether the live target already is what the manifest asks for (no actions needed)."""
    live = have.scaling if have is not None else None
    return not field_changes(scaling.terms(base, live), scaling.terms(base, want), {})


def reconcile_targets(
    endpoint: str,
    desired: Mapping[str, ScalingSet],
    live: Targets,
    controller_id: str,
) -> tuple[list[Action], list[str]]:
    """Actions making every variant's autoscaling match the manifest; warnings for targets the
    controller does not own."""
    actions: list[Action] = []
    warnings: list[str] = []
    for variant in sorted(set(desired) | set(live)):
        want, have = desired.get(variant), live.get(variant)
        base, rid = scaling.variant_base(variant), scaling.resource_id(endpoint, variant)
        if in_sync_at(base, want, have):
            continue
        if have is not None and not tagging.owned_by(have.tags, controller_id):
            warnings.append(not_owned_warning(f"variant {variant}", have, "instance"))
            continue
        if want is None:
            assert have is not None
            actions.extend(deregister_at(base, rid, have, Reason.AUTOSCALING))
        else:
            actions.extend(upserts(base, rid, want, have, endpoint, controller_id))
    return actions, warnings


def not_owned_warning(subject: str, have: LiveTarget, counted: str) -> str:
    return (
        f"{subject}: scalable target {have.resource_id} is not managed by "
        f"sagemaker-gitops; its autoscaling is left alone and its {counted} count is not reset"
    )


def upserts(
    base: str,
    rid: str,
    want: ScalingSet,
    have: LiveTarget | None,
    endpoint: str,
    controller_id: str,
) -> list[Action]:
    """Register or update the target, then put or delete its policies and scheduled actions."""
    live = have.scaling if have is not None else None
    key = scaling.target_key(rid)
    actions: list[Action] = []
    capacity = _changes(
        scaling.capacity_terms(base, live) if live else {},
        scaling.capacity_terms(base, want),
    )
    if capacity:
        request: dict[str, Any] = {
            **key,
            "MinCapacity": want.min_capacity,
            "MaxCapacity": want.max_capacity,
        }
        if have is None:  # tags are given at registration; an update keeps them
            request["Tags"] = {tagging.MANAGED_BY: controller_id, tagging.ENDPOINT: endpoint}
        op = Op.CREATE if have is None else Op.UPDATE
        actions.append(
            _action(
                op, ResourceType.SCALABLE_TARGET, rid, capacity, "register_scalable_target", request
            )
        )
    actions.extend(_policy_upserts(base, rid, want, live))
    actions.extend(_action_upserts(base, rid, want, live))
    return actions


def _policy_upserts(base: str, rid: str, want: ScalingSet, live: ScalingSet | None) -> list[Action]:
    have = live.policies if live else {}
    return _item_upserts(base, rid, ResourceType.SCALING_POLICY, want.policies, have)


def _action_upserts(base: str, rid: str, want: ScalingSet, live: ScalingSet | None) -> list[Action]:
    have = live.actions if live else {}
    return _item_upserts(base, rid, ResourceType.SCHEDULED_ACTION, want.actions, have)


def _item_upserts(
    base: str,
    rid: str,
    resource_type: ResourceType,
    want: Mapping[str, Mapping[str, Any]],
    have: Mapping[str, Mapping[str, Any]],
) -> list[Action]:
    """Put what is new or changed (a put is an upsert under the same name); delete the
    controller's items the manifest no longer names."""
    kind = kinds.kind_of(resource_type)
    describe = _TERMS[resource_type]
    out: list[Action] = []
    for name, item in want.items():
        before = describe(base, name, have[name]) if name in have else {}
        changes = _changes(before, describe(base, name, item))
        if changes:
            op = Op.UPDATE if name in have else Op.CREATE
            request = {**scaling.target_key(rid), kind.name_param: name, **item}
            out.append(
                _action(op, resource_type, f"{rid}/{name}", changes, _PUTS[resource_type], request)
            )
    gone = [n for n in have if scaling.owned_name(n) and n not in want]
    out.extend(_delete(base, rid, resource_type, n, have[n], Reason.AUTOSCALING) for n in gone)
    return out


def deregister(variant: str, rid: str, have: LiveTarget, reason: Reason) -> list[Action]:
    return deregister_at(scaling.variant_base(variant), rid, have, reason)


def deregister_at(base: str, rid: str, have: LiveTarget, reason: Reason) -> list[Action]:
    """Delete the controller's scheduled actions and policies, then deregister the target."""
    live = have.scaling
    out = [
        _delete(base, rid, ResourceType.SCHEDULED_ACTION, n, a, reason)
        for n, a in live.actions.items()
        if scaling.owned_name(n)
    ]
    out.extend(
        _delete(base, rid, ResourceType.SCALING_POLICY, n, p, reason)
        for n, p in live.policies.items()
        if scaling.owned_name(n)
    )
    before = scaling.capacity_terms(base, live)
    changes = tuple(FieldChange(path, value, None) for path, value in before.items())
    key = scaling.target_key(rid)
    out.append(
        Action(
            Op.DELETE,
            ResourceType.SCALABLE_TARGET,
            rid,
            reason,
            changes,
            call="deregister_scalable_target",
            request=key,
        )
    )
    return out


def _delete(
    base: str,
    rid: str,
    resource_type: ResourceType,
    name: str,
    item: Mapping[str, Any],
    reason: Reason,
) -> Action:
    kind = kinds.kind_of(resource_type)
    before = _TERMS[resource_type](base, name, item)
    return Action(
        Op.DELETE,
        resource_type,
        f"{rid}/{name}",
        reason,
        tuple(FieldChange(path, value, None) for path, value in before.items()),
        call=kind.delete_call,
        request={**scaling.target_key(rid), kind.name_param: name},
    )


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return field_changes(before, after, {})


def _action(
    op: Op,
    resource_type: ResourceType,
    name: str,
    changes: tuple[FieldChange, ...],
    call: str,
    request: dict[str, Any],
) -> Action:
    return Action(op, resource_type, name, Reason.AUTOSCALING, changes, call=call, request=request)
