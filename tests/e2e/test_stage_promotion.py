"""`run --promote` end to end: the real service follows a local bare repository, verifies each
stage on the sandbox's synthesised CloudWatch metrics, records verdicts in the shared registry,
pushes promotion commits and opens the prod pull request on a loopback GitHub fake.

Three stages in two accounts: dev and staging in 222222222222, prod in 333333333333, the
registry in 111111111111. v1 and v2 behave; v3 has a 20% error rate and is approved mid-test.
Metrics run 60 times faster than the clock, so a 1-second interval holds a minute of traffic.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from controller.sandbox import Sandbox
from tests.e2e.conftest import IMAGE, World
from tests.e2e.forgefakes import FakeGitHub, fake_github
from tests.e2e.test_service import eventually
from tests.e2e.test_stage_verify import allow_stages_to_record
from tests.e2e.test_targets import (
    GROUP_ARN,
    PROD,
    REGISTRY,
    STAGING,
    endpoint,
    sagemaker_in,
    target,
)
from tests.service.test_gitsource import git

GOOD = {"image": IMAGE, "modelDataUrl": "s3://models/churn/1.tar.gz", "approval": "Approved"}


def churn_seed(bad_traffic: dict[str, Any]) -> dict[str, Any]:
    """The shared registry's `churn`: v1 and v2 behave, v3 (pending approval) has `bad_traffic`."""
    return {
        "modelPackageGroups": [
            {
                "name": "churn",
                "account": REGISTRY,
                "shareWith": [STAGING, PROD],
                "versions": [
                    GOOD,
                    {**GOOD, "modelDataUrl": "s3://models/churn/2.tar.gz"},
                    {
                        **GOOD,
                        "modelDataUrl": "s3://models/churn/3.tar.gz",
                        "approval": "PendingManualApproval",
                        "traffic": bad_traffic,
                    },
                ],
            }
        ]
    }


SEED = churn_seed({"error5xxRate": 0.2})
CHECKS = "metrics: [{name: errors, errorRate: {}, max: 0.05}]"
PIPELINE = f"""apiVersion: sagemaker-gitops/v1
kind: Pipeline
metadata: {{name: churn}}
spec:
  packageGroups: ["{GROUP_ARN}"]
  stages:
    - name: dev
      endpoints: {{targets: [dev]}}
      autoRollback: true
      verification: {{interval: 1s, count: 2, initialDelay: 1s, {CHECKS}}}
    - name: staging
      endpoints: {{targets: [staging]}}
      verification: {{interval: 1s, count: 3, initialDelay: 1s, {CHECKS}}}
    - name: prod
      endpoints: {{targets: [prod]}}
      autoPromote: true   # a prod target is not auto-promoted unless the stage says so
      write: pullRequest
      verification: {{interval: 1s, count: 1, minInvocations: 1000000000, {CHECKS}}}
"""
FILES = {
    "targets/dev.yaml": target("dev", STAGING, "us-east-1"),
    "targets/staging.yaml": target("staging", STAGING, "us-east-1"),
    "targets/prod.yaml": target("prod", PROD, "us-east-1"),
    "dev/churn.yaml": "# dev follows the newest approved version\n"
    + endpoint("churn-dev", "staging").replace("target: staging", "target: dev"),
    "staging/churn.yaml": endpoint("churn", "staging"),
    "prod/churn.yaml": endpoint("churn", "prod"),
    "pipeline.yaml": PIPELINE,
}
TOKEN = "ghp_promotion_test_token"


