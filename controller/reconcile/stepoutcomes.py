"""Which Outcome one reconcile step returns for its plan: failed, in sync, still changing, held
back, report only, applied, or refused by AWS while applying.

Kept apart from `reconciling` (which loads, plans and applies) because the mapping reads only
the plan and what apply changed (or raised), so the rules of the three outcomes (converged,
check back later, give up until the input changes) stay in one place, with no AWS call.
"""

from __future__ import annotations

import structlog

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Health, Op
from controller.errors import AccountMismatch, Conflict, ControllerError, Throttled

log = structlog.get_logger(__name__)

# What apply changed: (resource type, name, created|updated|tagged|deleted|unchanged).
Changes = tuple[tuple[str, str, str], ...]


def failed(name: str, plan: EndpointPlan) -> Outcome:
    """A plan in error: a read that failed is retried, anything else waits for a new input."""
    transient = plan.error_reason == "ReadFailed"
    kind = OutcomeKind.TRANSIENT if transient else OutcomeKind.TERMINAL
    reason = plan.error_reason or "InvalidSpec"
    return Outcome(name, kind, "; ".join(plan.errors), plan=plan, reason=reason)


def settled(name: str, plan: EndpointPlan, requeue_seconds: float) -> Outcome:
    """A plan with nothing to do."""
    if plan.held and plan.manifest is None:  # safety hook: a delete held back by a guard
        return Outcome(name, OutcomeKind.CONVERGED, plan.held, plan=plan, reason="HeldBack")
    if plan.health is Health.PROGRESSING:
        return Outcome(
            name,
            OutcomeKind.REQUEUE,
            "endpoint is changing",
            requeue_seconds,
            plan,
            reason="Progressing",
        )
    return Outcome(name, OutcomeKind.CONVERGED, "in sync", plan=plan, reason="Synced")


def stamp_failed(name: str, plan: EndpointPlan, requeue_seconds: float) -> Outcome:
    """In sync, but its observed stamp could not be recorded: look again (the next pass records
    it), so no later no-op apply is left with a write to make."""
    return Outcome(
        name,
        OutcomeKind.REQUEUE,
        "in sync; recording its observed stamp failed, looking again",
        requeue_seconds,
        plan,
        reason="Progressing",
    )


def held(name: str, plan: EndpointPlan, requeue_seconds: float) -> Outcome:
    """A plan with actions not applied: held back (by a guard, a suspension or a wait for
    InService) or report only."""
    if plan.held and "InService" in plan.held:
        return Outcome(
            name,
            OutcomeKind.REQUEUE,
            plan.held,
            requeue_seconds,
            plan,
            reason="Waiting",
        )
    why = plan.held or "not applied (report only)"
    return Outcome(
        name,
        OutcomeKind.CONVERGED,
        why,
        plan=plan,
        reason="Suspended" if plan.held else "ReportOnly",
    )


def applied(name: str, plan: EndpointPlan, changes: Changes, requeue_seconds: float) -> Outcome:
    """A plan applied: tags alone are done; anything else is looked at again."""
    mutated = any(result != "unchanged" for _, _, result in changes)
    if all(a.op is Op.TAG for a in plan.actions):
        return Outcome(
            name,
            OutcomeKind.CONVERGED,
            "tags updated",
            plan=plan,
            mutated=mutated,
            reason="Synced",
            changes=changes,
        )
    return Outcome(
        name,
        OutcomeKind.REQUEUE,
        _summary(plan),
        requeue_seconds,
        plan,
        mutated=mutated,
        reason="Progressing",
        changes=changes,
    )


def apply_failed(name: str, plan: EndpointPlan, error: ControllerError) -> Outcome:
    """Apply raised: busy or throttled is retried, a wrong account is not, anything else is
    retried as a failure."""
    if isinstance(error, (Throttled, Conflict)):
        log.warning("apply deferred", error=str(error))
        return Outcome(name, OutcomeKind.TRANSIENT, str(error), plan=plan, reason="Retrying")
    if isinstance(error, AccountMismatch):  # retrying cannot help: the target or its role is wrong
        log.error("apply refused", error=str(error))
        return Outcome(name, OutcomeKind.TERMINAL, str(error), plan=plan, reason="AccountMismatch")
    log.error("apply failed", error=str(error))
    return Outcome(name, OutcomeKind.TRANSIENT, str(error), plan=plan, reason="ApplyFailed")


def _summary(plan: EndpointPlan) -> str:
    return ", ".join(f"{a.op.value} {a.type.value} {a.name}" for a in plan.actions)
