"""What `run --promote` may do next in a pipeline, as pure functions of what it has read.

The service reads (manifests, the registry's verdicts, the endpoints, CloudWatch) and writes
(verdicts, commits, pull requests); everything it decides in between is here, so every rule is
tested without a sandbox:

- A verification's measurements are due at fixed times after the stage converged (`started`):
  `initialDelay`, then one every `interval`. They depend only on `started`, which is recorded
  in the registry, so a restarted or new replica takes up a verification where it stood: the
  windows already past are read back from CloudWatch, none is repeated and none is skipped.
- A version with a Failed verdict in any stage is held: never auto-promoted anywhere again.
- A stage takes a version automatically only when it allows it (`autoPromote`, off by default
  for production targets), the stage before verified it at least `requiredSoakTime` ago, and
  the version is newer than what the stage pins (auto-promotion never moves a stage back).
- A version the stage before left Inconclusive goes to a human: when this stage writes pull
  requests, its promotion is opened as one, and its review decides (`reviewed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.aws.stages.verdicts import Verdict
from controller.manifests.pipelines.model import Stage, Verification
from controller.promotion.pullrequests import Decision

PROD_LABEL_VALUES = frozenset({"prod", "production"})
"""A target with a label of one of these values (any key) is production."""


def auto_promotes(stage: Stage, target_labels: Iterable[Mapping[str, str]]) -> bool:
    """Whether `run --promote` writes promotions into `stage` by itself."""
    if stage.auto_promote is not None:
        return stage.auto_promote
    return not any(
        v.lower() in PROD_LABEL_VALUES for labels in target_labels for v in labels.values()
    )


SETTLE_SECONDS = 60.0
"""CloudWatch publishes SageMaker's per-minute metrics about a minute late."""


def settle(verification: Verification) -> timedelta:
    """How long after a window closes its measurement is read: a minute, or the interval when
    that is shorter (the sandbox's compressed time), so the window's last period is complete."""
    return timedelta(seconds=min(SETTLE_SECONDS, verification.interval_seconds))


def measurement_times(
    verification: Verification, started: datetime, now: datetime
) -> list[datetime]:
    """The measurements of a verification that started at `started` that may be read at `now`:
    each one's time, the end of the window it reads.

    Measurement i reads the `interval` ending at its time, so every window lies after the
    convergence (plus `initialDelay`); it is read once `settle` has passed since. At most
    `count + consecutiveErrorLimit` are ever due, as for the `verify` command.
    """
    interval = timedelta(seconds=verification.interval_seconds)
    first = started + timedelta(seconds=verification.initial_delay_seconds) + interval
    limit = verification.count + verification.consecutive_error_limit
    ready = now - settle(verification)
    due = []
    for index in range(limit):
        at = first + index * interval
        if at > ready:
            break
        due.append(at)
    return due


def held_by(verdicts: Iterable[Verdict]) -> Verdict | None:
    """The Failed verdict that holds a version, if any stage recorded one."""
    return next((v for v in verdicts if v.status == "Failed"), None)


@dataclass(frozen=True)
class Blocked:
    """Why a version does not move into a stage now; `retry_at` when time alone will lift it."""

    reason: str
    retry_at: datetime | None = None
    settled: bool = False
    """Nothing waits: the stage already has the version (or a newer one)."""


def may_promote(
    stage: Stage,
    *,
    allowed: bool,
    version: int,
    pinned: int | None,
    upstream: Sequence[Verdict] | None,
    verdicts: Iterable[Verdict],
    now: datetime,
) -> Blocked | None:
    """None when `version` may be promoted into `stage` now, else why not.

    `upstream` holds each upstream stage's verdict on `version` (status "" when it recorded
    none: not verified); None only for a root stage, which takes Approved versions straight from
    the registry. Every upstream must have verified it (fan-in), and the soak counts from the
    last of them. `pinned` is what `stage` pins now.
    """
    if not allowed:
        return Blocked(f"autoPromote is off for stage {stage.name}")
    if pinned is not None and version <= pinned:
        return Blocked(f"stage {stage.name} already pins v{pinned}", settled=True)
    hold = held_by(verdicts)
    if hold is not None:
        return Blocked(f"v{version} is held: stage {hold.stage} recorded Failed")
    for verdict in upstream or ():
        if verdict.status != "Verified":
            said = verdict.status or "not verified"
            return Blocked(f"v{version} is {said} in {verdict.stage}")
    times = [t for t in (v.time() for v in upstream or ()) if t is not None]
    if times and stage.soak_seconds:
        last = max(times)
        ready = last + timedelta(seconds=stage.soak_seconds)
        if ready > now:
            where = next(v.stage for v in upstream or () if v.time() == last)
            return Blocked(f"soaking in {where} until {ready:%H:%M:%S}Z", ready)
    return None


def last_verified(
    stage: str, verdicts_by_version: Mapping[int, Iterable[Verdict]], below: int
) -> int | None:
    """The newest version below `below` that `stage` recorded as Verified (auto-rollback's goal)."""
    for version in sorted(verdicts_by_version, reverse=True):
        if version >= below:
            continue
        if any(v.stage == stage and v.status == "Verified" for v in verdicts_by_version[version]):
            return version
    return None


def reviewed(stage: str, decision: Decision | None, at: str) -> Verdict | None:
    """The verdict a pull request's humans gave on a version `stage` left Inconclusive: merged
    or approved is Verified; closed unmerged, or changes requested, is Failed (which holds it).
    None while nobody has decided (no request, or an open one without a deciding review). A
    request for changes outweighs approvals: one reviewer's objection stands until withdrawn."""
    if decision is None:
        return None
    by = f" by {decision.by}" if decision.by else ""
    if decision.state == "merged":
        return Verdict(stage, "Verified", at, f"approved by review: {decision.url} merged{by}")
    if decision.state == "closed":
        detail = f"rejected by review: {decision.url} closed unmerged{by}"
        return Verdict(stage, "Failed", at, detail)
    if decision.changes_requested_by:
        who = ", ".join(decision.changes_requested_by)
        detail = f"rejected by review: {who} requested changes on {decision.url}"
        return Verdict(stage, "Failed", at, detail)
    if decision.approved_by:
        who = ", ".join(decision.approved_by)
        return Verdict(stage, "Verified", at, f"approved by review: {who} on {decision.url}")
    return None
