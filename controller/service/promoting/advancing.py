"""One pass of `run --promote` over one pipeline: verify each stage, record verdicts, write the
promotions and reverts the rules allow. Never waits on AWS: a stage still rolling out, or a
measurement not yet due, is looked at again on the next pass.

Per package group, per stage, first to last:

1. **Verify.** Nothing to do when the registry already holds the stage's final verdict on the
   version the stage pins (Verified, Failed, or Inconclusive: that one waits for a human, with
   `verify --approve/--reject`). Else the stage's endpoints are read: one rolled back or failed
   is a Failed verification; one still updating is waited for. Once all serve the pinned version,
   `Verifying <time>` is recorded on the version, and the measurements fall due from that time
   (`decisions.measurement_times`); each pass takes those that are due (one GetMetricData per
   target each) and records the verdict when the run ends. A new replica reads the time back
   from the registry and takes the run up where it stood.
2. **Fail.** A Failed verdict holds the version (no stage takes it automatically again) and, with
   `autoRollback`, writes the revert of the stage to the newest version it verified before.
3. **Promote.** The stage takes the version the stage before it verified (the first stage: the
   newest Approved version) when `decisions.may_promote` and the deploy windows allow it, as a
   commit or a pull request (`promotion.gitwriting`: one commit per promotion, however many
   passes or replicas ask).

Everything read from AWS goes through the stage's own target (role, region); the registry is
read and written through the client of the stage's first endpoint, as `verify --record` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog

from controller.aws import registry
from controller.aws.stages import lifecycle, verdicts
from controller.aws.stages.verdicts import VERIFYING, Verdict, stamp
from controller.core.packages import PackageVersion, group_name
from controller.core.snapshots import split_key
from controller.errors import ControllerError
from controller.manifests.loaded import LoadedManifest, LoadedPipeline
from controller.manifests.pipelines.checks import pinned_versions, stage_endpoints
from controller.manifests.pipelines.model import PipelineManifest, Stage, Verification
from controller.promotion import decisions, verifying
from controller.promotion.analysis import Measurement, Phase, Run, Subject
from controller.promotion.gitwriting import Change, GitWriter, Written
from controller.promotion.verifying import Pinned, Reader, summary, worst_values
from controller.service.promoting import moving, shadowgate
from controller.service.windows import WindowPolicy

log = structlog.get_logger(__name__)

FINAL = frozenset(verdicts.STATUS.values())


@dataclass(frozen=True)
class StageEvent:
    """Something a human wants to hear about: a verdict, a promotion, a revert, a hold."""

    kind: Literal["verified", "failed", "inconclusive", "error", "promoted", "rolledBack", "held"]
    pipeline: str
    stage: str
    group: str
    version: int
    message: str
    location: str = ""
    """The stage's first endpoint's target (or region): where notifications say it happened."""
    revision: str | None = None
    """The commit written (a promotion or revert), else the revision the pass read."""


@dataclass
class StageView:
    """Where one stage of one group stands, for /status."""

    stage: str
    group: str
    versions: tuple[int, ...]
    auto_promote: bool
    verdict: str = ""
    analysis: str = ""
    measurements: list[dict[str, Any]] = field(default_factory=list)
    next_promotion: str = ""
    last_write: str = ""
    shadow: str = ""
    """A shadow gate's candidate and where its analysis stands."""

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "group": self.group,
            "versions": list(self.versions),
            "autoPromote": self.auto_promote,
            "verdict": self.verdict,
            "analysis": self.analysis,
            "measurements": self.measurements,
            "nextPromotion": self.next_promotion,
            "lastWrite": self.last_write,
            "shadow": self.shadow,
        }


@dataclass(frozen=True)
class Judged:
    """One analysis: what is judged, under which stage name its verdict is recorded."""

    record_as: str
    version: int
    verification: Verification | None
    pins: list[Pinned]
    """Every variant that must serve its pinned version first (convergence)."""
    subjects: tuple[Subject, ...]
    shadow: bool = False
    """`subjects` are (shadow, production) pairs."""


@dataclass
class PassStage:
    """One stage of one group in this pass: its endpoints and the variants they pin."""

    spec: Stage
    endpoints: list[LoadedManifest]
    pins: list[Pinned]
    keys: list[str]
    shadows: list[Pinned] = field(default_factory=list)
    """The shadow variants pinned to a version of the group (a shadow gate's candidate)."""

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted({p.version for p in self.pins}))

    @property
    def single(self) -> int | None:
        versions = self.versions
        return versions[0] if len(versions) == 1 else None


