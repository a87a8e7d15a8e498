"""How many times in a row one change may fail to apply before the endpoint is an error.

A persistent server error (an API the endpoint cannot do, a region outage) was retried on every
re-read until the command's timeout: 148 UpdateEndpoint calls in 150 s. The budget holds per
change, across the passes that re-read and re-plan it. A change is the manifest as loaded and
what is left to do besides creates: a create that took before its answer was lost is gone from
the next plan, which is progress, so an after-commit failure never uses the budget up. Any pass
of the key without that failure (settled, changing, another change) starts it again.
"""

from __future__ import annotations

import dataclasses
import threading

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import EndpointPlan, Op

APPLY_FAILED, EXHAUSTED = "ApplyFailed", "RetriesExhausted"

Change = tuple[str | None, tuple[tuple[str, str, str], ...]]
"""The manifest fingerprint and the non-create actions a failed apply planned."""


def change_of(fingerprint: str | None, plan: EndpointPlan) -> Change:
    left = tuple((a.op.value, a.type.value, a.name) for a in plan.actions if a.op != Op.CREATE)
    return fingerprint, left


class RetryBudget:
    """Thread-safe: workers reconcile several keys at once. `attempts` None: no budget (`run`,
    whose work queue backs a failing key off exponentially instead)."""

    def __init__(self, attempts: int | None) -> None:
        self._attempts = attempts
        self._failures: dict[str, tuple[Change, int]] = {}  # key -> (change, failures in a row)
        self._lock = threading.Lock()

    def settle(self, key: str, outcome: Outcome) -> Outcome:
        """`outcome` of one reconcile of `key`, counted; spent, the endpoint is an error."""
        if outcome.reason not in (APPLY_FAILED, EXHAUSTED):
            with self._lock:
                self._failures.pop(key, None)
        return outcome

    def failed(self, key: str, change: Change, outcome: Outcome) -> Outcome:
        """Count a failed apply of `change`; the budget spent, a TERMINAL outcome."""
        if self._attempts is None or outcome.reason != APPLY_FAILED:
            return outcome
        with self._lock:
            last, count = self._failures.get(key, (change, 0))
            count = count + 1 if last == change else 1
            self._failures[key] = (change, count)
        if count < self._attempts:
            return outcome
        message = (
            f"{outcome.message} (the same change failed {count} times; not retried until the "
            "manifest or the registry changes)"
        )
        return dataclasses.replace(
            outcome, kind=OutcomeKind.TERMINAL, message=message, reason=EXHAUSTED
        )