class Pipeline:
    def __init__(self, world: World, bare: Path, github: FakeGitHub, workdir: Path) -> None:
        self.world, self.bare, self.github, self.workdir = world, bare, github, workdir
        self.registry = sagemaker_in(world, REGISTRY)

    def log(self) -> list[str]:
        return git(self.bare, "log", "--format=%s", "main").splitlines()

    def pinned(self, path: str) -> str:
        return git(self.bare, "show", f"main:{path}")

    def verdict(self, version: int, stage: str) -> str:
        arn = GROUP_ARN.replace(":model-package-group/", ":model-package/") + f"/{version}"
        described = self.registry.describe_model_package(ModelPackageName=arn)
        return str(
            described.get("CustomerMetadataProperties", {}).get(
                f"sagemaker-gitops/stage/{stage}", ""
            )
        )

    @contextmanager
    def service(self, workdir: str, *extra: str) -> Iterator[Any]:
        argv = [
            "run",
            "--repo",
            str(self.bare),
            "--workdir",
            str(self.workdir / workdir),
            "--promote",
            "--promote-interval",
            "0.2",
            "--poll-interval",
            "0.2",
            "--requeue-interval",
            "0.2",
            "--resync-interval",
            "60",
            "--http-port",
            "0",
            "--shutdown-timeout",
            "5",
            "--github-api-url",
            self.github.url,
            "--github-repo",
            "org/deploy",
            *extra,
        ]
        args = build_parser().parse_args(argv)
        runner = build_runner(args, _config(args))
        runner.start()
        try:
            assert runner.wait_ready(20), runner.status()
            yield runner
        finally:
            assert runner.stop(10)


@contextmanager
def promotion_world(
    tmp: Path, seed: dict[str, Any], files: dict[str, str], token: str = TOKEN
) -> Iterator[Pipeline]:
    """A sandbox (metrics 60 times faster), a GitHub fake, and a bare repository holding
    `files` in one commit; the shared registry lets the stage accounts record verdicts."""
    with pytest.MonkeyPatch.context() as env:
        for key in list(os.environ):
            if key.startswith("AWS_"):
                env.delenv(key)
        env.setenv("GITHUB_TOKEN", token)
        with Sandbox(transition_seconds=0.0, seed=seed) as sandbox, fake_github(token=token) as gh:
            sandbox.set_traffic({"timeScale": 60})
            for key, value in sandbox.env().items():
                env.setenv(key, value)
            human, bare = tmp / "human", tmp / "origin.git"
            git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
            git(tmp, "clone", "--quiet", str(bare), str(human))
            git(human, "checkout", "--quiet", "-B", "main")
            for name, text in files.items():
                (human / name).parent.mkdir(parents=True, exist_ok=True)
                (human / name).write_text(text)
            git(human, "add", "--all")
            git(human, "commit", "--quiet", "-m", "initial")
            git(human, "push", "--quiet", "origin", "HEAD:refs/heads/main")
            world = World(sandbox, human, None)
            allow_stages_to_record(world)
            yield Pipeline(world, bare, gh, tmp)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with promotion_world(tmp_path_factory.mktemp("promotion"), SEED, FILES) as world:
        yield world


