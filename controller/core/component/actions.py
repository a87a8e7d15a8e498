"""The inference components' actions: create, roll out, change copies, retag, prune.

Decided per component, never touching the others: a new model version or a compute/startup
change is an UpdateInferenceComponent with the manifest's rolling DeploymentConfig; a copy count
alone is an UpdateInferenceComponentRuntimeConfig; a component added is created, one removed is
deleted only with --prune. Components the controller does not own are reported and left alone;
a component whose copy count a scalable target owns never has it reset. A failed update (SageMaker
rolls it back and says why) is recognised by the attempted-spec tag and not retried until the
manifest changes, as a failed endpoint rollout is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from controller.core import tagging
from controller.core.component.model import (
    DesiredComponent,
    LiveComponent,
)
from controller.core.component.requests import (
    create_action,
    model_actions,
    retag_action,
    runtime_action,
    update_action,
)
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.kinds import delete_action
from controller.core.observed import DiffOptions, Observed
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import (
    Action,
    ComponentPlan,
    ComponentRow,
    FieldChange,
    Reason,
    ResourceType,
)

# InferenceComponentStatus values in which SageMaker refuses an update or delete.
BUSY = frozenset({"Creating", "Updating", "Deleting"})
IC = ResourceType.INFERENCE_COMPONENT


@dataclass
class Decision:
    """Everything the components add to an endpoint's plan."""

    actions: list[Action] = field(default_factory=list)
    rows: list[ComponentRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (condition reason, message)
    busy: bool = False  # some component is changing: look again later


def plan_components(
    desired: DesiredEndpoint, seen: Observed, options: DiffOptions, ready: bool
) -> Decision:
    """`ready`: the endpoint is InService with no endpoint change planned, so components may
    change now; otherwise their changes are shown as waiting."""
    decision = Decision()
    live = {c.name.lower(): c for c in seen.components}
    for want in desired.components:
        have = live.pop(want.name.lower(), None)
        _one(decision, desired, want, have, seen, options, ready)
    for have in live.values():
        _live_only(decision, have, seen, options)
    decision.busy = any(c.status in BUSY for c in seen.components)
    return decision


def _one(
    decision: Decision,
    desired: DesiredEndpoint,
    want: DesiredComponent,
    have: LiveComponent | None,
    seen: Observed,
    options: DiffOptions,
    ready: bool,
) -> None:
    row = _row(want, have, seen)
    if have is None:
        if not ready:
            decision.rows.append(
                _with(row, ComponentPlan.WAITING, "created once the endpoint is InService")
            )
            return
        decision.actions += [
            *model_actions(desired, want, seen, Reason.NEW_COMPONENT),
            create_action(desired, want),
        ]
        decision.rows.append(_with(row, ComponentPlan.CREATE))
        return
    tags = seen.component_tags.get(have.name.lower())
    problem = _problem(want, have, tags, options)
    if problem is not None:
        if problem[0] == "RecreateFailed" and ready:
            decision.actions.append(delete_action(IC, have.name, Reason.RECREATE_FAILED))
            decision.rows.append(_with(row, ComponentPlan.DELETE, problem[1]))
            return
        decision.problems.append(problem)
        decision.rows.append(_with(row, ComponentPlan.ERROR, problem[1]))
        return
    assert tags is not None  # owned
    actions = list(_changes(desired, want, have, tags, seen))
    if actions and (not ready or have.status in BUSY):
        why = f"changes apply once {'the endpoint' if not ready else 'it'} is InService"
        decision.rows.append(_with(row, ComponentPlan.WAITING, why))
        return
    decision.actions += actions
    decision.rows.append(_with(row, _row_plan(actions)))


def _problem(
    want: DesiredComponent,
    have: LiveComponent,
    tags: Mapping[str, str] | None,
    options: DiffOptions,
) -> tuple[str, str] | None:
    """Why this component must not be touched now, or None."""
    if not tagging.owned_by(tags, options.controller_id):
        return "NotOwned", (
            f"inference component {have.name} exists but is not managed by this controller; "
            "it is left alone (choose another name)"
        )
    if have.variant != want.variant:
        return "NeedsAttention", (
            f"inference component {have.name} runs on variant {have.variant}; SageMaker cannot "
            f"move it to {want.variant} (give it a new name to create it there)"
        )
    if have.status == "Failed":
        if options.recreated_once:
            return "ComponentFailed", (
                f"inference component {have.name} is Failed again after it was recreated: "
                f"{have.failure_reason or 'no reason'}. It is recreated at most once per command"
            )
        if options.recreate_failed:
            return "RecreateFailed", f"component is Failed ({have.failure_reason}); recreated"
        return "ComponentFailed", (
            f"inference component {have.name} is Failed: {have.failure_reason or 'no reason'}. "
            "Re-run apply with --recreate-failed to delete and create it again"
        )
    attempted = (tags or {}).get(tagging.ATTEMPTED_SPEC)
    rolled_back = have.failure_reason and have.status not in BUSY
    if rolled_back and attempted == want.spec_id and _spec_differs(want, have):
        return "RolloutFailed", (
            f"update of inference component {have.name} failed and was rolled back: "
            f"{have.failure_reason.rstrip('.')}. It is not retried until the manifest or the "
            "registry changes"
        )
    return None


def _spec_differs(want: DesiredComponent, have: LiveComponent) -> bool:
    if have.model_name != want.model.name:
        return True
    before = {k: v for k, v in have.specification.items() if k != "ModelName"}
    after = {k: v for k, v in want.specification.items() if k != "ModelName"}
    return bool(field_changes(_flat(before), _flat(after), {}))


def _flat(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if isinstance(inner, Mapping):
            out.update(_flat(inner, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = inner
    return out


def _changes(
    desired: DesiredEndpoint,
    want: DesiredComponent,
    have: LiveComponent,
    tags: Mapping[str, str],
    seen: Observed,
) -> Iterator[Action]:
    copies = _copies_change(want, have, seen)
    if _spec_differs(want, have):  # the update carries the tag edits too
        yield from model_actions(desired, want, seen, Reason.COMPONENT_CHANGED)
        yield update_action(desired, want, have, tags, seen, copies)
        return
    if copies is not None:
        yield runtime_action(want, copies)
    to_set, to_remove = tagging.tag_delta(desired.tags, tags)
    if to_set or to_remove:
        yield retag_action(have, to_set, to_remove, tags, Reason.TAGS_ONLY)


def _copies_change(
    want: DesiredComponent, have: LiveComponent, seen: Observed
) -> FieldChange | None:
    if want.name.lower() in seen.autoscaled or have.desired_copies == want.copies:
        return None  # a scalable target owns the count: never reset it
    return FieldChange(f"{want.base}.copies", have.desired_copies, want.copies)


def _live_only(
    decision: Decision, have: LiveComponent, seen: Observed, options: DiffOptions
) -> None:
    row = _row(None, have, seen)
    tags = seen.component_tags.get(have.name.lower())
    if not tagging.owned_by(tags, options.controller_id):
        message = f"inference component {have.name} is not managed by this controller; left alone"
        decision.warnings.append(message)
        decision.rows.append(_with(row, ComponentPlan.UNMANAGED, message))
        return
    if not options.prune:
        message = f"inference component {have.name} removed from the manifest; kept (use --prune)"
        decision.warnings.append(message)
        decision.rows.append(_with(row, ComponentPlan.KEPT, message))
        return
    if have.status in BUSY:
        decision.rows.append(_with(row, ComponentPlan.WAITING, "deleted once it is settled"))
        return
    decision.actions.append(delete_action(IC, have.name, Reason.COMPONENT_REMOVED))
    # Its Models go with it (deleted after it: the Model kind's delete phase is later).
    decision.actions += [
        delete_action(ResourceType.MODEL, model, Reason.COMPONENT_REMOVED)
        for model in seen.component_garbage.get(have.name.lower(), ())
    ]
    decision.warnings.append(f"inference component {have.name} will be deleted (--prune)")
    decision.rows.append(_with(row, ComponentPlan.DELETE))


def _row(want: DesiredComponent | None, have: LiveComponent | None, seen: Observed) -> ComponentRow:
    name = want.name if want else have.name if have else ""
    return ComponentRow(
        name=name,
        variant=want.variant if want else have.variant if have else "",
        plan=ComponentPlan.UNCHANGED,
        status=have.status if have else "Missing",
        model=want.model.display if want else have.model_name if have else "",
        copies=want.copies if want else None,
        desired_copies=have.desired_copies if have else None,
        current_copies=have.current_copies if have else None,
        autoscaled=name.lower() in seen.autoscaled,
        message=have.failure_reason if have else "",
    )


def _with(row: ComponentRow, plan: ComponentPlan, message: str = "") -> ComponentRow:
    return replace(row, plan=plan, message=message or row.message)


def _row_plan(actions: list[Action]) -> ComponentPlan:
    ops = {(a.op, a.call) for a in actions if a.type is IC}
    if any(call == "update_inference_component" for _, call in ops):
        return ComponentPlan.UPDATE
    if any(call == "update_inference_component_runtime_config" for _, call in ops):
        return ComponentPlan.COPIES
    if ops:
        return ComponentPlan.TAG
    return ComponentPlan.UNCHANGED
