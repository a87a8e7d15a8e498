"""`apply`'s loop: reconcile every endpoint, then look again at the ones still changing.

Endpoints change independently: each pass issues whatever every endpoint needs next and only
then waits, so a slow endpoint never holds up another. Locations (regions, targets) are more
independent still: each runs this loop on a thread of its own, with its own passes, worker pool
and waits, so a throttled account never delays another's first mutation. Bounded by the
command's deadline: no wait is longer than the time left, and a pass cut short by it reports the
endpoints still changing.

Waits start short and back off to `--poll-interval`: a sandbox endpoint is InService a second
or two after a change and a real one after minutes, so the first checks are cheap and early and
the later ones as sparse as configured.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.core import tagging
from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.snapshots import Snapshot, split_key
from controller.deadlines import Deadline, DeadlineExceeded
from controller.errors import ControllerError
from controller.reconcile.fanout import map_by_location
from controller.reconcile.freshness import PARTIAL_INDEX_OK

if TYPE_CHECKING:  # `apply` registers its flags from this module before any AWS module loads
    from controller.reconcile.reconciling import Reconciler

Progress = Callable[[dict[str, Outcome], float], None]
# One location's keys -> the batches of them to reconcile ahead of the rest (`changed_first`).
LeadBatches = Callable[[list[str]], Iterable[list[str]]]
# The first wait of `apply --wait`; each later one doubles, up to --poll-interval.
FIRST_POLL = 1.0
TIMED_OUT = "TimedOut"  # the Outcome reason of an endpoint the deadline cut short


@dataclass
class ConvergeResult:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    timed_out: bool = False
    # Every change made per endpoint across all passes: (type, name, result).
    changes: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.kind is not OutcomeKind.CONVERGED]

    @property
    def still_changing(self) -> list[str]:
        """Endpoints (display names) that were still in flight when the loop stopped."""
        return [display_name(k) for k, o in self.outcomes.items() if _again(o)]


def poll_intervals(first: float, most: float) -> Iterator[float]:
    """first, 2*first, 4*first, ... capped at `most` (and never above it to begin with)."""
    interval = min(first, most)
    while True:
        yield interval
        interval = min(interval * 2, most)


def keys_to_reconcile(rec: Reconciler, snapshot: Snapshot, prune: bool) -> list[str]:
    """Manifest endpoints, plus this scope's owned ones whose manifest is gone, with --prune.

    Removed endpoints a guard holds back are included: their outcome reports why (HeldBack).
    """
    keys = snapshot.keys()
    if prune:
        keys += rec.prune_decision(snapshot).removed
    return keys


# The most endpoints `apply`'s changed-files hint reads ahead of the index, in sorted order. Each
# costs a ListTags beyond what its reconcile reads anyway; past a few, the index's endpoint
# pages (100 endpoints a call) find the rest about as soon.
MOST_HINTED = 10


def hinted_batches(
    rec: Reconciler, snapshot: Snapshot, hinted: Sequence[str], concurrency: int
) -> Iterator[list[str]]:
    """The endpoints of the manifest files git says changed (`hinted`, an ordering hint only)
    that need reconciling: new, or owned with another spec hash than their manifest's. Read
    ahead of the owned index, one DescribeEndpoint (its reconcile reuses it) and one ListTags
    each, so their mutating calls go out before the index is read, wherever they sort. The
    rest of the hint (not owned, unchanged, unreadable) is left to the index sweep, which
    reconciles every endpoint anyway."""
    keys = list(hinted[:MOST_HINTED])
    if not keys:
        return
    read = functools.partial(_read_ahead, rec, snapshot)
    verdicts = map_by_location(read, keys, concurrency)
    ahead = [key for key, go in zip(keys, verdicts, strict=True) if go]
    if ahead:
        yield ahead


def _read_ahead(rec: Reconciler, snapshot: Snapshot, key: str) -> bool:
    """Whether the hinted endpoint `key` is to be reconciled ahead of the index; if so, what was
    read is kept for its reconcile (`seed_endpoint`)."""
    from controller.aws import reading
    from controller.core.endpoint.desired import spec_hash

    location, name = split_key(key)
    entry = snapshot.entry(key)
    if entry is None:
        return False
    try:
        client = rec.clients.sagemaker(location)
        live = reading.describe_endpoint(client, name)
        tags = reading.list_tags(client, live.arn) if live is not None else {}
    except ControllerError:
        return False  # the sweep reads it again and its reconcile reports what failed
    if live is not None:
        if not tagging.owned_by(tags, rec.options.controller_id):
            return False  # not ours: the normal path says so
        if tags.get(tagging.SPEC_HASH) == spec_hash(entry.manifest.spec):
            return False  # live already: the sweep reconciles it with the rest
    rec.observer.seed_endpoint(location, name, live, tags)
    return True


def changed_batches(rec: Reconciler, snapshot: Snapshot, keys: list[str]) -> Iterator[list[str]]:
    """The keys whose live endpoint does not carry the manifest's spec hash (edited manifests,
    owned endpoints whose manifest is gone), a batch per page of the owned index's endpoint
    query as it arrives, then the keys no page showed (new endpoints). Read from the index the
    pass reads anyway, so finding them costs no extra call; the caller reconciles each batch
    before the next page is asked for, so a changed endpoint's calls are not queued behind the
    rest of the sweep."""
    from controller.core.endpoint.desired import spec_hash

    by_region: dict[str, dict[str, str]] = {}
    for key in keys:
        region, name = split_key(key)
        by_region.setdefault(region, {})[name.lower()] = key
    for region in sorted(by_region):
        names, seen = by_region[region], set()
        try:
            for page in rec.observer.endpoint_pages(region):
                batch = []
                for owned in page:
                    found = names.get(owned.name.lower())
                    if found is None or found in seen:
                        continue
                    seen.add(found)
                    entry = snapshot.entry(found)
                    live = owned.tags.get(tagging.SPEC_HASH)
                    if entry is None or live != spec_hash(entry.manifest.spec):
                        batch.append(found)
                if batch:
                    yield batch
        except ControllerError:
            return  # no order then: each endpoint's reconcile reports the failed read
        unseen = [key for key in names.values() if key not in seen]
        if unseen:
            yield unseen


def changed_first(
    rec: Reconciler, snapshot: Snapshot, hinted: Sequence[str], concurrency: int
) -> LeadBatches:
    """`converge`'s `first` for `apply`: per location, the endpoints of the changed files git
    names (`hinted`, at most MOST_HINTED across all locations, as before), then those the
    location's index sweep shows changed, page by page. Each location reads only its own."""
    capped = list(hinted[:MOST_HINTED])

    def lead(keys: list[str]) -> Iterator[list[str]]:
        mine = set(keys)
        ahead = [key for key in capped if key in mine]
        yield from hinted_batches(rec, snapshot, ahead, concurrency)
        yield from changed_batches(rec, snapshot, keys)

    return lead


