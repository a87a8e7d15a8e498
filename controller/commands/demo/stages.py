"""The demo's last part: a version walks staging -> prod, gated by staging's live metrics.

Uses `manifests/examples/stages` (a pipeline, a staging and a prod endpoint of `churn-xgb`) in a
copy of its own. The sandbox's synthesised CloudWatch metrics run 60 times faster than the clock,
so each analysis takes seconds. v2 (the default traffic profile) is verified in staging, recorded
in the registry and promoted to prod; v3 (whose seed profile has 8% 5XX errors and a slow p99)
fails staging's analysis, is refused for prod, and staging is rolled back by a manifest change.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

GROUP = "churn-xgb"
TIME_SCALE = 60
SCOPE = "demo/churn-pipeline"
Step = tuple[str, list[str], int]
"""(title, argv, the exit code the step must end with)."""


def stages_story(
    example: Path,
    tmp: Path,
    sandbox: Any,
    run_steps: Callable[[list[Step]], bool],
    say: Callable[[str], None],
    first_step: int,
) -> int:
    work = tmp / "stages"
    shutil.copytree(example, work)
    sandbox.set_traffic({"timeScale": TIME_SCALE})
    m = ["-m", str(work)]
    # A scope of its own: the coda hands these endpoints to `run --repo`, another tree.
    apply = ["apply", *m, "--poll-interval", "1", "--scope", SCOPE]
    verify = ["verify", "--stage", "staging", *m, "--record"]
    n = first_step
    say(
        f"\n== {n}. a pipeline: churn-xgb goes to staging, and to prod only once staging's live "
        f"metrics verified it ({work.name}/pipeline.yaml)"
    )
    steps: list[Step] = [
        (f"{n + 1}. apply staging and prod at v1", apply, 0),
        (
            f"{n + 2}. promote v2 to staging (the first stage: no gate)",
            ["promote", "--group", GROUP, "--to", "2", "--stage", "staging", *m],
            0,
        ),
        (f"{n + 3}. apply", apply, 0),
        (f"{n + 4}. verify staging on its CloudWatch metrics; record the verdict", verify, 0),
        (
            f"{n + 5}. promote v2 to prod: staging verified it",
            ["promote", "--group", GROUP, "--to", "2", "--stage", "prod", *m],
            0,
        ),
        (f"{n + 6}. apply", apply, 0),
        (
            f"{n + 7}. promote v3 to staging",
            ["promote", "--group", GROUP, "--to", "3", "--stage", "staging", *m],
            0,
        ),
        (f"{n + 8}. apply", apply, 0),
        (f"{n + 9}. verify staging: v3's errors and latency fail the analysis (exit 1)", verify, 1),
        (
            f"{n + 10}. promote v3 to prod: refused, staging recorded it Failed (exit 1)",
            ["promote", "--group", GROUP, "--to", "3", "--stage", "prod", *m],
            1,
        ),
        (
            f"{n + 11}. roll staging back to what it served before, as a manifest change",
            ["rollback", "churn-staging", *m],
            0,
        ),
        (f"{n + 12}. apply the rollback", apply, 0),
        (
            f"{n + 13}. status: the endpoints, and where the pipeline stands",
            ["status", *m, "--scope", SCOPE],
            0,
        ),
    ]
    return 0 if run_steps(steps) else 1


def sandbox_sagemaker(sandbox: Any) -> Any:
    """A SageMaker client of the sandbox's default account (for the demo's registry moves)."""
    import boto3

    env = sandbox.env()
    return boto3.client(
        "sagemaker",
        endpoint_url=sandbox.url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
