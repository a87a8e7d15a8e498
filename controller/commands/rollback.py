"""`sagemaker-gitops rollback (ENDPOINT | --stage S) -m DIR [--to previous|VERSION] [--commit]`.

Writes the revert of one endpoint as a change to its manifest, so git stays the truth: the
versions it pins go back to those of the config that was live before the current one (the
endpoint's rollback history, `sagemaker-gitops/history`), or to VERSION. The change is made by
`promote`'s writer (only the `version:` scalars move, comments and layout kept; a template line
that would also move other endpoints is refused), printed as a diff, and with `--commit`
committed alone. The next `apply` (or `run`) rolls the endpoint back like any other change.
`--stage S` does the same for every endpoint of a pipeline stage in one change: back to the
versions their previous configs served (which must agree), or to VERSION.

It reads AWS only (DescribeEndpoint, ListTags, DescribeEndpointConfig, DescribeModel,
ListModelPackages) through a read-only client, and refuses a version that is not Approved.

Exit codes: 0 written (or nothing to roll back), 1 error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from controller.commands.promote import add_write_modes, load_tree, shown
from controller.errors import ControllerError

if TYPE_CHECKING:  # loaded when the command runs: `--help` should not import botocore
    from controller.aws.clients import Clients
    from controller.manifests.loading import LoadedManifest, LoadResult

PREVIOUS = "previous"


def _to(value: str) -> str:
    if value == PREVIOUS or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"expected {PREVIOUS} or a version number")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "rollback",
        help="pin an endpoint back to the versions it served before (a manifest change)",
        description=(
            "Rewrite the version: lines of ENDPOINT's manifest to the registry versions of the "
            "config that was live before the current one (from the endpoint's rollback "
            "history), or to --to VERSION, and print the diff. Nothing in AWS is changed: "
            "apply or run rolls the endpoint back from git. Exit 0 on success or when there is "
            "nothing to roll back, 1 on error."
        ),
    )
    parser.add_argument(
        "endpoint", nargs="?", metavar="ENDPOINT", help="the endpoint's metadata.name"
    )
    parser.add_argument(
        "--stage",
        metavar="STAGE",
        help="instead of ENDPOINT: every endpoint of this pipeline stage, in one change",
    )
    parser.add_argument(
        "--pipeline",
        default=None,
        metavar="NAME",
        help="with --stage: the pipeline, when several have STAGE",
    )
    parser.add_argument(
        "-m", "--manifests", required=True, type=Path, metavar="DIR", help="manifest directory"
    )
    parser.add_argument(
        "--target", metavar="TARGET", help="the endpoint's target, when its name is in several"
    )
    parser.add_argument(
        "--to",
        type=_to,
        default=PREVIOUS,
        metavar="VERSION",
        help="previous (default): the versions of the config live before the current one; "
        "or a version number, for an endpoint serving one model package group",
    )
    add_write_modes(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.aws.clients import AwsOptions, Clients

    root: Path = args.manifests
    if (args.endpoint is None) == (args.stage is None):
        raise ControllerError("name an ENDPOINT or a --stage (one of them)")
    loaded = load_tree(root)
    entries = (
        _stage(loaded, args) if args.stage else [_one(loaded.manifests, args.endpoint, args.target)]
    )
    clients = Clients(AwsOptions(read_only=True))
    clients.set_targets({name: t.target.spec for name, t in loaded.targets.items()})
    found: dict[str, set[int]] = {}
    reasons = []
    for entry in entries:
        versions, reason = _versions(clients, entry, args.to)
        for group, version in versions.items():
            found.setdefault(group, set()).add(version)
        reasons.append(f"{entry.manifest.metadata.name}: {reason}" if args.stage else reason)
    split = {g: sorted(v) for g, v in found.items() if len(v) > 1}
    if split:
        group, numbers = next(iter(sorted(split.items())))
        raise ControllerError(
            f"stage {args.stage}: its endpoints served {group} at versions "
            f"{', '.join(map(str, numbers))} before; roll back with --to VERSION"
        )
    versions = {g: next(iter(v)) for g, v in found.items()}
    name = f"stage {args.stage}" if args.stage else entries[0].manifest.metadata.name
    return _write(root, loaded.manifests, entries, name, versions, "; ".join(reasons), args)


def _versions(clients: Clients, entry: LoadedManifest, to: str) -> tuple[dict[str, int], str]:
    """The version per group `entry` goes back to (checked Approved), and why."""
    from controller.core.locations import location_of

    groups = _groups(entry)
    location = location_of(entry.manifest, lambda: clients.default_region)
    clients.check_account(location, "rollback")
    if to == PREVIOUS:
        versions, reason = _previous(clients, location, entry, groups)
    elif len(set(groups.values())) > 1:
        raise ControllerError(
            f"endpoint {entry.manifest.metadata.name} serves "
            f"{', '.join(sorted(set(groups.values())))}: --to VERSION needs one model "
            "package group; use --to previous"
        )
    else:
        versions = {next(iter(groups.values())): int(to)}
        reason = f"pinned to version {to}"
    _check_approved(clients, location, versions)
    return versions, reason


def _stage(loaded: LoadResult, args: argparse.Namespace) -> list[LoadedManifest]:
    from controller.manifests.pipelines.checks import select_stage

    return select_stage(loaded.pipelines, loaded.manifests, args.stage, args.pipeline).endpoints


def _one(manifests: list[LoadedManifest], name: str, target: str | None) -> LoadedManifest:
    from controller.edits.selection import Selectors

    selectors = Selectors((name,), (target,) if target else ())
    found = [m for m in manifests if selectors.matches(m)]
    if not found:
        where = f" in target {target}" if target else ""
        raise ControllerError(f"no endpoint named {name}{where} in the manifests")
    if len(found) > 1:
        places = ", ".join(
            sorted(str(m.manifest.spec.target or m.manifest.spec.region) for m in found)
        )
        raise ControllerError(f"endpoint {name} is in several places ({places}): add --target")
    return found[0]


def _groups(entry: LoadedManifest) -> dict[str, str]:
    """Variant name -> model package group, for the variants pinned to a registry version."""
    from controller.manifests.models import RegistryModel

    groups = {
        v.name: v.model.package_group
        for v in entry.manifest.spec.variants
        if isinstance(v.model, RegistryModel)
    }
    if not groups:
        raise ControllerError(
            f"endpoint {entry.manifest.metadata.name} pins no registry version "
            "(an image, or inference components): revert its manifest with git"
        )
    return groups


def _previous(
    clients: Clients, location: str, entry: LoadedManifest, groups: Mapping[str, str]
) -> tuple[dict[str, int], str]:
    """The version per group the previous config served on the manifest's variants."""
    from controller.aws import rollbacks
    from controller.core.packages import group_name

    name = entry.manifest.metadata.name
    previous = rollbacks.previous_versions(clients.sagemaker(location), name)
    wanted: dict[str, set[int]] = {}
    for variant, group in groups.items():
        served = previous.versions.get(variant)
        if served is not None and served[0] == group_name(group):
            wanted.setdefault(group, set()).add(served[1])
    if not wanted:
        raise ControllerError(
            f"endpoint {name}: the previous config {previous.config} served no version of "
            f"{', '.join(sorted(set(groups.values())))} on the manifest's variants "
            f"({', '.join(sorted(groups))}); pin a version with --to"
        )
    split = {g: sorted(v) for g, v in wanted.items() if len(v) > 1}
    if split:
        group, numbers = next(iter(split.items()))
        raise ControllerError(
            f"endpoint {name}: the previous config {previous.config} served {group} at "
            f"versions {', '.join(map(str, numbers))} on different variants; a rollback pins "
            "one version per group: edit the manifest by hand"
        )
    reason = f"back to {previous.config}, live before {previous.current_config}"
    return {g: next(iter(v)) for g, v in wanted.items()}, reason


