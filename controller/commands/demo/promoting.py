"""The demo's coda: the same pipeline, with nobody typing. `run --promote` follows a git
repository (a bare one in the demo's temporary directory), and a new version, v4, walks
staging -> prod by itself: the service commits the promotion into staging, applies it, measures
staging on its live metrics, records the verdict and commits the promotion into prod.

The pipeline here writes every promotion as a commit (`write: commit`): a pull request needs a
GitHub repository, which the demo does not have.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.commands.demo.stages import SCOPE, sandbox_sagemaker
from controller.errors import ControllerError

GROUP = "churn-xgb"
DEADLINE_SECONDS = 60.0
_GIT = ["git", "-c", "user.name=demo", "-c", "user.email=demo@example.com"]


def service_story(stages: Path, tmp: Path, sandbox: Any, say: Callable[[str], None], n: int) -> int:
    """Steps `n`.. of the demo; 0 when v4 reached prod by itself."""
    from controller.cli import build_parser
    from controller.commands.run import _config, build_runner

    bare, clone = tmp / "deploy.git", tmp / "deploy"
    _git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(stages, clone)
    _git(clone, "init", "--quiet", "--initial-branch=main")
    _git(clone, "add", "--all")
    _git(clone, "commit", "--quiet", "-m", "the pipeline as the last steps left it")
    _git(clone, "push", "--quiet", str(bare), "HEAD:refs/heads/main")
    version = _register(sandbox)
    say(
        f"\n== {n}. the same, by itself: v{version} is registered and approved, and "
        "`run --promote` follows the repository\n"
        f"$ sagemaker-gitops run --repo {bare.name} --scope {SCOPE} --promote"
    )
    args = build_parser().parse_args(
        [
            "run",
            "--repo",
            str(bare),
            "--workdir",
            str(tmp / "service"),
            "--promote",
            "--promote-interval",
            "0.5",
            "--poll-interval",
            "0.5",
            "--requeue-interval",
            "0.5",
            "--http-port",
            "0",
            "--scope",
            SCOPE,
        ]
    )
    runner = build_runner(args, _config(args))
    runner.start()
    try:
        done = _wait(lambda: f"promote(prod): {GROUP} v2 -> v{version}" in _log(bare))
        # ... and the service has loaded that commit: prod pins v4 in its view too.
        done = done and _wait(lambda: _pins(runner.status(), "prod") == [version])
        status = runner.status().get("promotion", {})
    finally:
        runner.stop(10)
    say(f"\n== {n + 1}. what the service pushed (git log, newest first)")
    for line in _git(bare, "log", "--format=%h %s", "main").splitlines():
        say(f"  {line}")
    say(f"\n== {n + 2}. where the pipeline stands (/status)")
    for pipeline in status.get("pipelines", []):
        for stage in pipeline.get("stages", []):
            versions = "/".join(f"v{v}" for v in stage.get("versions", []))
            say(f"  {stage['stage']:<8} {versions:<4} {stage.get('verdict') or '-'}")
    if not done:
        say(f"v{version} did not reach prod within {DEADLINE_SECONDS:.0f} s")
        return 1
    return 0


def _register(sandbox: Any) -> int:
    """A new, Approved version of the group (the default traffic profile: it behaves)."""
    made = sandbox_sagemaker(sandbox).create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",
                    "ModelDataUrl": "s3://models/churn/4/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    return int(str(made["ModelPackageArn"]).rsplit("/", 1)[1])


def _wait(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def _log(bare: Path) -> list[str]:
    return _git(bare, "log", "--format=%s", "main").splitlines()


def _pins(status: dict[str, Any], stage: str) -> list[int]:
    for pipeline in status.get("promotion", {}).get("pipelines", []):
        for view in pipeline.get("stages", []):
            if view.get("stage") == stage:
                return list(view.get("versions", []))
    return []


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            [*_GIT, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise ControllerError(f"demo: git {args[0]} failed: {e}") from e
    return done.stdout
