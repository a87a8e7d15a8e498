"""The writing half of a `run --promote` pass: a promotion into a stage when the rules and the
deploy windows allow it, and a failed stage's revert to the last version it verified. Both go
through the pass's git writer, which makes each change at most once.

A version the stage before left Inconclusive is a human's call. When the stage writes pull
requests, its promotion is opened as one that says so, and what its reviewers do is recorded
as the stage-before's verdict (`decisions.reviewed`): approving or merging it verifies the
version there, requesting changes or closing it fails it (and holds it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from controller.aws.stages import lifecycle
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


def promote_into(walk: Pass, stage: PassStage, view: StageView) -> None:
    """Write the promotion into `stage` when the rules and the deploy windows allow it."""
    reg = walk.registry()
    ups = walk.upstreams(stage)
    upstream: list[Verdict] | None = None
    if not ups:
        approved = [n for n, v in reg.versions.items() if v.approved]
        candidate = max(approved) if approved else None
        why = "the newest Approved version"
    else:
        silent = [u.spec.name for u in ups if u.spec.verification is None]
        if silent:
            view.next_promotion = f"{', '.join(silent)} has no verification: promote by hand"
            return
        candidate, upstream = _from_upstream(walk, ups)
        why = f"verified in {', '.join(u.spec.name for u in ups)}"
    if candidate is None:
        view.next_promotion = "nothing to promote"
        return
    undecided = [v for v in upstream or () if v.status == "Inconclusive"]
    review = (
        bool(undecided)
        and all(v.status in ("Verified", "Inconclusive") for v in upstream or ())
        and stage.spec.write == "pullRequest"
        and walk.owner.writer is not None
    )
    if review and _reviewed(walk, stage, undecided, candidate):
        return
    if len(stage.versions) > 1:
        view.next_promotion = f"v{candidate}: waits until the stage pins one version"
        return
    blocked = decisions.may_promote(
        stage.spec,
        allowed=view.auto_promote,
        version=candidate,
        pinned=max(stage.versions) if stage.versions else None,
        # Under review, an Inconclusive upstream is the review's to decide, not a block.
        upstream=None
        if upstream is None
        else [v for v in upstream if not (review and v in undecided)],
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
    evidence = f"{walk.short} v{candidate} is {why}." + "".join(
        f" {v.stage}: {v.status} at {v.at}: {v.detail}" for v in upstream or ()
    )
    if review:
        evidence = _review_evidence(walk.short, candidate, undecided)
    walk.write(stage, candidate, kind, evidence, view)
    if review:
        where = ", ".join(v.stage for v in undecided)
        view.next_promotion = (
            f"v{candidate}: Inconclusive in {where}: its pull request's review decides"
        )


def _from_upstream(walk: Pass, ups: list[PassStage]) -> tuple[int | None, list[Verdict]]:
    """The newest version the upstream stages pin that every one of them verified, with their
    verdicts on it; else the newest they pin, with the verdicts that hold it back. None while
    an upstream stage pins several versions (a promotion half written) or none."""
    pins = [u.single for u in ups]
    if any(pin is None for pin in pins):
        return None, []
    reg = walk.registry()

    def said(version: int) -> list[Verdict]:
        # No verdict at all is "not verified", never a pass.
        found = reg.verdicts(version)
        return [found.get(u.spec.name, Verdict(u.spec.name, "", "")) for u in ups]

    versions = sorted({pin for pin in pins if pin is not None}, reverse=True)
    verdicts = {version: said(version) for version in versions}
    chosen = next((v for v in versions if all(x.verified for x in verdicts[v])), versions[0])
    return chosen, verdicts[chosen]


def _reviewed(walk: Pass, stage: PassStage, undecided: list[Verdict], candidate: int) -> bool:
    """Record what humans decided on the promotion's pull request as the verdict of each stage
    that left the version Inconclusive (True), or nothing when nobody has (False)."""
    writer = walk.owner.writer
    assert writer is not None
    # The request under review: the promotion, or with a shadow gate its first step.
    kind: Literal["promote", "shadow"] = "shadow" if stage.spec.shadow else "promote"
    decision = writer.decision(walk.change(stage, candidate, kind, ""))
    at = stamp(walk.now)
    verdicts = [decisions.reviewed(v.stage, decision, at) for v in undecided]
    if any(v is None for v in verdicts):
        return False
    by_name = {u.spec.name: u for u in walk.upstreams(stage)}
    for verdict in verdicts:
        assert verdict is not None
        _decide(walk, by_name[verdict.stage], candidate, verdict)
    return True


def _decide(walk: Pass, stage: PassStage, version: int, verdict: Verdict) -> None:
    """Record a human's verdict on the version in `stage` (a pull request's review), with the
    client of the stage's first endpoint, as `verify --approve/--reject` does."""
    found = walk.registry().versions.get(version)
    if found is None or not stage.pins:
        return
    said = f"sagemaker-gitops pipeline {walk.name}, stage {verdict.stage}: {verdict.detail}"
    client = walk.owner.sagemaker(stage.pins[0].location)
    lifecycle.record(client, found.arn, verdict, said)
    walk.registry().note(version, verdict)
    walk.announce(verdict, version)


def _review_evidence(group: str, version: int, undecided: list[Verdict]) -> str:
    where = ", ".join(v.stage for v in undecided)
    measured = "; ".join(
        f"{v.stage} {v.at}: {v.detail or 'the analysis could not decide'}" for v in undecided
    )
    return (
        f"**{group} v{version} is Inconclusive in {where}** ({measured}). The analysis could "
        "not decide; this pull request's review does:\n\n"
        f"- approve it, or merge it: v{version} is recorded Verified in {where};\n"
        f"- request changes, or close it unmerged: v{version} is recorded Failed in "
        f"{where}, and held (no stage takes it by itself)."
    )


def _window(walk: Pass, stage: PassStage) -> decisions.Blocked | None:
    for entry, key in zip(stage.endpoints, stage.keys, strict=True):
        metadata = entry.manifest.metadata
        gate = walk.owner.windows.gate(metadata.name, key, metadata.labels, walk.now)
        if not gate.open:
            return decisions.Blocked(f"deploy window: {gate.reason}")
    return None