def _check_approved(clients: Clients, location: str, versions: Mapping[str, int]) -> None:
    """Every version must still be Approved: apply would refuse it otherwise."""
    from controller.edits import promoting

    for group, version in sorted(versions.items()):
        listing = promoting.list_group(clients.sagemaker(location), group)
        promoting.choose_target({location: listing}, group, str(version))


def _write(
    root: Path,
    everyone: list[LoadedManifest],
    entries: list[LoadedManifest],
    name: str,
    versions: Mapping[str, int],
    reason: str,
    args: argparse.Namespace,
) -> int:
    """Print the diff and, unless --dry-run, write (and with --commit, commit) each group."""
    from controller.edits import promoting

    where = shown(root)
    planned = {
        group: promoting.promote_files(
            promoting.collect(root, where, entries, group, everyone), group, version
        )
        for group, version in sorted(versions.items())
    }
    moving = {g: p for g, p in planned.items() if p.edits}
    if not moving:
        pinned = ", ".join(f"{g} {v}" for g, v in sorted(versions.items()))
        print(f"nothing to roll back: {name} already pins {pinned}")
        return 0
    paths = sorted({edit.file.path for p in moving.values() for edit in p.edits})
    repo = promoting.repo_paths(paths) if args.commit else None
    if repo is not None:
        promoting.check_clean(*repo)
    for promotion in moving.values():
        sys.stdout.write(promotion.diff())
    if args.dry_run:
        return 0
    for group, version in sorted(versions.items()):
        if group in moving:  # re-read: an earlier group may have changed the same file
            files = promoting.collect(root, where, entries, group, everyone)
            promoting.write(promoting.promote_files(files, group, version))
    changes = ", ".join(
        f"{g} {', '.join(map(str, p.previous))} -> {p.target}" for g, p in moving.items()
    )
    if repo is None:
        print(f"rolled back {name}: {changes} ({reason})", file=sys.stderr)
        return 0
    top, names = repo
    what = name if args.stage else f"endpoint {name}"
    body = "\n".join(
        [f"Roll {what} back: {reason} (sagemaker-gitops rollback)."]
        + [f"- {names[p]}" for p in paths]
    )
    subject = name.replace("stage ", "stage-") if args.stage else name
    commit = promoting.commit(top, names, f"revert({subject}): {changes}\n\n{body}\n")
    print(f"rolled back {name}: {changes} ({reason}); commit {commit}", file=sys.stderr)
    return 0
