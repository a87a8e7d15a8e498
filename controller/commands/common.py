"""Arguments and construction shared by the commands that talk to AWS.

The AWS and reconciler modules (boto3, botocore, structlog) are imported only when a command
runs: the CLI registers every command's arguments at start, and `--help` and `validate` should
not pay for them.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.commands import argtypes
from controller.errors import ControllerError

if TYPE_CHECKING:
    from controller.core.snapshots import Snapshot
    from controller.reconcile.reconciling import Reconciler

DEFAULT_CONTROLLER_ID = "default"


def add_manifest_arguments(parser: argparse.ArgumentParser, timeout: float = 600.0) -> None:
    parser.add_argument(
        "-m",
        "--manifests",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory (or file) of endpoint manifests",
    )
    parser.add_argument(
        "--revision",
        default=None,
        help="git revision to record on changed resources (default: HEAD of "
        "the manifest directory's repository, when it is one)",
    )
    parser.add_argument(
        "--timeout",
        type=argtypes.positive_seconds,
        default=timeout,
        metavar="SECONDS",
        help="bound on the whole command, AWS calls and waits included; exit 1 when reached",
    )
    add_aws_arguments(parser)


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--controller-id",
        default=os.environ.get("SAGEMAKER_GITOPS_ID", DEFAULT_CONTROLLER_ID),
        help="ownership id written to and required on managed resources "
        "(env SAGEMAKER_GITOPS_ID; default: %(default)s)",
    )
    parser.add_argument(
        "--region",
        default=None,
        help="default AWS region for manifests "
        "without spec.region (default: the AWS configuration)",
    )
    parser.add_argument("--profile", default=None, help="AWS profile")
    parser.add_argument(
        "--calls-per-second",
        type=argtypes.calls_per_second,
        default=None,
        help="fixed client-side cap on AWS API calls per second, for sharing an account's "
        "API budget (default: none; --concurrency bounds calls in flight and each account's "
        "calls slow down while AWS throttles them for their rate)",
    )


def add_prune_arguments(parser: argparse.ArgumentParser) -> None:
    """Scope and deletion guards (docs/reliability.md); shared by plan, apply, status and run."""
    parser.add_argument(
        "--scope",
        default=None,
        metavar="NAME",
        help="prune scope written to and required on endpoints (default: git remote + path "
        "of -m's tree, or its absolute path outside git; a file's tree is its nearest folder "
        "holding .sagemaker-gitops.yaml, else its own folder)",
    )
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="with --prune: allow deleting every endpoint of the scope when no manifest is left",
    )
    parser.add_argument(
        "--max-deletes",
        type=argtypes.integer(at_least=0),
        default=5,
        metavar="N",
        help="with --prune: hold back every endpoint delete of a pass that would delete more "
        "than N endpoints (default: %(default)s)",
    )
    parser.add_argument(
        "--max-delete-percent",
        type=argtypes.number(at_least=0, at_most=100),
        default=100.0,
        metavar="P",
        help="with --prune: hold back a pass that would delete more than P%% of the scope's "
        "endpoints (default: %(default)g, no limit)",
    )
    parser.add_argument(
        "--prune-region",
        action="append",
        default=[],
        metavar="REGION",
        help="also scan REGION for removed endpoints (repeatable; the default region, every "
        "region a manifest names and prune.regions of .sagemaker-gitops.yaml are always scanned)",
    )


def prune_options(args: argparse.Namespace, scope: str) -> dict[str, Any]:
    from controller.core.prune.pruning import PruneGuards

    manifests = getattr(args, "manifests", None)
    # One file is a part of its scope's tree (commands/scoping.py): its neighbours are unread.
    whole_tree = manifests is None or not Path(manifests).is_file()
    guards = PruneGuards(
        args.allow_empty, args.max_deletes, args.max_delete_percent, whole_tree=whole_tree
    )
    return {"scope": scope, "guards": guards, "prune_regions": tuple(args.prune_region)}


def print_prune_notes(rec: Reconciler, snapshot: Snapshot) -> None:
    """The prune pass's facts, once each (held back deletes, unscoped endpoints, regions)."""
    import sys

    from controller.core.prune.pruning import notes

    for line in notes(rec.prune_decision(snapshot)):
        print(f"note: {line}", file=sys.stderr)
    print(
        f"note: prune scope {rec.options.scope!r}, regions scanned: "
        f"{', '.join(rec.scanned_regions())} (add others with --prune-region or prune.regions "
        "in .sagemaker-gitops.yaml)",
        file=sys.stderr,
    )


def reconciler(args: argparse.Namespace, *, read_only: bool, **options: Any) -> Reconciler:
    from controller.aws.clients import AwsOptions, Clients
    from controller.deadlines import Deadline
    from controller.reconcile.reconciling import ReconcileOptions, Reconciler

    if getattr(args, "manifests", None) is not None:
        refuse_broken_config(args.manifests)
    if hasattr(args, "max_deletes") and getattr(args, "manifests", None) is not None:
        from controller.commands import scoping

        scope = scoping.explicit(args.scope) if args.scope else scoping.of_path(args.manifests)
        options = {**prune_options(args, scope), **options}
    aws = AwsOptions(
        region=args.region,
        profile=args.profile,
        read_only=read_only,
        calls_per_second=args.calls_per_second,
        deadline=Deadline(getattr(args, "timeout", None)),
    )
    return Reconciler(Clients(aws), ReconcileOptions(controller_id=args.controller_id, **options))


def refuse_broken_config(manifests: Path) -> None:
    """Fail closed before any AWS call: a repository config that does not load would otherwise
    mean "no projects", switching every restriction off."""
    from controller.errors import ManifestError
    from controller.manifests.repoconfig import load_repo_config

    root = manifests if manifests.is_dir() else manifests.parent
    problems = load_repo_config(root).problems
    if problems:
        raise ManifestError(list(problems))
    if not manifests.is_dir():
        _refuse_file_outside_its_projects(manifests)


def _refuse_file_outside_its_projects(manifest: Path) -> None:
    """One file below the root of a tree with projects would be loaded with its own folder as
    the root, where no config is: refuse rather than deploy it without the restrictions."""
    from controller.commands.scoping import git
    from controller.manifests.projects.policy import enforced
    from controller.manifests.repoconfig import CONFIG_NAME, load_repo_config

    folder = manifest.resolve().parent
    top = git(folder, "rev-parse", "--show-toplevel")
    # Up to the git work tree's top; outside git, every ancestor (a root may be anywhere).
    above = () if top is not None and folder == Path(top).resolve() else folder.parents
    for tree in above:
        if (tree / CONFIG_NAME).is_file() and enforced(load_repo_config(tree)):
            raise ControllerError(
                f"{manifest}: {tree / CONFIG_NAME} declares projects or targets.paths, which "
                f"apply only when -m is the manifest root; run with -m {tree}"
            )
        if top is not None and tree == Path(top).resolve():
            break


def load(rec: Reconciler, args: argparse.Namespace) -> Snapshot:
    root: Path = args.manifests
    if not root.exists():
        raise ControllerError(f"{root}: no such file or directory")
    return rec.load(root, args.revision or git_revision(root))


def git_revision(path: Path) -> str | None:
    """HEAD of the git repository holding `path`, if any (recorded in the revision tag)."""
    from controller.commands.scoping import git

    sha = git(path if path.is_dir() else path.parent, "rev-parse", "HEAD")
    return sha if sha is not None and len(sha) == 40 else None
