"""Verifying a stage: has it converged on the version its manifests pin, and what do its live
metrics say, measurement after measurement?

Everything AWS is behind `Reader` (the endpoint's status and served versions, GetMetricData), and
time behind `clock`/`sleep`, so the schedule and the phases are tested without waiting and the
command (`verify`) and the service can drive the same code. Never mutates anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from controller.aws.stages.serving import ComponentServing, Serving
from controller.aws.stages.verdicts import stamp
from controller.core.packages import group_name
from controller.errors import ControllerError
from controller.manifests.loaded import LoadedManifest
from controller.manifests.pipelines.checks import registry_components, registry_variants
from controller.manifests.pipelines.model import PipelineManifest, Stage, Verification
from controller.promotion import analysis
from controller.promotion.analysis import Measurement, Phase, Run, Subject

FAILED_STATUSES = frozenset({"RollingBack", "UpdateRollbackFailed", "Failed"})
"""An endpoint (or inference component) in one of these did not take the version: the
verification has failed. A component has no RollingBack: a failed rolling update shows as
Updating with a FailureReason, then InService on the old version, which convergence reads as not
serving the pin (and the pin never comes)."""
READERS = 8
"""Endpoints whose state is read at once while checking convergence."""


class Reader(Protocol):
    """What verification reads from AWS, per location (target name or region)."""

    def serving(self, location: str, endpoint: str) -> Serving | None: ...

    def component(self, location: str, component: str) -> ComponentServing | None: ...

    def metric_values(
        self,
        location: str,
        requests: Sequence[dict[str, Any]],
        start: datetime,
        end: datetime,
    ) -> dict[str, list[float]]: ...


@dataclass(frozen=True)
class Pinned:
    """One variant (or inference component) of a stage endpoint and the version its manifest
    pins."""

    location: str
    endpoint: str
    variant: str
    group: str
    version: int
    component: str = ""
    """The inference component pinned; "" for a variant."""


def pinned(
    pipeline: PipelineManifest,
    endpoints: Sequence[LoadedManifest],
    location_of: Callable[[LoadedManifest], str],
    *,
    shadows: bool = False,
) -> list[Pinned]:
    """Every variant and inference component of the stage's endpoints that serves one of the
    pipeline's groups (with `shadows`, every shadow variant pinned to one: a shadow gate's
    candidate)."""
    groups = set(pipeline.spec.package_groups)
    found = []
    for entry in endpoints:
        name, location = entry.manifest.metadata.name, location_of(entry)
        for variant, model in registry_variants(entry, shadows=shadows):
            if model.package_group in groups:
                group = group_name(model.package_group)
                found.append(Pinned(location, name, variant, group, model.version))
        if shadows:
            continue  # components have no shadow
        for component, host, model in registry_components(entry):
            if model.package_group in groups:
                group = group_name(model.package_group)
                found.append(Pinned(location, name, host, group, model.version, component))
    return found


@dataclass(frozen=True)
class Convergence:
    """Whether the stage serves what its manifests pin, everywhere."""

    phase: Phase
    """SUCCESSFUL: converged; RUNNING: not yet; FAILED: an endpoint rolled back or failed."""
    notes: tuple[str, ...] = ()
    """One line per endpoint that is not converged, saying why."""
    packages: tuple[tuple[str, int, str, str], ...] = ()
    """(group, version, location, package ARN) of each pinned version found serving."""


def convergence(variants: Sequence[Pinned], reader: Reader) -> Convergence:
    """Read each endpoint and component once and compare what it serves with what its manifest
    pins."""
    notes: list[str] = []
    found: dict[tuple[str, int], tuple[str, str]] = {}
    failed = False
    by_endpoint: dict[tuple[str, str], list[Pinned]] = {}
    components = sorted({(v.location, v.component): v for v in variants if v.component}.items())
    for item in variants:
        if not item.component:
            by_endpoint.setdefault((item.location, item.endpoint), []).append(item)
    keys = sorted(by_endpoint)
    # Read side by side: a few describes each, at a region's round trip.
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="verify") as pool:
        lives = list(pool.map(lambda key: reader.serving(*key), keys))
        parts = list(pool.map(lambda key: reader.component(*key[0]), components))
    for (location, endpoint), live in zip(keys, lives, strict=True):
        wanted = by_endpoint[(location, endpoint)]
        where = f"{endpoint} ({location})"
        if live is None:
            notes.append(f"{where}: not created yet")
            continue
        if live.status in FAILED_STATUSES:
            failed = True
            reason = f": {live.failure_reason}" if live.failure_reason else ""
            notes.append(f"{where}: {live.status}{reason}")
            continue
        for item in wanted:
            served = live.versions.get(item.variant)
            if served == (item.group, item.version) and item.variant in live.packages:
                found.setdefault(served, (location, live.packages[item.variant]))
            if served != (item.group, item.version):
                now = f"v{served[1]}" if served else "no registry version"
                notes.append(
                    f"{where}: variant {item.variant} serves {now}, the manifests pin "
                    f"{item.group} v{item.version}"
                )
        if live.status != "InService":
            notes.append(f"{where}: {live.status}")
    for (_, item), part in zip(components, parts, strict=True):
        failed = _component(item, part, notes, found) or failed
    packages = tuple((g, v, loc, arn) for (g, v), (loc, arn) in sorted(found.items()))
    if failed:
        return Convergence(Phase.FAILED, tuple(notes), packages)
    return Convergence(Phase.RUNNING if notes else Phase.SUCCESSFUL, tuple(notes), packages)


def _component(
    item: Pinned,
    live: ComponentServing | None,
    notes: list[str],
    found: dict[tuple[str, int], tuple[str, str]],
) -> bool:
    """Note why one inference component has not converged; True when it failed."""
    where = f"{item.endpoint} ({item.location}): component {item.component}"
    if live is None:
        notes.append(f"{where}: not created yet")
        return False
    if live.status in FAILED_STATUSES:
        reason = f": {live.failure_reason}" if live.failure_reason else ""
        notes.append(f"{where}: {live.status}{reason}")
        return True
    pinned_version = (item.group, item.version)
    if live.version == pinned_version and live.package:
        found.setdefault(pinned_version, (item.location, live.package))
    else:
        now = f"v{live.version[1]}" if live.version else "no registry version"
        notes.append(f"{where} serves {now}, the manifests pin {item.group} v{item.version}")
    if live.status != "InService":
        reason = f" ({live.failure_reason})" if live.failure_reason else ""
        notes.append(f"{where}: {live.status}{reason}")
    return False


def window(verification: Verification, now: datetime) -> tuple[datetime, datetime, int]:
    """(start, end, period) a measurement at `now` reads: the last `interval`, in whole periods."""
    seconds = verification.interval_seconds
    return now - timedelta(seconds=seconds), now, verification.period_seconds


def measure(
    verification: Verification,
    subjects: Sequence[Subject],
    reader: Reader,
    now: datetime,
    *,
    shadow: bool = False,
) -> Measurement:
    """One measurement of the stage: one GetMetricData batch per location. `shadow`: the
    subjects are (shadow, production) pairs, judged by `analysis.evaluate_shadow`."""
    at = stamp(now)
    start, end, period = window(verification, now)
    queries = analysis.queries(verification, subjects)
    by_location: dict[str, list[dict[str, Any]]] = {}
    for query in queries:
        location = subjects[query.subject].location
        by_location.setdefault(location, []).append(query.as_request(period))
    series: dict[str, list[float]] = {}
    try:
        for location, requests in sorted(by_location.items()):
            series.update(reader.metric_values(location, requests, start, end))
    except ControllerError as e:
        return Measurement(at, Phase.ERROR, error=str(e))
    evaluate = analysis.evaluate_shadow if shadow else analysis.evaluate
    return evaluate(verification, subjects, series, at)


@dataclass
class Outcome:
    """A finished verification: its phase, why, and every measurement."""

    phase: Phase
    convergence: Convergence
    run: Run | None = None
    subjects: tuple[Subject, ...] = ()
    versions: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Group -> the versions the stage serves (one, once converged)."""

    @property
    def measurements(self) -> list[Measurement]:
        return self.run.measurements if self.run else []


