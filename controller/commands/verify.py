"""`sagemaker-gitops verify --stage STAGE -m DIR`: run one stage's analysis now, for CI.

Reads the stage from the manifests' `kind: Pipeline`, checks that its endpoints serve the
versions their manifests pin (InService, every variant on its version; a rolled-back endpoint
is a failed verification), then takes the stage's measurements from CloudWatch with each
target's own role, `interval` apart, and prints the verdict with every value measured. Read-only
(DescribeEndpoint, DescribeEndpointConfig, DescribeModel, GetMetricData), except that `--record`
writes the verdict on the versions in the Model Registry (UpdateModelPackage).

Exit codes: 0 Successful, 1 Failed or Error (or bad input), 3 Inconclusive (too little traffic,
no data, or not converged yet: ask again later, or decide by hand).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from controller.commands import argtypes
from controller.commands.promote import load_tree
from controller.errors import ControllerError

if TYPE_CHECKING:  # loaded when the command runs: `--help` should not import botocore
    from controller.aws.clients import Clients
    from controller.manifests.loading import LoadResult
    from controller.manifests.pipelines.checks import SelectedStage
    from controller.promotion.verifying import Convergence, Outcome, Pinned, Reader

EXIT_SUCCESSFUL, EXIT_FAILED, EXIT_INCONCLUSIVE = 0, 1, 3
CONVERGE_POLL_SECONDS = 10.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "verify",
        help="run a pipeline stage's analysis on its live CloudWatch metrics (exit 0/1/3)",
        description=(
            "Check that the stage's endpoints serve the versions their manifests pin, then take "
            "the stage's measurements (its Pipeline's verification) and print the verdict. Exit "
            "0 Successful, 1 Failed or Error, 3 Inconclusive."
        ),
    )
    parser.add_argument("--stage", required=True, help="stage name (in a kind: Pipeline)")
    parser.add_argument(
        "-m", "--manifests", required=True, type=Path, metavar="DIR", help="manifest directory"
    )
    parser.add_argument(
        "--pipeline", default=None, metavar="NAME", help="the pipeline, when several have STAGE"
    )
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument(
        "--wait-converged",
        type=argtypes.number(at_least=0, at_most=86_400),
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long for the stage to serve its pinned versions (default 0: "
        "Inconclusive at once when it does not)",
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the verdict on each verified version in the Model Registry (ModelLifeCycle "
        "and a sagemaker-gitops/stage/STAGE metadata entry; UpdateModelPackage), which "
        "promote --stage reads",
    )
    decide = parser.add_mutually_exclusive_group()
    decide.add_argument(
        "--approve",
        action="store_true",
        help="measure nothing: record the version the stage pins as Verified by hand (after an "
        "Inconclusive analysis, say); run --promote then moves it on",
    )
    decide.add_argument(
        "--reject",
        action="store_true",
        help="measure nothing: record it as Failed, which holds it (no stage takes it by itself)",
    )
    parser.add_argument(
        "--reason", default="", metavar="TEXT", help="with --approve/--reject: why, recorded"
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="the stage's shadow gate: measure each endpoint's shadow candidate against its "
        "production variant (or, with --approve/--reject, decide on it); recorded as stage "
        "STAGE-shadow, which run --promote swaps in or drops",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.aws.clients import AwsOptions, Clients
    from controller.manifests.pipelines.checks import select_stage
    from controller.promotion import verifying
    from controller.promotion.analysis import Phase
    from controller.promotion.reading import ClientsReader
    from controller.rendering import verification as report

    loaded = load_tree(args.manifests)
    selected = select_stage(loaded.pipelines, loaded.manifests, args.stage, args.pipeline)
    pipeline, stage = selected.pipeline, selected.stage
    if args.approve or args.reject:
        return _decide(loaded, selected, args)
    if args.shadow and stage.shadow is None:
        raise ControllerError(f"stage {args.stage!r} has no shadow gate")
    if stage.verification is None and not args.shadow:
        raise ControllerError(
            f"stage {args.stage!r} of pipeline {pipeline.metadata.name!r} has no verification"
        )
    clients = Clients(AwsOptions(read_only=not args.record))
    clients.set_targets({name: t.target.spec for name, t in loaded.targets.items()})
    pinned = _pinned(selected, clients)
    shadows = _pinned(selected, clients, shadows=True) if args.shadow else []
    if args.shadow and not shadows:
        raise ControllerError(f"stage {args.stage!r}: no endpoint has a shadow candidate")
    for location in sorted({p.location for p in pinned}):
        clients.check_account(location, "verify")
    reader = ClientsReader(clients)
    # Waiting ends with a fresh read of every endpoint: the analysis starts from it.
    watched = [*pinned, *shadows]
    state = _wait_converged(watched, reader, args.wait_converged) if args.wait_converged else None
    progress = args.format == "text" and sys.stderr.isatty()
    outcome = verifying.verify(
        stage,
        pinned,
        reader,
        sleep=time.sleep,
        converged=state,
        shadows=shadows,
        on_measurement=(
            (lambda m: print(report.measurement_line(m), file=sys.stderr))
            if progress
            else (lambda m: None)
        ),
    )
    name = pipeline.metadata.name
    label = stage.shadow_stage if args.shadow else args.stage
    render = {
        "text": report.render_text,
        "markdown": report.render_markdown,
        "json": report.render_json,
    }[args.format]
    sys.stdout.write(render(outcome, name, label))
    if args.record:
        judged = {(p.group, p.version) for p in shadows}
        _record(clients, outcome, name, label, judged or None)
    if outcome.phase is Phase.SUCCESSFUL:
        return EXIT_SUCCESSFUL
    return EXIT_INCONCLUSIVE if outcome.phase is Phase.INCONCLUSIVE else EXIT_FAILED


def _record(
    clients: Clients,
    outcome: Outcome,
    pipeline: str,
    stage: str,
    only: set[tuple[str, int]] | None = None,
) -> None:
    """The verdict on every version the run measured (a shadow gate: on the candidate only),
    with the stage's own client."""
    from controller.aws.stages import lifecycle, verdicts
    from controller.promotion.verifying import detail, summary

    status = verdicts.STATUS.get(outcome.phase.value)
    if outcome.run is None or status is None:
        print(f"not recorded: {outcome.phase.value} measured nothing to record", file=sys.stderr)
        return
    at = outcome.measurements[-1].at if outcome.measurements else ""
    description = summary(outcome, pipeline, stage)
    for group, version, location, arn in outcome.convergence.packages:
        if only is not None and (group, version) not in only:
            continue
        verdict = verdicts.Verdict(stage, status, at, detail(outcome))
        lifecycle.record(clients.sagemaker(location), arn, verdict, description)
        print(f"recorded {status} for {group} v{version} in stage {stage}", file=sys.stderr)


