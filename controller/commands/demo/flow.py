"""`sagemaker-gitops demo`: the whole GitOps loop against a local sandbox, no AWS account.

Starts the sandbox in-process, seeds the Model Registry, then drives the real CLI: plan, apply,
approve a new version in the registry, bump the manifest (a copy: the repo stays untouched),
plan again, apply again, and show that a final plan is empty. The inference-component example
(two models sharing one GPU endpoint) is applied with the endpoints, its components shown as rows
of their own; at the end one component's copy count changes, which is an
UpdateInferenceComponentRuntimeConfig and nothing else. Last, a pipeline (`stages`): a version
verified on staging's live metrics goes to prod, a bad one is stopped and rolled back.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from controller.commands.demo.promoting import service_story
from controller.commands.demo.stages import sandbox_sagemaker, stages_story
from controller.errors import ControllerError
from controller.manifests import yamlpos

DEMO_GROUP = "churn-xgb"


def run_demo(
    manifests: Path,
    seed: Path,
    components: Path,
    stages: Path,
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

    for path in (manifests, seed, components, stages):
        if not path.exists():
            raise ControllerError(f"{path}: not found (run the demo from the repository root)")
    with tempfile.TemporaryDirectory(prefix="sagemaker-gitops-demo-") as tmp:
        work = Path(tmp) / "manifests"
        shutil.copytree(manifests, work)
        shutil.copy(components, work / components.name)
        with Sandbox(port=0, seed=seed, transition_seconds=transition_seconds) as sandbox:
            saved = dict(os.environ)
            os.environ.update(sandbox.env())
            try:
                if _story(work, sandbox, cli, say) != 0:
                    return 1
                if _components_story(work, work / components.name, cli, say) != 0:
                    return 1
                steps = functools.partial(_run_steps, cli=cli, say=say)
                if stages_story(stages, Path(tmp), sandbox, steps, say, 13) != 0:
                    return 1
                if service_story(Path(tmp) / "stages", Path(tmp), sandbox, say, 27) != 0:
                    return 1
                calls = sandbox.calls()
                say(f"\n== done: {sum(calls.values())} AWS API calls served by the sandbox")
                return 0
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
        (
            "2. apply: create the endpoints (and inference components), wait until InService",
            ["apply", *wait],
        ),
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
    return 0 if _run_steps(steps, cli, say) else 1


def _components_story(
    work: Path,
    manifest: Path,
    cli: Callable[[list[str]], int],
    say: Callable[[str], None],
) -> int:
    """A copy count alone changes with one UpdateInferenceComponentRuntimeConfig."""
    m = ["-m", str(work)]
    name, before, after = _add_a_copy(manifest)
    say(f"\n== 10. inference component {name}: copies {before} -> {after} in {manifest.name}")
    steps = [
        ("11. plan: a copy count alone is UpdateInferenceComponentRuntimeConfig", ["plan", *m]),
        ("12. apply", ["apply", *m, "--poll-interval", "1"]),
    ]
    return 0 if _run_steps(steps, cli, say) else 1


def _add_a_copy(manifest: Path) -> tuple[str, int, int]:
    """Add one copy to the first component whose copy count no autoscaling owns (an autoscaled
    count is never reset, so changing it would show nothing); edit that one line in place."""
    text = manifest.read_text()
    documents, _ = yamlpos.parse(text)
    document = documents[0]
    components = document.data["spec"]["inferenceComponents"]
    index = next((i for i, c in enumerate(components) if not c.get("autoscaling")), None)
    if index is None:
        raise ControllerError(f"{manifest}: every inference component is autoscaled")
    component = components[index]
    before = int(component.get("copies", 1))
    line = yamlpos.line_of(document.node, ("spec", "inferenceComponents", index, "copies"))
    lines = text.splitlines(keepends=True)
    if "copies:" not in lines[line - 1]:
        raise ControllerError(f"{manifest}:{line}: expected the copies of {component['name']}")
    lines[line - 1] = lines[line - 1].replace(f"copies: {before}", f"copies: {before + 1}", 1)
    manifest.write_text("".join(lines))
    return str(component["name"]), before, before + 1


def _run_steps(
    steps: Sequence[tuple[str, list[str]] | tuple[str, list[str], int]],
    cli: Callable[[list[str]], int],
    say: Callable[[str], None],
) -> bool:
    """Run each step; a step ends with exit code 0 unless it names the code it must end with
    (a refusal the demo shows on purpose)."""
    for step in steps:
        title, argv = step[0], step[1]
        expected = step[2] if len(step) == 3 else 0
        say(f"\n== {title}\n$ sagemaker-gitops {' '.join(argv)}")
        code = cli(argv)
        if code != expected:
            say(f"demo step ended with exit code {code}, expected {expected}")
            return False
    return True


def _approve_next(sandbox: Any, group: str) -> int:
    """Approve the lowest version of `group` that is not Approved yet; return its number."""
    client = sandbox_sagemaker(sandbox)
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
