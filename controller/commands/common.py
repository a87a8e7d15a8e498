"""Arguments and construction shared by the commands that talk to AWS."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from controller.aws.clients import AwsOptions, Clients
from controller.commands import argtypes
from controller.core.snapshots import Snapshot
from controller.deadlines import Deadline
from controller.errors import ControllerError
from controller.reconcile.reconciling import ReconcileOptions, Reconciler

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
        default=10.0,
        help="client-side cap on AWS API calls per second",
    )


def reconciler(args: argparse.Namespace, *, read_only: bool, **options: Any) -> Reconciler:
    aws = AwsOptions(
        region=args.region,
        profile=args.profile,
        read_only=read_only,
        calls_per_second=args.calls_per_second,
        deadline=Deadline(getattr(args, "timeout", None)),
    )
    return Reconciler(Clients(aws), ReconcileOptions(controller_id=args.controller_id, **options))


def load(rec: Reconciler, args: argparse.Namespace) -> Snapshot:
    root: Path = args.manifests
    if not root.exists():
        raise ControllerError(f"{root}: no such file or directory")
    return rec.load(root, args.revision or git_revision(root))


def git_revision(path: Path) -> str | None:
    """HEAD of the git repository holding `path`, if any (recorded in the revision tag)."""
    import subprocess

    folder = path if path.is_dir() else path.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and len(sha) == 40 else None