class _Registry:
    """The group's versions and their verdicts, each read at most once per pass."""

    def __init__(self, sagemaker: Any, group: str) -> None:
        self.sagemaker = sagemaker
        self.versions: dict[int, PackageVersion] = registry.list_versions(sagemaker, group)
        self._verdicts: dict[int, dict[str, Verdict]] = {}

    def verdicts(self, version: int) -> dict[str, Verdict]:
        if version not in self._verdicts:
            found = self.versions.get(version)
            self._verdicts[version] = verdicts.verdicts(self.sagemaker, found.arn) if found else {}
        return self._verdicts[version]

    def note(self, version: int, verdict: Verdict) -> None:
        self.verdicts(version)[verdict.stage] = verdict


class Advancer:
    """Keeps the measurements of running verifications between passes (rebuilt from
    CloudWatch after a restart) and runs passes over pipelines."""

    def __init__(
        self,
        sagemaker: Callable[[str], Any],
        reader: Reader,
        writer: GitWriter | None,
        *,
        windows: WindowPolicy | None = None,
        emit: Callable[[StageEvent], None] = lambda e: None,
    ) -> None:
        self.sagemaker = sagemaker
        self.reader = reader
        self.writer = writer
        self.windows = windows or WindowPolicy()
        self.emit = emit
        self.runs: dict[tuple[str, ...], Run] = {}
        self.seen: set[tuple[str, ...]] = set()

    def begin(self) -> None:
        """A new round over every pipeline: runs not touched in it are forgotten at `end`."""
        self.seen = set()

    def end(self) -> None:
        for key in set(self.runs) - self.seen:
            del self.runs[key]

    def advance(
        self,
        loaded: LoadedPipeline,
        entries: dict[str, LoadedManifest],
        target_labels: dict[str, dict[str, str]],
        now: datetime,
        revision: str | None = None,
    ) -> list[StageView]:
        """One pass over every group of the pipeline; the stages' views, for /status."""
        pipeline = loaded.pipeline
        keys = {id(entry): key for key, entry in entries.items()}
        views: list[StageView] = []
        for group in pipeline.spec.package_groups:
            stages = _stages(pipeline, group, entries, keys)
            views.extend(Pass(self, pipeline, group, stages, target_labels, now, revision).run())
        return views


