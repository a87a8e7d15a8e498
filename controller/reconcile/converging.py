"""`apply`'s loop: reconcile every endpoint, then look again at the ones still changing.

Endpoints change independently: each pass issues whatever every endpoint needs next and only
then waits, so a slow endpoint never holds up another. Bounded by a deadline.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from controller.core.outcomes import Outcome, OutcomeKind
from controller.core.snapshots import Snapshot, split_key
from controller.reconcile.fanout import map_by_location
from controller.reconcile.reconciling import Reconciler

Progress = Callable[[dict[str, Outcome], float], None]


@dataclass
class ConvergeResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    timed_out: bool = False
    # Every change made per endpoint across all passes: (type, name, result).
    changes: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.kind is not OutcomeKind.CONVERGED]


def keys_to_reconcile(rec: Reconciler, snapshot: Snapshot, prune: bool) -> list[str]:
    """Manifest endpoints, plus owned ones whose manifest is gone when pruning is safe."""
    keys = snapshot.keys()
    if prune and snapshot.ok:
        keys += sorted(rec.owned_keys(snapshot.regions()) - set(keys))
    return keys


def converge(
    rec: Reconciler,
    snapshot: Snapshot,
    keys: list[str],
    *,
    wait: bool,
    timeout: float,
    poll: float,
    progress: Progress | None = None,
    concurrency: int = 8,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ConvergeResult:
    result = ConvergeResult()
    pending = list(keys)
    deadline = clock() + timeout
    started = clock()
    # Caches stay warm across passes: our own writes update them, and a waiting pass only needs
    # each endpoint's DescribeEndpoint, not fresh index and registry listings.
    while pending:
        # Endpoints are independent: reconcile several at once so a pass over a large account
        # costs about (calls / concurrency) round trips, within the shared client rate limit.
        # A pool per region or target: a throttled account does not hold the others' workers.
        reconcile_one = functools.partial(rec.reconcile, snapshot, apply=True)
        outcomes = map_by_location(reconcile_one, pending, concurrency)
        for key, outcome in zip(pending, outcomes, strict=True):
            result.outcomes[key] = outcome
            made = [c for c in outcome.changes if c[2] != "unchanged"]
            result.changes.setdefault(key, []).extend(made)
        if progress is not None:
            progress(result.outcomes, clock() - started)
        pending = [k for k in pending if _again(result.outcomes[k])]
        if not wait or not pending:
            break
        if clock() + poll > deadline:
            result.timed_out = True
            break
        sleep(poll)
    return result


def _again(outcome: Outcome) -> bool:
    return outcome.kind in (OutcomeKind.REQUEUE, OutcomeKind.TRANSIENT)


def display_name(key: str, targets: Collection[str] = ()) -> str:
    """The endpoint's name; `target/name` when it deploys to a target (names repeat across)."""
    location, name = split_key(key)
    return key if location in targets else name
