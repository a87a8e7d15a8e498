"""`sagemaker-gitops promote --group G [--to N|latest-approved] -m DIR [--commit|--dry-run]`.

Rewrites the pinned `version:` of every variant (and inference component) under DIR that serves
model package group G,
where it is written: for an endpoint rendered from a template (`spec.extends`), in its own file
when it overrides the version, else in the template, saying which endpoints that line moves.
`--endpoint`, `--target` and `--label` narrow it to some endpoints, and a template line that
would also move one they leave out is refused. `--stage S` narrows it to a pipeline stage's
endpoints and refuses a version the stage before S has not recorded as Verified in the registry
(`verify --record`), unless `--force`. It prints the unified diff, and optionally
commits exactly those files with a conventional message (``chore(promote): churn-xgb 6 -> 7``).
The new version must exist and be Approved in the Model Registry; promote only reads AWS
(ListModelPackages), through a read-only client.

Exit codes: 0 promoted (or nothing to promote), 1 error (unknown group, version missing or not
Approved, invalid manifests, dirty files with --commit, a version not verified upstream).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.edits import LATEST_APPROVED
from controller.errors import ControllerError

if TYPE_CHECKING:  # loaded when the command runs: `--help` should not import botocore
    from controller.aws.clients import Clients
    from controller.edits import promoting
    from controller.manifests.loading import LoadedManifest, LoadResult
    from controller.manifests.targets import TargetSpec


def _version(value: str) -> str:
    if value == LATEST_APPROVED or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"expected a version number or {LATEST_APPROVED}")


def _label(value: str) -> tuple[str, str]:
    from controller.edits.selection import label

    try:
        return label(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "promote",
        help="pin a model package group to a new Approved version in every manifest using it",
        description=(
            "Rewrite the version: of every variant and inference component under DIR that uses "
            "model package group "
            "GROUP, changing nothing else in the files, and print the diff. The target version "
            "must be Approved in the Model Registry. Exit 0 on success or when there is nothing "
            "to promote, 1 on error."
        ),
    )
    parser.add_argument("--group", required=True, help="model package group name")
    parser.add_argument(
        "--to",
        type=_version,
        default=LATEST_APPROVED,
        metavar="VERSION",
        help="version number, or latest-approved (default): the highest Approved version",
    )
    parser.add_argument(
        "-m", "--manifests", required=True, type=Path, metavar="DIR", help="manifest directory"
    )
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="NAME",
        help="promote only this endpoint (repeatable)",
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="TARGET",
        help="promote only endpoints deployed through this target (repeatable)",
    )
    parser.add_argument(
        "--label",
        action="append",
        type=_label,
        default=[],
        metavar="KEY=VALUE",
        help="promote only endpoints with this label (repeatable; all must hold)",
    )
    parser.add_argument(
        "--stage",
        default=None,
        metavar="STAGE",
        help="promote only the endpoints of this pipeline stage, and only a version the stage "
        "before it verified (verify --record); refused otherwise unless --force",
    )
    parser.add_argument(
        "--pipeline", default=None, metavar="NAME", help="the pipeline, when several have STAGE"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="with --stage: promote even a version the stage before has not verified",
    )
    add_write_modes(parser)
    parser.set_defaults(func=run)


def add_write_modes(parser: argparse.ArgumentParser) -> None:
    """--commit / --dry-run, shared by the commands that edit manifests (promote, rollback)."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--commit", action="store_true", help="git commit exactly the changed files")
    mode.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")


def load_tree(root: Path) -> LoadResult:
    """Every manifest under `root`, refusing to edit anything when one does not load."""
    from controller.manifests.loading import load_manifests

    if not root.is_dir():
        raise ControllerError(f"{root}: not a directory")
    loaded = load_manifests([root], root=root)
    loaded.raise_for_errors()
    return loaded


