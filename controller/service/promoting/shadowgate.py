"""The shadow gate's half of a `run --promote` pass: the candidate each endpoint of a stage
serves as its shadow variant is judged against production on the same endpoints, then swapped
in (Verified) or dropped and held (Failed). Adding the shadow is `moving.promote_into`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.promotion import verifying

if TYPE_CHECKING:  # advancing calls this module: the types only, no import cycle at run time
    from controller.service.promoting.advancing import Pass, PassStage, StageView


def verify_shadow(walk: Pass, stage: PassStage, view: StageView) -> None:
    """The shadow gate: the candidate beside production on the same endpoints; once judged,
    swapped in (Verified) or dropped (Failed)."""
    from controller.service.promoting.advancing import Judged, StageView  # loaded: no cycle

    gate = stage.spec.shadow
    versions = sorted({p.version for p in stage.shadows})
    if gate is None or not versions:
        return
    if len(versions) > 1 or len(stage.shadows) != len(stage.pins):
        view.shadow = "half written: every endpoint of the stage needs the same shadow"
        return
    candidate = versions[0]
    pairs = verifying.subjects(stage.pins, stage.shadows)
    judged = Judged(
        stage.spec.shadow_stage,
        candidate,
        gate.verification,
        [*stage.pins, *stage.shadows],
        pairs,
        shadow=True,
    )
    shown = StageView(stage.spec.name, walk.short, (candidate,), False)
    status = walk.analyse(judged, shown)
    view.shadow = f"v{candidate}: {shown.verdict} {shown.analysis}".strip()
    view.measurements = shown.measurements
    if status == "Verified":
        evidence = f"{walk.short} v{candidate} was verified as a shadow of production."
        walk.write(stage, candidate, "swap", evidence, view)
    elif status == "Failed":
        evidence = f"{walk.short} v{candidate} failed as a shadow; it is held."
        walk.write(stage, candidate, "unshadow", evidence, view)
