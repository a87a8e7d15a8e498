"""The three outcomes of reconciling one endpoint (Flux / kopf): done, check back, or give up.

The service's work queue schedules on these; the CLI's `apply --wait` loop polls on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from controller.core.plan.plans import EndpointPlan


class OutcomeKind(StrEnum):
    """What the queue should do next with an endpoint."""

    CONVERGED = "Converged"  # live matches desired and is healthy: nothing until the next change
    REQUEUE = "Requeue"  # a change is in flight (Creating/Updating): check back after a delay
    TRANSIENT = "Transient"  # throttled, 5xx, endpoint busy: retry with backoff
    TERMINAL = "Terminal"  # bad manifest, unapproved version, failed rollout: wait for new input


@dataclass(frozen=True)
class Outcome:
    """The result of one reconcile step for one endpoint."""

    endpoint: str
    kind: OutcomeKind
    message: str = ""
    requeue_after: float | None = None  # seconds, for REQUEUE
    plan: EndpointPlan | None = None  # what was planned (and, unless held, applied)
    mutated: bool = False  # whether any mutating API call was made
    # The change set: (resource type, name, created|updated|tagged|deleted|unchanged).
    changes: tuple[tuple[str, str, str], ...] = ()
    # A PascalCase reason for status conditions (Ready/Reconciling/Stalled), e.g. "RolloutFailed".
    reason: str = ""
