"""The writing half of a `run --promote` pass: a promotion into a stage when the rules and the
deploy windows allow it, and a failed stage's revert to the last version it verified. Both go
through the pass's git writer, which makes each change at most once.

A version the stage before left Inconclusive is a human's call. When the stage writes pull
requests, its promotion is opened as one that says so, and what its reviewers do is recorded
as the stage-before's verdict (`decisions.reviewed`): approving or merging it verifies the
version there, requesting changes or closing it fails it (and holds it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from controller.aws.stages.verdicts import Verdict, stamp
from controller.promotion import decisions

if TYPE_CHECKING:  # advancing calls this module: the types only, no import cycle at run time
    from controller.service.promoting.advancing import Pass, PassStage, StageView

ROLLBACK_LOOKBACK = 20
"""Older versions read (DescribeModelPackage) looking for the last one a stage verified."""


def roll_back(walk: Pass, stage: PassStage, version: int, view: StageView) -> None:
    """Write the stage's revert to the newest version it verified before `version`."""
    reg = walk.registry()
    older = sorted((n for n in reg.versions if n < version), reverse=True)[:ROLLBACK_LOOKBACK]
    target = decisions.last_verified(
        stage.spec.name, {n: reg.verdicts(n).values() for n in older}, version
    )
    if target is None:
        view.next_promotion = f"no version verified in {stage.spec.name} to roll back to"
        return
    failed = reg.verdicts(version).get(stage.spec.name)
    evidence = (
        f"Stage {stage.spec.name} failed its verification of {walk.short} v{version}"
        f" ({failed.detail if failed else 'Failed'}); v{target} is the last version it"
        " verified."
    )
    walk.write(stage, target, "rollback", evidence, view)


def promote_into(walk: Pass, index: int, view: StageView) -> None:
    """Write the promotion into stage `index` when the rules and the deploy windows allow it."""
    stage = walk.stages[index]
    reg = walk.registry()
    if index == 0:
        approved = [n for n, v in reg.versions.items() if v.approved]
        candidate = max(approved) if approved else None
        upstream = None
        why = "the newest Approved version"
    else:
        before = walk.stages[index - 1]
        candidate = before.single
        if before.spec.verification is None:
            view.next_promotion = f"{before.spec.name} has no verification: promote by hand"
            return
        # No verdict at all is "not verified", never a pass.
        unverified = Verdict(before.spec.name, "", "")
        upstream = reg.verdicts(candidate).get(before.spec.name, unverified) if candidate else None
        why = f"verified in {before.spec.name}"
    if candidate is None:
        view.next_promotion = "nothing to promote"
        return
    review = (
        upstream is not None
        and upstream.status == "Inconclusive"
        and stage.spec.write == "pullRequest"
        and walk.owner.writer is not None
    )
    if review and _reviewed(walk, index, candidate):
        return
    if len(stage.versions) > 1:
        view.next_promotion = f"v{candidate}: waits until the stage pins one version"
        return
    blocked = decisions.may_promote(
        stage.spec,
        allowed=view.auto_promote,
        version=candidate,
        pinned=max(stage.versions) if stage.versions else None,
        upstream=None if review else upstream,
        verdicts=reg.verdicts(candidate).values(),
        now=walk.now,
    )
    if blocked is None and candidate in reg.versions and not reg.versions[candidate].approved:
        blocked = decisions.Blocked(f"v{candidate} is not Approved")
    if blocked is None:
        blocked = _window(walk, stage)
    if blocked is not None:
        if not blocked.settled:
            view.next_promotion = f"v{candidate}: {blocked.reason}"
        return
    kind: Literal["promote", "shadow"] = "promote"
    if stage.spec.shadow is not None:
        # A shadow gate: the candidate enters beside production first, one at a time.
        shadowed = sorted({p.version for p in stage.shadows})
        if shadowed:
            if shadowed != [candidate]:
                listed = "/".join(f"v{v}" for v in shadowed)
                view.next_promotion = f"v{candidate}: waits for {listed} in shadow"
            return
        kind = "shadow"
    evidence = f"{walk.short} v{candidate} is {why}."
    if upstream is not None:
        evidence += f" {upstream.stage}: {upstream.status} at {upstream.at}: {upstream.detail}"
    if review and upstream is not None:
        evidence = _review_evidence(walk.short, candidate, upstream)
    walk.write(stage, candidate, kind, evidence, view)
    if review and upstream is not None:
        view.next_promotion = (
            f"v{candidate}: Inconclusive in {upstream.stage}: its pull request's review decides"
        )


def _reviewed(walk: Pass, index: int, candidate: int) -> bool:
    """Record what humans decided on the promotion's pull request as the verdict of the stage
    before (True), or nothing when nobody has (False)."""
    writer = walk.owner.writer
    assert writer is not None
    stage, before = walk.stages[index], walk.stages[index - 1]
    decision = writer.decision(walk.change(stage, candidate, "promote", ""))
    verdict = decisions.reviewed(before.spec.name, decision, stamp(walk.now))
    if verdict is None:
        return False
    walk.decide(before, candidate, verdict)
    return True


def _review_evidence(group: str, version: int, upstream: Verdict) -> str:
    return (
        f"**{group} v{version} is Inconclusive in {upstream.stage}** ({upstream.at}: "
        f"{upstream.detail or 'the analysis could not decide'}). The analysis could not decide; "
        "this pull request's review does:\n\n"
        f"- approve it, or merge it: v{version} is recorded Verified in {upstream.stage};\n"
        f"- request changes, or close it unmerged: v{version} is recorded Failed in "
        f"{upstream.stage}, and held (no stage takes it by itself)."
    )


def _window(walk: Pass, stage: PassStage) -> decisions.Blocked | None:
    for entry, key in zip(stage.endpoints, stage.keys, strict=True):
        metadata = entry.manifest.metadata
        gate = walk.owner.windows.gate(metadata.name, key, metadata.labels, walk.now)
        if not gate.open:
            return decisions.Blocked(f"deploy window: {gate.reason}")
    return None