def subjects(variants: Sequence[Pinned], shadows: Sequence[Pinned] = ()) -> tuple[Subject, ...]:
    """What an analysis measures: each pinned variant once; with `shadows` (a shadow gate's
    candidate), each shadow variant then its endpoint's production variant, the pairs
    `analysis.evaluate_shadow` judges."""
    if not shadows:
        return tuple(
            dict.fromkeys(Subject(v.location, v.endpoint, v.variant, v.component) for v in variants)
        )
    by_endpoint = {(p.location, p.endpoint): p for p in variants}
    pairs: list[Subject] = []
    for shadow in shadows:
        mine = by_endpoint.get((shadow.location, shadow.endpoint))
        if mine is None:
            continue
        pairs.append(Subject(shadow.location, shadow.endpoint, shadow.variant))
        pairs.append(Subject(mine.location, mine.endpoint, mine.variant))
    return tuple(pairs)


def verify(
    stage: Stage,
    variants: Sequence[Pinned],
    reader: Reader,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None],
    on_measurement: Callable[[Measurement], None] = lambda m: None,
    converged: Convergence | None = None,
    shadows: Sequence[Pinned] = (),
) -> Outcome:
    """Check convergence (unless the caller just did: `converged`), then run the stage's
    analysis to its end (bounded by `count` plus the errors allowed in a row). With `shadows`
    (a shadow gate's candidate), the gate's analysis of each shadow against production."""
    verification = stage.shadow.verification if shadows and stage.shadow else stage.verification
    if verification is None:
        raise ControllerError(f"stage {stage.name} has no verification: nothing to measure")
    versions: dict[str, set[int]] = {}
    for item in shadows or variants:
        versions.setdefault(item.group, set()).add(item.version)
    pinned_versions = {g: tuple(sorted(v)) for g, v in sorted(versions.items())}
    everything = [*variants, *shadows]
    state = converged if converged is not None else convergence(everything, reader)
    measured = subjects(variants, shadows)
    if state.phase is not Phase.SUCCESSFUL:
        phase = Phase.FAILED if state.phase is Phase.FAILED else Phase.INCONCLUSIVE
        return Outcome(phase, state, None, measured, pinned_versions)
    run = Run(verification)
    if verification.initial_delay_seconds:
        sleep(verification.initial_delay_seconds)
    while run.attempts_left():
        if run.measurements:
            sleep(verification.interval_seconds)
        measurement = measure(verification, measured, reader, clock(), shadow=bool(shadows))
        run.measurements.append(measurement)
        on_measurement(measurement)
    phase = run.phase()
    return Outcome(
        Phase.ERROR if phase is Phase.RUNNING else phase, state, run, measured, pinned_versions
    )