def converge(
    rec: Reconciler,
    snapshot: Snapshot,
    keys: list[str],
    *,
    wait: bool,
    deadline: Deadline,
    poll: float,
    first_poll: float = FIRST_POLL,
    progress: Progress | None = None,
    concurrency: int = 8,
    first: LeadBatches | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ConvergeResult:
    """Each location (region or target) converges on a thread of its own: its reads, creates,
    updates and waits never wait for another location's, so a throttled or slow account only
    slows itself. `first(keys)` gives a location's batches to reconcile before the rest."""
    by_location: dict[str, list[str]] = {}
    for key in keys:
        by_location.setdefault(split_key(key)[0], []).append(key)
    shared = _SharedProgress(progress, clock)
    loop = functools.partial(
        _converge_location,
        rec,
        snapshot,
        wait=wait,
        deadline=deadline,
        intervals=functools.partial(poll_intervals, first_poll, poll),
        progress=shared,
        concurrency=concurrency,
        first=first or _no_lead,
        sleep=sleep,
    )
    if len(by_location) <= 1:
        parts = [loop(located) for located in by_location.values()]
    else:
        with ThreadPoolExecutor(len(by_location), thread_name_prefix="converge") as pool:
            futures = [pool.submit(loop, located) for located in by_location.values()]
            parts = [future.result() for future in futures]
    outcomes: dict[str, Outcome] = {}
    changes: dict[str, list[tuple[str, str, str]]] = {}
    for part in parts:
        outcomes |= part.outcomes
        changes |= part.changes
    result = ConvergeResult(timed_out=any(part.timed_out for part in parts))
    for key in keys:  # in the caller's order, whichever location finished first
        result.outcomes[key] = outcomes[key]
        result.changes[key] = changes.get(key, [])
    return result


def _no_lead(keys: list[str]) -> Iterable[list[str]]:
    return ()


class _SharedProgress:
    """The locations' outcomes so far, merged for `apply`'s progress line (a lock: each
    location reports from its own thread)."""

    def __init__(self, progress: Progress | None, clock: Callable[[], float]) -> None:
        self._progress, self._clock = progress, clock
        self._started = clock()
        self._outcomes: dict[str, Outcome] = {}
        self._lock = threading.Lock()

    def __call__(self, outcomes: dict[str, Outcome]) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._outcomes |= outcomes
            self._progress(dict(self._outcomes), self._clock() - self._started)


def _converge_location(
    rec: Reconciler,
    snapshot: Snapshot,
    keys: list[str],
    *,
    wait: bool,
    deadline: Deadline,
    intervals: Callable[[], Iterator[float]],
    progress: _SharedProgress,
    concurrency: int,
    first: LeadBatches,
    sleep: Callable[[float], None],
) -> ConvergeResult:
    """One location's loop: reconcile every key, then look again at the ones still changing."""
    result = ConvergeResult()
    pending = list(keys)
    waits = intervals()
    # The first pass reconciles `first` (batches of changed endpoints, as the index sweep finds
    # them) before anything else, so their mutating calls go out before the rest of the
    # location is read; every key is still reconciled.
    known = set(keys)
    # Caches stay warm across passes: our own writes update them, and a waiting pass only needs
    # each endpoint's DescribeEndpoint, not fresh index and registry listings.
    lead: Iterable[list[str]] = first(keys)
    while pending:
        outcomes: dict[str, Outcome] = {}
        for batch in lead:
            wave = [k for k in batch if k in known and k not in outcomes]
            outcomes |= _pass(rec, snapshot, wave, concurrency, partial_index=True)
        rest = [k for k in pending if k not in outcomes]
        outcomes |= _pass(rec, snapshot, rest, concurrency)
        lead = ()
        for key, outcome in outcomes.items():
            result.outcomes[key] = outcome
            made = [c for c in outcome.changes if c[2] != "unchanged"]
            result.changes.setdefault(key, []).extend(made)
        progress(result.outcomes)
        pending = [k for k in pending if _again(result.outcomes[k])]
        if not pending:
            break
        result.timed_out = _timed_out([result.outcomes[k] for k in pending], wait, deadline)
        if result.timed_out or not wait:
            break
        # Never sleep past the deadline; the pass after it is cut short at its first AWS call.
        sleep(min(next(waits), deadline.remaining()))
    return result


def _pass(
    rec: Reconciler,
    snapshot: Snapshot,
    keys: list[str],
    concurrency: int,
    *,
    partial_index: bool = False,
) -> dict[str, Outcome]:
    """Reconcile `keys` once. Endpoints are independent: several at once, so a pass over a large
    account costs about (calls / concurrency) round trips, within the shared client rate limit.
    A pool per region or target: a throttled account does not hold the others' workers."""
    if not keys:
        return {}
    step = functools.partial(_step, rec, snapshot, partial_index)
    return dict(zip(keys, map_by_location(step, keys, concurrency), strict=True))


def _step(rec: Reconciler, snapshot: Snapshot, partial_index: bool, key: str) -> Outcome:
    """One endpoint's reconcile; the deadline running out mid-way leaves it still changing.
    `partial_index`: the changed-first wave, which may read the index being swept."""
    token = PARTIAL_INDEX_OK.set(partial_index)  # a pool thread: set per call, not inherited
    try:
        return rec.reconcile(snapshot, key, apply=True)
    except DeadlineExceeded as e:
        return Outcome(display_name(key), OutcomeKind.TRANSIENT, str(e), reason=TIMED_OUT)
    finally:
        PARTIAL_INDEX_OK.reset(token)


def _timed_out(pending: list[Outcome], wait: bool, deadline: Deadline) -> bool:
    """Whether the deadline stopped the work: it cut a reconcile short, or it ran out while
    waiting (with --no-wait, endpoints still changing are the expected result, not a timeout)."""
    if any(o.reason == TIMED_OUT for o in pending):
        return True
    return deadline.expired and (wait or any(o.kind is OutcomeKind.TRANSIENT for o in pending))


def _again(outcome: Outcome) -> bool:
    return outcome.kind in (OutcomeKind.REQUEUE, OutcomeKind.TRANSIENT)


def display_name(key: str, targets: Collection[str] = ()) -> str:
    """The endpoint's name; `target/name` when it deploys to a target (names repeat across)."""
    location, name = split_key(key)
    return key if location in targets else name