def run(args: argparse.Namespace) -> int:
    from controller.edits import promoting
    from controller.edits.selection import Selectors

    root: Path = args.manifests
    loaded = load_tree(root)
    selectors = Selectors(tuple(args.endpoint), tuple(args.target), tuple(args.label))
    chosen = selectors.select(loaded.manifests)
    stage = _stage(loaded, args) if args.stage else None
    if stage is not None:
        chosen = [e for e in chosen if any(e is s for s in stage.endpoints)]
    everyone = loaded.manifests if selectors.given or stage is not None else None
    files = promoting.collect(root, shown(root), chosen, args.group, everyone)
    if not files:
        raise ControllerError(f"no manifest under {root} uses model package group {args.group!r}")
    targets = {name: t.target.spec for name, t in loaded.targets.items()}
    target, arns, clients = _target(files, args.group, args.to, targets)
    if stage is not None and stage.upstreams:
        _check_upstreams(clients, arns, args.group, target, stage.upstreams, args.force)
    promotion = promoting.promote_files(files, args.group, target)
    if not promotion.edits:
        print(f"nothing to promote: {args.group} is at version {target} in every manifest")
        return 0
    paths = [edit.file.path for edit in promotion.edits]
    repo = promoting.repo_paths(paths) if args.commit else None
    if repo is not None:
        promoting.check_clean(*repo)
    for warning in promoting.mixed_versions([edit.file for edit in promotion.edits]):
        print(f"warning: {warning}; all of them now pin {target}", file=sys.stderr)
    sys.stdout.write(promotion.diff())
    for line in promoting.moves(promotion):
        print(line, file=sys.stderr)
    if args.dry_run:
        return 0
    promoting.write(promotion)
    summary = f"{args.group} {', '.join(map(str, promotion.previous))} -> {target}"
    if repo is not None:
        top, names = repo
        commit = promoting.commit(top, names, promotion.commit_message(names))
        print(f"promoted {summary} in {len(paths)} file(s); commit {commit}", file=sys.stderr)
    else:
        print(f"promoted {summary} in {len(paths)} file(s)", file=sys.stderr)
    return 0


def shown(root: Path) -> str:
    """The manifest directory as diffs show it: relative to the current directory if inside."""
    try:
        return root.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return root.as_posix()


@dataclass(frozen=True)
class _Stage:
    endpoints: list[LoadedManifest]
    upstreams: tuple[str, ...]
    """The stages a version must be verified in first (none for a root stage)."""


def _stage(loaded: LoadResult, args: argparse.Namespace) -> _Stage:
    """The stage's endpoints and the stages it takes versions from."""
    from controller.manifests.pipelines.checks import select_stage

    selected = select_stage(loaded.pipelines, loaded.manifests, args.stage, args.pipeline)
    pipeline = selected.pipeline
    if args.group not in pipeline.spec.package_groups:
        raise ControllerError(
            f"pipeline {pipeline.metadata.name!r} does not move group {args.group!r} "
            f"(its groups: {', '.join(pipeline.spec.package_groups)})"
        )
    upstreams = tuple(s.name for s in pipeline.upstreams(args.stage))
    return _Stage(selected.endpoints, upstreams)


def _check_upstreams(
    clients: Clients,
    arns: Mapping[str, str],
    group: str,
    version: int,
    upstreams: tuple[str, ...],
    force: bool,
) -> None:
    """Refuse a version a stage before has not verified (its verdict in the registry)."""
    from controller.aws.stages import verdicts

    # One read per version: locations sharing a registry name the same ARN.
    read = {arn: location for location, arn in sorted(arns.items(), reverse=True)}
    for arn, location in sorted(read.items()):
        recorded = verdicts.verdicts(clients.sagemaker(location), arn)
        for upstream in upstreams:
            verdict = recorded.get(upstream)
            if verdict is not None and verdict.verified:
                print(
                    f"{group} v{version}: verified in stage {upstream} ({verdict.at})",
                    file=sys.stderr,
                )
                continue
            found = (
                f"its verdict there: {verdict.status} ({verdict.at})" if verdict else "no verdict"
            )
            message = f"{group} v{version} is not verified in stage {upstream} ({found})"
            if not force:
                raise ControllerError(
                    f"{message}; run verify --stage {upstream} --record, or --force"
                )
            print(f"warning: {message}; promoting anyway (--force)", file=sys.stderr)
            return


def _target(
    files: list[promoting.ManifestFile], group: str, to: str, targets: Mapping[str, TargetSpec]
) -> tuple[int, dict[str, str], Clients]:
    """Read the group's listing once per region (or deployment target, through its plan role)
    the manifests deploy to, and pick the version to promote to; also the version's package ARN
    per location, and the clients that read them."""
    from controller.aws.clients import AwsOptions, Clients
    from controller.edits import promoting

    clients = Clients(AwsOptions(read_only=True))
    clients.set_targets(targets)
    regions = {
        region or clients.default_region
        for f in files
        for ref in f.refs
        for region in ref.regions or (ref.region,)
    }
    listings = {
        region: promoting.list_group(clients.sagemaker(region), group) for region in regions
    }
    target = promoting.choose_target(listings, group, to)
    arns = {region: listing[target].arn for region, listing in listings.items()}
    return target, arns, clients