def test_a_version_walks_to_prod_a_bad_one_is_held_and_two_replicas_promote_once(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    # Replica one: deploys every stage on v1, verifies them, and moves v2 (the newest Approved
    # version) into dev. It stops while staging measures v2.
    with p.service("one"):
        eventually(
            lambda: p.verdict(2, "staging").startswith("Verifying"), 90, "staging measures v2"
        )
    started = datetime.fromisoformat(p.verdict(2, "staging").split()[1].replace("Z", "+00:00"))
    assert p.log() == [
        "promote(staging): churn v1 -> v2",
        "promote(dev): churn v1 -> v2",
        "initial",
    ]
    assert p.verdict(2, "dev").startswith("Verified")
    # Too little traffic is never a pass: prod's v1 (minInvocations of a billion) is Inconclusive.
    assert p.verdict(1, "prod").startswith("Inconclusive")

    # Replica two takes staging's verification up where it stood (the start is in the registry)
    # and opens the prod pull request, with staging's evidence, exactly once.
    with p.service("two") as runner:
        eventually(lambda: p.github.pulls, 60, "the prod pull request")
        verified = p.verdict(2, "staging").split()
        assert verified[0] == "Verified"
        # Measured on the schedule replica one started: initialDelay 1s, then 3 x 1s.
        assert verified[1] == (started + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        time.sleep(1.0)  # more passes: nothing more is written
        status = runner.status()["promotion"]
    assert len(p.github.pulls) == 1
    pull = p.github.pulls[0]
    assert pull["head"]["ref"] == "sagemaker-gitops/churn/prod/promote-v2"
    assert pull["title"] == "promote(prod): churn v1 -> v2"
    assert "verified in staging" in pull["body"] and "Verified" in pull["body"]
    assert p.log() == [
        "promote(staging): churn v1 -> v2",
        "promote(dev): churn v1 -> v2",
        "initial",
    ]
    assert "version: 1" in p.pinned("prod/churn.yaml")  # prod moves when a human merges
    stages = {s["stage"]: s for s in status["pipelines"][0]["stages"]}
    assert (
        stages["prod"]["lastWrite"].startswith("inFlight") or "pull" in stages["prod"]["lastWrite"]
    )
    assert stages["staging"]["verdict"].startswith("Verified")

    # v3 is approved: dev takes it, its analysis fails, it is held, and dev is reverted to v2.
    p.registry.update_model_package(
        ModelPackageArn=GROUP_ARN.replace(":model-package-group/", ":model-package/") + "/3",
        ModelApprovalStatus="Approved",
    )
    with p.service("two") as runner:
        eventually(lambda: "revert(dev): churn v3 -> v2" in p.log(), 90, "dev's revert")
        time.sleep(1.0)
        status = runner.status()["promotion"]
        url = f"http://127.0.0.1:{runner.http_port}/"
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
    # The status page shows the pipeline, stages as columns, and the hold.
    assert "<caption>churn &middot; churn</caption>" in page
    assert '<th scope="col">dev</th><th scope="col">staging</th><th scope="col">prod</th>' in page
    assert "v3 is held" in page
    assert p.log()[:3] == [
        "revert(dev): churn v3 -> v2",
        "promote(dev): churn v2 -> v3",
        "promote(staging): churn v1 -> v2",
    ]
    assert p.verdict(3, "dev").startswith("Failed")
    assert p.verdict(3, "staging") == ""  # never reached staging
    assert "version: 2" in p.pinned("staging/churn.yaml")
    assert p.pinned("dev/churn.yaml").startswith("# dev follows the newest approved version\n")
    stages = {s["stage"]: s for s in status["pipelines"][0]["stages"]}
    assert "v3 is held" in stages["dev"]["nextPromotion"]

    # Each stage was measured in its own account, through its target's role.
    by_account = p.world.sandbox.calls_by_account()
    assert by_account[STAGING]["GetMetricData"] >= 2 + 3 + 2
    assert by_account[PROD]["GetMetricData"] >= 1
    assert "GetMetricData" not in by_account.get(REGISTRY, {})
    assert json.dumps(status)  # /status's promotion section is JSON

    two_replicas_never_both_promote(p)


def two_replicas_never_both_promote(p: Pipeline) -> None:
    """Two replicas behind one lease follow the same branch: a new good version (v4) reaches
    staging with one commit per stage, written by whichever replica holds the lease."""
    p.registry.create_model_package(
        ModelPackageGroupName="churn",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://models/churn/4.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    ha = ("--lease-table", "sagemaker-gitops-leases", "--lease-duration", "2")
    with p.service("a", *ha) as a, p.service("b", *ha) as b:
        eventually(lambda: "promote(staging): churn v2 -> v4" in p.log(), 90, "v4 in staging")
        time.sleep(1.0)
        states = [a.status()["promotion"]["state"], b.status()["promotion"]["state"]]
    log = p.log()
    assert log.count("promote(dev): churn v2 -> v4") == 1
    assert log.count("promote(staging): churn v2 -> v4") == 1
    assert log[:2] == ["promote(staging): churn v2 -> v4", "promote(dev): churn v2 -> v4"]
    assert sum(s.startswith("not leading") for s in states) == 1, states
    assert len(p.github.pulls) == 1  # prod's v2 pull request is still the one in flight
