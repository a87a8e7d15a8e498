"""`sagemaker-gitops demo`: the whole GitOps loop against a local sandbox, no AWS account.

Starts the sandbox in-process, seeds the Model Registry, then drives the real CLI: plan, apply,
approve a new version in the registry, bump the manifest (a copy: the repo stays untouched),
plan again, apply again, and show that a final plan is empty.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from controller.errors import ControllerError

DEMO_GROUP = "churn-xgb"


def run_demo(
    manifests: Path,
    seed: Path,
    *,
    transition_seconds: float,
    cli: Callable[[list[str]], int],
    say: Callable[[str], None] = print,
) -> int:
    try:
        from controller.sandbox import Sandbox
    except ImportError as e:
        raise ControllerError(
            "the demo needs the sandbox extra: pip install 'sagemaker-gitops[sandbox]'"
        ) from e

    for path in (manifests, seed):
        if not path.exists():
            raise ControllerError(f"{path}: not found (run the demo from the repository root)")
    with tempfile.TemporaryDirectory(prefix="sagemaker-gitops-demo-") as tmp:
        work = Path(tmp) / "manifests"
        shutil.copytree(manifests, work)
        with Sandbox(port=0, seed=seed, transition_seconds=transition_seconds) as sandbox:
            saved = dict(os.environ)
            os.environ.update(sandbox.env())
            try:
                return _story(work, sandbox, cli, say)
            finally:
                os.environ.clear()
                os.environ.update(saved)


def _story(
    work: Path, sandbox: Any, cli: Callable[[list[str]], int], say: Callable[[str], None]
) -> int:
    m = ["-m", str(work)]
    wait = [*m, "--poll-interval", "1"]
    say(f"== sandbox SageMaker at {sandbox.url}; manifests copied to {work}")
    steps = [
        ("1. plan: what would be created", ["plan", *m]),
        ("2. apply: create the endpoints and wait until InService", ["apply", *wait]),
        ("3. plan again: nothing to do", ["plan", *m, "--detailed-exitcode"]),
    ]
    if not _run_steps(steps, cli, say):
        return 1
    version = _approve_next(sandbox, DEMO_GROUP)
    say(f"\n== 4. a data scientist approves {DEMO_GROUP} v{version} in the Model Registry")
    steps = [
        (
            "5. promote: the pull request that bumps the manifest",
            ["promote", "--group", DEMO_GROUP, "--to", str(version), *m],
        ),
        ("6. plan: the rollout, field by field", ["plan", *m]),
        ("7. apply: UpdateEndpoint with the blue/green canary policy", ["apply", *wait]),
        ("8. status", ["status", *m]),
        ("9. plan: converged", ["plan", *m, "--detailed-exitcode"]),
    ]
    if not _run_steps(steps, cli, say):
        return 1
    calls = sandbox.calls()
    say(f"\n== done: {sum(calls.values())} SageMaker API calls served by the sandbox")
    return 0


def _run_steps(
    steps: list[tuple[str, list[str]]],
    cli: Callable[[list[str]], int],
    say: Callable[[str], None],
) -> bool:
    for title, argv in steps:
        say(f"\n== {title}\n$ sagemaker-gitops {' '.join(argv)}")
        code = cli(argv)
        if code != 0:
            say(f"demo step failed with exit code {code}")
            return False
    return True


def _approve_next(sandbox: Any, group: str) -> int:
    """Approve the lowest version of `group` that is not Approved yet; return its number."""
    env = sandbox.env()
    client = boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    pages = client.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group)
    pending = sorted(
        (s["ModelPackageVersion"], s["ModelPackageArn"])
        for page in pages
        for s in page["ModelPackageSummaryList"]
        if s.get("ModelApprovalStatus") != "Approved"
    )
    if not pending:
        raise ControllerError(f"the seed has no unapproved version of {group} to approve")
    version, arn = pending[0]
    client.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Approved",
        ApprovalDescription="offline metrics beat v1 (demo)",
    )
    return int(version)