class Pass:
    """One group of one pipeline, once."""

    def __init__(
        self,
        owner: Advancer,
        pipeline: PipelineManifest,
        group: str,
        stages: list[PassStage],
        target_labels: dict[str, dict[str, str]],
        now: datetime,
        revision: str | None,
    ) -> None:
        self.owner = owner
        self.pipeline = pipeline
        self.name = pipeline.metadata.name
        self.group = group
        self.short = group_name(group)
        self.now = now
        self.target_labels = target_labels
        self.stages = stages
        self._registry: _Registry | None = None
        self.revision = revision

    def upstreams(self, stage: PassStage) -> list[PassStage]:
        """The stages `stage` takes its versions from (none for a root)."""
        names = [u.name for u in self.pipeline.upstreams(stage.spec.name)]
        return [s for s in self.stages if s.spec.name in names]

    def registry(self) -> _Registry:
        if self._registry is None:
            first = next((s.pins[0].location for s in self.stages if s.pins), None)
            if first is None:
                raise ControllerError(f"pipeline {self.name}: no stage serves {self.group}")
            self._registry = _Registry(self.owner.sagemaker(first), self.group)
        return self._registry

    def run(self) -> list[StageView]:
        views = []
        for stage in self.stages:
            labels = [self.target_labels.get(split_key(k)[0], {}) for k in stage.keys]
            view = StageView(
                stage.spec.name,
                self.short,
                stage.versions,
                decisions.auto_promotes(stage.spec, labels),
            )
            views.append(view)
            if not stage.pins:
                view.verdict = "no endpoint"
                continue
            version = stage.single
            if version is None:
                view.verdict = "mixed: a promotion is half written"
            else:
                self._verify(stage, version, view)
            shadowgate.verify_shadow(self, stage, view)
            moving.promote_into(self, stage, view)
        return views

    # -- verification ----------------------------------------------------------------------

    def _verify(self, stage: PassStage, version: int, view: StageView) -> None:
        """The stage's own analysis of the version it serves; a failure holds it and, with
        `autoRollback`, reverts the stage."""
        mine = self.registry().verdicts(version).get(stage.spec.name)
        view.verdict = f"{mine.status} {mine.at}".strip() if mine else "-"
        if stage.spec.verification is None and not (mine and mine.status in FINAL):
            view.analysis = "no verification"
            return
        subjects = verifying.subjects(stage.pins)
        judged = Judged(stage.spec.name, version, stage.spec.verification, stage.pins, subjects)
        status = self.analyse(judged, view)
        if status == "Failed" and stage.spec.auto_rollback:
            moving.roll_back(self, stage, version, view)

    def analyse(self, judged: Judged, view: StageView) -> str | None:
        """Measure and record as far as time allows; the final status once there is one."""
        mine = self.registry().verdicts(judged.version).get(judged.record_as)
        view.verdict = f"{mine.status} {mine.at}".strip() if mine else "-"
        if mine is not None and mine.status in FINAL:
            return mine.status
        verification = judged.verification
        assert verification is not None
        if mine is not None and mine.status == VERIFYING and self._nothing_due(judged, mine, view):
            return None
        state = verifying.convergence(judged.pins, self.owner.reader)
        if state.phase is Phase.FAILED:
            return self._finish(judged, state, None, Phase.FAILED, view)
        if state.phase is Phase.RUNNING:
            view.analysis = "waiting to converge: " + "; ".join(state.notes[:3])
            return None
        started = mine.time() if mine is not None and mine.status == VERIFYING else None
        if started is None:
            started = self.now.replace(microsecond=0)
            verdict = Verdict(judged.record_as, VERIFYING, stamp(started))
            self._record(state, verdict, "converged", judged.version)
        key = self._run_key(judged, started)
        self.owner.seen.add(key)
        run = self.owner.runs.setdefault(key, Run(verification))
        due = decisions.measurement_times(verification, started, self.now)
        for at in due[len(run.measurements) :]:
            if not run.attempts_left():
                break
            run.measurements.append(
                verifying.measure(
                    verification, judged.subjects, self.owner.reader, at, shadow=judged.shadow
                )
            )
        phase = run.phase()
        if phase is Phase.RUNNING and not run.attempts_left():
            phase = Phase.ERROR
        view.measurements = [_measurement(m) for m in run.measurements]
        taken = sum(1 for m in run.measurements if m.phase is not Phase.ERROR)
        view.analysis = f"{phase.value} ({taken}/{verification.count} measurements)"
        if phase is Phase.RUNNING:
            return None
        del self.owner.runs[key]
        return self._finish(judged, state, run, phase, view)

    def _run_key(self, judged: Judged, started: datetime) -> tuple[str, ...]:
        """One analysis: what it judges and when it started (so a restarted one is new)."""
        return (self.name, judged.record_as, self.group, str(judged.version), stamp(started))

    def _nothing_due(self, judged: Judged, mine: Verdict, view: StageView) -> bool:
        """A running analysis with no measurement due: its endpoints are read again only when
        one is (a stage of 100 endpoints costs 300 describes a read, not every pass)."""
        started = mine.time()
        assert judged.verification is not None
        if started is None:
            return False
        key = self._run_key(judged, started)
        run = self.owner.runs.get(key)
        due = decisions.measurement_times(judged.verification, started, self.now)
        if run is None or len(due) > len(run.measurements):
            return False
        self.owner.seen.add(key)
        view.measurements = [_measurement(m) for m in run.measurements]
        taken = sum(1 for m in run.measurements if m.phase is not Phase.ERROR)
        count = judged.verification.count
        view.analysis = f"{Phase.RUNNING.value} ({taken}/{count} measurements)"
        return True

    def _finish(
        self,
        judged: Judged,
        state: verifying.Convergence,
        run: Run | None,
        phase: Phase,
        view: StageView,
    ) -> str | None:
        outcome = verifying.Outcome(phase, state, run, (), {})
        name, version = judged.record_as, judged.version
        if phase is Phase.ERROR:
            # An error taught nothing about the version: measure again from now.
            last = run.measurements[-1].error if run and run.measurements else ""
            again = Verdict(name, VERIFYING, stamp(self.now))
            self._record(state, again, "", version)
            self.event("error", name, version, f"the analysis could not read its metrics: {last}")
            return None
        status = verdicts.STATUS[phase.value]
        at = run.measurements[-1].at if run and run.measurements else stamp(self.now)
        detail = verifying.detail(outcome)
        verdict = Verdict(name, status, at, detail)
        self._record(state, verdict, summary(outcome, self.name, name), version)
        view.verdict = f"{status} {at}"
        self.announce(verdict, version)
        return status

    def announce(self, verdict: Verdict, version: int) -> None:
        kinds = {"Verified": "verified", "Failed": "failed", "Inconclusive": "inconclusive"}
        said = f"{self.short} v{version} {verdict.status} in {verdict.stage}: {verdict.detail}"
        self.event(kinds[verdict.status], verdict.stage, version, said)
        if verdict.status == "Failed":
            held = f"v{version} is held: no stage takes it by itself"
            self.event("held", verdict.stage, version, held)

    def _record(
        self, state: verifying.Convergence, verdict: Verdict, description: str, only: int
    ) -> None:
        """The verdict on the judged version, with the client of a stage endpoint serving it."""
        for _group, version, location, arn in state.packages:
            if version != only:
                continue
            lifecycle.record(self.owner.sagemaker(location), arn, verdict, description)
            self.registry().note(version, verdict)
        if not state.packages:  # nothing serving yet (failed create): note it on the pin
            log.info("verdict not recorded: no endpoint serves the version", stage=verdict.stage)

    # -- writing ---------------------------------------------------------------------------

    def change(
        self,
        stage: PassStage,
        version: int,
        kind: Literal["promote", "rollback", "shadow", "swap", "unshadow"],
        evidence: str,
    ) -> Change:
        return Change(
            self.name, stage.spec.name, self.group, version, kind, stage.spec.write, evidence
        )

    def write(
        self,
        stage: PassStage,
        version: int,
        kind: Literal["promote", "rollback", "shadow", "swap", "unshadow"],
        evidence: str,
        view: StageView,
    ) -> None:
        writer = self.owner.writer
        if writer is None:
            view.next_promotion = f"v{version}: due, but run has no --promote"
            return
        change = self.change(stage, version, kind, evidence)
        written: Written = writer.write(change)
        view.last_write = f"{written.outcome}: {written.done}"
        if written.outcome in ("committed", "pullRequest"):
            event: Literal["promoted", "rolledBack"] = (
                "rolledBack" if change.reverts else "promoted"
            )
            message = f"{written.subject} ({written.done})"
            revision = written.done if written.outcome == "committed" else None
            self.event(event, stage.spec.name, version, message, revision)

    def event(
        self, kind: Any, stage: str, version: int, message: str, revision: str | None = None
    ) -> None:
        found = next(
            (s for s in self.stages if stage in (s.spec.name, s.spec.shadow_stage) and s.pins),
            None,
        )
        location = found.pins[0].location if found else ""
        revision = revision or self.revision
        event = StageEvent(kind, self.name, stage, self.short, version, message, location, revision)
        log.info("stage event", kind=kind, pipeline=self.name, stage=stage, group=event.group,
                 version=version, message=message)  # fmt: skip
        self.owner.emit(event)


def _stages(
    pipeline: PipelineManifest,
    group: str,
    entries: dict[str, LoadedManifest],
    key_of: dict[int, str],
) -> list[PassStage]:
    """Each stage's endpoints serving `group`, with the variants (and shadows) they pin;
    `key_of` maps each entry (by id) to its key."""
    manifests = list(entries.values())
    found: list[PassStage] = []
    for stage in pipeline.ordered():  # each stage after those it takes versions from
        endpoints = [e for e in stage_endpoints(pipeline, stage, manifests) if _serves(e, group)]
        keys = [key_of[id(e)] for e in endpoints]
        pins, shadows = (
            [
                p
                for p in verifying.pinned(
                    pipeline, endpoints, lambda e: split_key(key_of[id(e)])[0], shadows=shadow
                )
                if p.group == group_name(group)
            ]
            for shadow in (False, True)
        )
        found.append(PassStage(stage, endpoints, pins, keys, shadows))
    return found


def _serves(entry: LoadedManifest, group: str) -> bool:
    return bool(pinned_versions(entry, group))


def _measurement(measurement: Measurement) -> dict[str, Any]:
    values = worst_values([measurement])
    return {"at": measurement.at, "phase": measurement.phase.value, "values": values}