def _wait_converged(pinned: Sequence[Pinned], reader: Reader, seconds: float) -> Convergence:
    """Poll until the stage serves its pinned versions (or fails, or time is up); the last read."""
    from controller.promotion import verifying
    from controller.promotion.analysis import Phase

    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / CONVERGE_POLL_SECONDS) + 1):
        state = verifying.convergence(pinned, reader)
        if state.phase is not Phase.RUNNING or time.monotonic() >= deadline:
            return state
        time.sleep(min(CONVERGE_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    return verifying.convergence(pinned, reader)


def _pinned(selected: SelectedStage, clients: Clients, *, shadows: bool = False) -> list[Pinned]:
    """The stage's pinned variants (or shadow variants), each where its endpoint deploys."""
    from controller.core.locations import location_of
    from controller.promotion import verifying

    return verifying.pinned(
        selected.pipeline,
        selected.endpoints,
        lambda e: location_of(e.manifest, lambda: clients.default_region),
        shadows=shadows,
    )


def _decide(loaded: LoadResult, selected: SelectedStage, args: argparse.Namespace) -> int:
    """A human's verdict on the version each group of the stage pins, recorded like a measured
    one (with who decided in the detail), through the stage's own client."""
    from datetime import UTC, datetime

    from controller.aws import registry
    from controller.aws.clients import AwsOptions, Clients
    from controller.aws.stages import lifecycle, verdicts
    from controller.core.packages import group_name

    clients = Clients(AwsOptions())
    clients.set_targets({name: t.target.spec for name, t in loaded.targets.items()})
    if args.shadow and selected.stage.shadow is None:
        raise ControllerError(f"stage {selected.stage.name} has no shadow gate")
    pinned = _pinned(selected, clients, shadows=args.shadow)
    status, how = ("Verified", "approved") if args.approve else ("Failed", "rejected")
    at = verdicts.stamp(datetime.now(UTC))
    detail = f"{how} by hand" + (f": {args.reason}" if args.reason else "")
    stage = selected.stage.shadow_stage if args.shadow else selected.stage.name
    decided = 0
    for group in selected.pipeline.spec.package_groups:
        mine = [p for p in pinned if p.group == group_name(group)]
        versions = sorted({p.version for p in mine})
        if not versions:
            continue
        if len(versions) > 1:
            raise ControllerError(
                f"stage {stage} pins {group_name(group)} at versions "
                f"{', '.join(map(str, versions))}: a promotion is half written; decide once "
                "the stage pins one version"
            )
        location = mine[0].location
        clients.check_account(location, "verify")
        client = clients.sagemaker(location)
        found = registry.list_versions(client, group).get(versions[0])
        if found is None:
            raise ControllerError(f"{group_name(group)} v{versions[0]} is not in the registry")
        verdict = verdicts.Verdict(stage, status, at, detail)
        description = (
            f"sagemaker-gitops pipeline {selected.pipeline.metadata.name}, stage {stage}: {detail}"
        )
        lifecycle.record(client, found.arn, verdict, description)
        print(f"recorded {status} for {group_name(group)} v{versions[0]} in stage {stage}")
        decided += 1
    if not decided:
        what = "a shadow candidate" if args.shadow else "a registry version"
        raise ControllerError(
            f"nothing to decide: stage {selected.stage.name} pins {what} of none of the "
            "pipeline's groups"
        )
    return EXIT_SUCCESSFUL
