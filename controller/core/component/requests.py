"""The API requests behind an inference component's actions: create, update, copies, tags.

Pure. `component_actions` decides which of these a component needs; this module spells each one
out as the exact request apply sends, plus the field changes a reviewer sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controller.core import tagging
from controller.core.component.model import (
    DesiredComponent,
    LiveComponent,
    live_terms,
    model_tags,
    spec_terms,
)
from controller.core.endpoint import history
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.observed import Observed
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType
from controller.core.tag_actions import tag_action

IC = ResourceType.INFERENCE_COMPONENT


def update_action(
    desired: DesiredEndpoint,
    want: DesiredComponent,
    have: LiveComponent,
    tags: Mapping[str, str],
    seen: Observed,
    copies: FieldChange | None,
) -> Action:
    changes = spec_changes(want, have, seen.component_models.get(have.name))
    version = any(c.path.endswith((".model.version", ".model.packageGroup")) for c in changes)
    request: dict[str, Any] = {
        "InferenceComponentName": want.name,
        "Specification": want.specification,
    }
    if copies is not None:
        request["RuntimeConfig"] = {"CopyCount": want.copies}
        changes = (*changes, copies)
    if want.deployment_config:
        request["DeploymentConfig"] = want.deployment_config
    to_set, to_remove = tagging.tag_delta(desired.tags, tags)
    bookkeeping = {k: v for k, v in desired.tags.items() if k in tagging.BOOKKEEPING}
    to_set.update({**bookkeeping, tagging.ATTEMPTED_SPEC: want.spec_id})
    if have.model_name and have.model_name != want.model.name:
        # Safety hook: the Model live now joins the component's rollback history, which GC
        # keeps (core/component/history.py), as an endpoint's live config does.
        to_set[tagging.HISTORY] = history.pushed(tags.get(tagging.HISTORY), have.model_name)
    reason = Reason.VERSION_CHANGED if version else Reason.COMPONENT_CHANGED
    if tags.get(tagging.ATTEMPTED_SPEC) == want.spec_id:
        reason = Reason.DRIFT  # we last sent this very spec: the live one was changed by hand
    retag = retag_action(have, to_set, to_remove, tags, reason)
    return Action(
        Op.UPDATE,
        IC,
        want.name,
        reason,
        changes + retag.changes,
        call="update_inference_component",
        request=request,
        tags_set=retag.tags_set,
        tags_removed=retag.tags_removed,
        resource_arn=have.arn,
    )


def spec_changes(
    want: DesiredComponent, have: LiveComponent, model: Mapping[str, Any] | None
) -> tuple[FieldChange, ...]:
    """What changes, in manifest terms; the model's fields only when its Model was described
    (it is read only when the component switches Models), else the Model name switch."""
    before = live_terms(have, model)
    if before is not None:
        return field_changes(before, want.terms, {})
    after = spec_terms(want.base, want.specification)
    changes = field_changes(spec_terms(want.base, have.specification), after, {})
    if have.model_name != want.model.name:
        changes += (FieldChange(f"{want.base}.modelName", have.model_name, want.model.name),)
    return changes


def runtime_action(want: DesiredComponent, copies: FieldChange) -> Action:
    return Action(
        Op.UPDATE,
        IC,
        want.name,
        Reason.COPIES_ONLY,
        (copies,),
        call="update_inference_component_runtime_config",
        request={
            "InferenceComponentName": want.name,
            "DesiredRuntimeConfig": {"CopyCount": want.copies},
        },
    )


def retag_action(
    have: LiveComponent,
    to_set: dict[str, str],
    to_remove: list[str],
    tags: Mapping[str, str],
    reason: Reason,
) -> Action:
    return tag_action(IC, have.name, have.arn, to_set, to_remove, reason, tags)


def create_action(desired: DesiredEndpoint, want: DesiredComponent) -> Action:
    request = {
        "InferenceComponentName": want.name,
        "EndpointName": desired.name,
        "VariantName": want.variant,
        "Specification": want.specification,
        "RuntimeConfig": {"CopyCount": want.copies},
        "Tags": tagging.to_list({**desired.tags, tagging.ATTEMPTED_SPEC: want.spec_id}),
    }
    changes = tuple(
        FieldChange(path, None, value)
        for path, value in {**want.terms, f"{want.base}.copies": want.copies}.items()
        if value is not None
    )
    return Action(
        Op.CREATE,
        IC,
        want.name,
        Reason.NEW_COMPONENT,
        changes,
        call="create_inference_component",
        request=request,
    )


def model_actions(
    desired: DesiredEndpoint, want: DesiredComponent, seen: Observed, reason: Reason
) -> list[Action]:
    if want.model.name not in seen.missing_models:
        return []
    tags = tagging.to_list(model_tags(desired.tags, want.name))
    return [
        Action(
            Op.CREATE,
            ResourceType.MODEL,
            want.model.name,
            reason,
            call="create_model",
            request={**want.model.request, "Tags": tags},
        )
    ]