def worst_values(measurements: Iterable[Measurement] | Outcome) -> dict[str, float]:
    """Each check's highest value over the measurements: what a `max` threshold judges (error
    rates, latencies); a `min`-only check's lowest value is in the measurements."""
    taken = measurements.measurements if isinstance(measurements, Outcome) else measurements
    found: dict[str, float] = {}
    for measurement in taken:
        for result in measurement.subjects:
            for check in result.checks:
                if check.value is not None:
                    found[check.name] = max(found.get(check.name, check.value), check.value)
    return found


def detail(outcome: Outcome) -> str:
    """A verdict's detail: each check's highest value (`errors=0.2 p99=480`), or why the stage
    was not measured when it never converged."""
    if outcome.run is None:
        return "; ".join(outcome.convergence.notes)[:200]
    return " ".join(f"{n}={v:.4g}" for n, v in worst_values(outcome).items())


def summary(outcome: Outcome, pipeline: str, stage: str) -> str:
    """One line for the registry's StageDescription and commit messages."""
    values = ", ".join(f"{name} {value:.4g}" for name, value in worst_values(outcome).items())
    taken = len(outcome.measurements)
    return (
        f"sagemaker-gitops pipeline {pipeline}, stage {stage}: {outcome.phase.value} after "
        f"{taken} measurement(s)" + (f"; highest {values}" if values else "")
    )
