"""Tag edits for every kind: significant tags plus the controller's bookkeeping tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from controller.core import tagging
from controller.core.endpoint import history
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.kinds import sibling_arn
from controller.core.livestate import LiveEndpoint
from controller.core.observed import Observed
from controller.core.plan.plans import Action, FieldChange, Op, Reason, ResourceType


def with_tags(update: Action, retag: Action) -> Action:
    """Fold the endpoint's tag edits into its update: one action per endpoint in the plan.

    Apply runs AddTags just before the update call, so the attempted-config tag is on the
    endpoint before a rollout can fail (that tag is how a failed rollout is recognised).
    """
    return replace(
        update,
        changes=update.changes + retag.changes,
        tags_set=retag.tags_set,
        tags_removed=retag.tags_removed,
        resource_arn=retag.request["ResourceArn"],
    )


def tag_actions(desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint) -> list[Action]:
    actions: list[Action] = []
    if tagging.tag_delta(desired.tags, seen.endpoint_tags or {}) != ({}, []):
        # Moving an endpoint from another scope (spec.adopt) is a takeover, not a tag edit.
        moved = tagging.scope_change(desired.tags, seen.endpoint_tags) or tagging.project_change(
            desired.tags, seen.endpoint_tags
        )
        reason = Reason.ADOPT if moved else Reason.TAGS_ONLY
        actions.append(endpoint_tags(desired, seen, live, reason, attempted=False))
    for kind, name in desired.immutable_resources:
        have = seen.resource_tags.get(name)
        if have is None:
            continue  # not in the index (yet): nothing reliable to compare
        to_set, to_remove = tagging.tag_delta(desired.tags, have)
        if to_set or to_remove:
            actions.append(
                tag_action(
                    kind,
                    name,
                    sibling_arn(live.arn, kind, name),
                    to_set,
                    to_remove,
                    Reason.TAGS_ONLY,
                    have,
                )
            )
    return actions


def endpoint_tags(
    desired: DesiredEndpoint,
    seen: Observed,
    live: LiveEndpoint,
    reason: Reason,
    attempted: bool,
    pending: bool = False,
) -> Action:
    """Tag the endpoint: significant tags plus refreshed bookkeeping (revision, spec hash).
    `pending`: the call that follows moves the endpoint's LastModifiedTime, and the command will
    see it settle, so the observed stamp waits for that pass."""
    have = dict(seen.endpoint_tags or {})
    to_set, to_remove = tagging.tag_delta(desired.tags, have)
    bookkeeping = {k: v for k, v in desired.tags.items() if k in tagging.BOOKKEEPING}
    if pending:
        bookkeeping[tagging.OBSERVED] = tagging.OBSERVED_PENDING
    if attempted:
        bookkeeping[tagging.ATTEMPTED_CONFIG] = desired.config_name
        if tagging.FAILED_CONFIG in have:  # a new attempt: the old failure no longer applies
            to_remove.append(tagging.FAILED_CONFIG)
        # Safety hook: the config live now joins the rollback history (deployment order).
        bookkeeping[tagging.HISTORY] = history.pushed(have.get(tagging.HISTORY), live.config_name)
    to_set.update({k: v for k, v in bookkeeping.items() if have.get(k) != v})
    return tag_action(ResourceType.ENDPOINT, live.name, live.arn, to_set, to_remove, reason, have)


def tag_action(
    kind: ResourceType,
    name: str,
    arn: str,
    to_set: dict[str, str],
    to_remove: list[str],
    reason: Reason,
    have: Mapping[str, str],
) -> Action:
    changes = tuple(
        FieldChange(f"tags.{k}", have.get(k), to_set.get(k))
        for k in sorted({*to_set, *to_remove})
        if k not in tagging.BOOKKEEPING
    )
    return Action(
        Op.TAG,
        kind,
        name,
        reason,
        changes,
        call="tag",
        request={"ResourceArn": arn},
        tags_set=dict(sorted(to_set.items())),
        tags_removed=tuple(to_remove),
    )
