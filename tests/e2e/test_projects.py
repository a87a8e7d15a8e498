"""Projects end to end (docs/projects.md): which team may deploy what, where.

One sandbox for the module with three target accounts (staging 222222222222, prod 333333333333,
and 999988887777 that no allowed Target names); each test writes its own manifest tree (so its
own prune scope) and uses endpoint names of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.sandbox import Sandbox
from tests.e2e.conftest import IMAGE, World
from tests.e2e.test_targets import endpoints_in, sagemaker_in, target

STAGING, PROD, ROGUE = "222222222222", "333333333333", "999988887777"
ACCOUNTS = {"staging": STAGING, "prod": PROD, "prod-west": PROD}
CONFIG = """\
targets:
  paths: ["platform/targets/**"]
projects:
  - name: fraud
    paths: ["teams/fraud/**"]
    targets: [staging, prod]
    instanceTypes: ["ml.m5.*"]
    maxInstancesPerVariant: 8
    namePrefix: "fraud-"
    prune: true
  - name: churn
    paths: ["teams/churn/**"]
    targets: [staging, prod]
    prune: false
"""


def endpoint(name: str, where: str, capacity: str = "instanceType: ml.m5.large") -> str:
    account = ACCOUNTS.get(where, ROGUE)
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  target: {where}\n"
        f"  executionRoleArn: arn:aws:iam::{account}:role/SageMakerExecution\n"
        f"  variants:\n    - name: main\n      model: {{image: {IMAGE}}}\n"
        f"      {capacity}\n      initialInstanceCount: 1\n"
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(transition_seconds=0.0) as running, pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith("AWS_"):
                patch.delenv(key)
        for key, value in running.env().items():
            patch.setenv(key, value)
        yield running


@pytest.fixture
def platform(sandbox: Sandbox, tmp_path: Path, capsys: Any, monkeypatch: Any) -> World:
    root = tmp_path / "manifests"
    root.mkdir()
    monkeypatch.chdir(root)  # diagnostics name files relative to the current directory
    world = World(sandbox, root, capsys)
    world.write(".sagemaker-gitops.yaml", CONFIG)
    world.write("platform/targets/staging.yaml", target("staging", STAGING, "us-east-1"))
    world.write("platform/targets/prod.yaml", target("prod", PROD, "us-east-1"))
    world.write("platform/targets/prod-west.yaml", target("prod-west", PROD, "us-west-2"))
    return world


def assumed_accounts(world: World) -> set[str]:
    return {r["RoleArn"].split(":")[4] for r in world.recorded("AssumeRole")}


def test_targets_outside_targets_paths_are_never_used(platform: World) -> None:
    # A team folder declares a Target for an account of its own and a second `prod` pointing
    # there too: neither is used, and the real prod keeps reconciling.
    platform.write("teams/churn/targets.yaml", target("prod", ROGUE, "us-east-1"))
    platform.write("teams/churn/mine.yaml", target("mine", ROGUE, "us-east-1"))
    platform.write("teams/churn/to-prod.yaml", endpoint("churn-prod", "prod"))
    platform.write("teams/churn/to-mine.yaml", endpoint("churn-mine", "mine"))

    result = platform.apply()

    assert result.code == 1
    assert "teams/churn/targets.yaml:4: kind: target 'prod' is declared outside" in result.err
    assert "teams/churn/mine.yaml:4: kind: target 'mine' is declared outside" in result.err
    assert "churn-prod" in endpoints_in(platform, PROD)
    assert "prod/churn-prod: converged" in result.out
    assert ROGUE not in assumed_accounts(platform)  # not one call reached its account
    assert endpoints_in(platform, PROD) == ["churn-prod"]


def test_an_endpoint_breaking_its_projects_rules_is_refused_and_others_go_on(
    platform: World,
) -> None:
    platform.write("teams/fraud/ok.yaml", endpoint("fraud-ok", "staging"))
    platform.write("teams/fraud/west.yaml", endpoint("fraud-west", "prod-west"))
    platform.write(
        "teams/fraud/big.yaml", endpoint("fraud-big", "staging", "instanceType: ml.p5.48xlarge")
    )
    many = "instanceType: ml.m5.large\n      autoscaling: {minCapacity: 1, maxCapacity: 9}"
    platform.write("teams/fraud/many.yaml", endpoint("fraud-many", "staging", many))
    platform.write("teams/fraud/named.yaml", endpoint("payments-x", "staging"))
    platform.write("elsewhere/stray.yaml", endpoint("stray", "staging"))
    expected = [
        "teams/fraud/west.yaml:5: spec.target: project 'fraud' may not use target 'prod-west'",
        "teams/fraud/big.yaml:10: spec.variants[0].instanceType: project 'fraud' may not use "
        "ml.p5.48xlarge",
        "teams/fraud/many.yaml:11: spec.variants[0].autoscaling.maxCapacity: 9 instances is over "
        "the maxInstancesPerVariant 8 of project 'fraud'",
        "teams/fraud/named.yaml:3: metadata.name: project 'fraud' may only own endpoints named "
        "fraud-*",
        "elsewhere/stray.yaml:3: metadata.name: elsewhere/stray.yaml is in no project's paths",
    ]

    offline = platform.cli("validate", ".")
    result = platform.apply()

    assert offline.code == 1 and result.code == 1
    for error in expected:
        assert error in offline.err and error in result.err, error
    assert endpoints_in(platform, STAGING).count("fraud-ok") == 1
    refused = {"fraud-west", "fraud-big", "fraud-many", "payments-x", "stray"}
    everywhere = {*endpoints_in(platform, STAGING), *endpoints_in(platform, PROD, "us-west-2")}
    assert not refused & everywhere
    plan = json.loads(platform.plan("--format", "json").out)
    assert [(e["name"], e.get("project")) for e in plan["endpoints"]] == [("fraud-ok", "fraud")]
    status = json.loads(platform.cli("status", "-m", ".", "--output", "json").out)
    assert [(e["endpoint"], e["project"]) for e in status["endpoints"]] == [("fraud-ok", "fraud")]


def test_removed_manifests_are_pruned_only_in_projects_that_allow_it(platform: World) -> None:
    fraud = platform.write("teams/fraud/gone.yaml", endpoint("fraud-gone", "staging"))
    churn = platform.write("teams/churn/kept.yaml", endpoint("churn-kept", "staging"))
    platform.write("teams/fraud/stays.yaml", endpoint("fraud-stays", "staging"))
    assert platform.apply().code == 0
    fraud.unlink()
    churn.unlink()

    plan = json.loads(platform.plan("--prune", "--format", "json").out)
    result = platform.apply("--prune")

    assert {e["name"]: e.get("project") for e in plan["endpoints"]} == {
        "churn-kept": "churn",
        "fraud-gone": "fraud",
        "fraud-stays": "fraud",
    }
    # Held back like any guarded delete: the account still differs from git (exit 3, not green).
    assert result.code == 3, result.err
    assert "churn-kept: delete held back (project 'churn' has prune: false)" in result.out
    live = endpoints_in(platform, STAGING)
    assert "churn-kept" in live and "fraud-gone" not in live
    # A refused manifest counts as present: its endpoint is left as it is, never pruned.
    refused = endpoint("fraud-stays", "staging", "instanceType: ml.p5.48xlarge")
    platform.write("teams/fraud/stays.yaml", refused)
    result = platform.apply("--prune")
    assert result.code == 1 and "may not use ml.p5.48xlarge" in result.err
    assert "fraud-stays" in endpoints_in(platform, STAGING)


def test_a_repo_config_that_does_not_load_stops_before_any_call(platform: World) -> None:
    platform.write(".sagemaker-gitops.yaml", CONFIG.replace("    prune: false", "    prun: false"))
    platform.write("teams/churn/x.yaml", endpoint("churn-x", "staging"))

    results = []

    calls = platform.calls_during(lambda: results.append(platform.apply()))

    assert calls == {}
    assert results[0].code == 1
    assert ".sagemaker-gitops.yaml:14: projects[1].prun:" in results[0].err


def test_one_file_below_a_root_with_projects_is_refused_before_any_call(
    platform: World,
) -> None:
    # Loaded alone, its folder would be the root: no config, so no restrictions at all.
    platform.write("teams/churn/x.yaml", endpoint("churn-alone", "staging"))
    results = []

    calls = platform.calls_during(
        lambda: results.append(platform.cli("apply", "-m", "teams/churn/x.yaml"))
    )

    assert calls == {}
    assert results[0].code == 1
    assert "apply only when -m is the manifest root; run with -m" in results[0].err


def test_a_pull_request_changing_the_repo_config_is_called_out_as_high_risk(
    platform: World,
) -> None:
    from tests.e2e.test_changed_first import git

    platform.write("teams/fraud/a.yaml", endpoint("fraud-pr", "staging"))
    repo = platform.root.parent
    git(repo, "init", "-q")
    git(repo, "add", "manifests")
    git(repo, "commit", "-qm", "base")
    unchanged = platform.plan("--format", "markdown")
    git(repo, "checkout", "-qb", "pr")
    looser = CONFIG.replace('instanceTypes: ["ml.m5.*"]', 'instanceTypes: ["ml.*"]')
    platform.write(
        ".sagemaker-gitops.yaml", looser + "  - name: vision\n    paths: [teams/vision/**]\n"
    )
    git(repo, "commit", "-qam", "let fraud use any instance; add vision")

    markdown = platform.plan("--format", "markdown").out
    text = platform.plan().out
    doc = json.loads(platform.plan("--format", "json").out)

    assert "High risk" not in unchanged.out
    assert "⚠️ **High risk: the repository config (.sagemaker-gitops.yaml) changes" in markdown
    assert "- project fraud: instanceTypes changed" in markdown
    assert "- project vision: added" in markdown
    assert text.startswith("! the repository config (.sagemaker-gitops.yaml) changes")
    assert doc["config_changes"] == [
        "project vision: added",
        "project fraud: instanceTypes changed",
    ]


def test_an_endpoint_belongs_to_its_project_and_another_project_cannot_take_it(
    platform: World,
) -> None:
    platform.write("teams/fraud/owned.yaml", endpoint("fraud-owned", "staging"))
    assert platform.apply().code == 0
    staging = sagemaker_in(platform, STAGING, "us-east-1")
    arn = staging.describe_endpoint(EndpointName="fraud-owned")["EndpointArn"]
    tags = staging.list_tags(ResourceArn=arn)["Tags"]
    assert {"Key": "sagemaker-gitops/project", "Value": "fraud"} in tags

    # Moving the manifest within its project is not a takeover: nothing to change.
    (platform.root / "teams/fraud/owned.yaml").unlink()
    platform.write("teams/fraud/scoring/owned.yaml", endpoint("fraud-owned", "staging"))
    moved = platform.plan("--detailed-exitcode")
    # Another project's manifest naming the endpoint is a conflict: the endpoint is untouched.
    (platform.root / "teams/fraud/scoring/owned.yaml").unlink()
    taker = endpoint("fraud-owned", "staging", "instanceType: ml.m5.xlarge")
    platform.write("teams/churn/owned.yaml", taker)
    conflict_mutations = platform.mutations_during(lambda: platform.apply())
    conflict = platform.plan()
    # Unless it says it takes the endpoint over, which the plan shows as high risk.
    platform.write("teams/churn/owned.yaml", taker.replace("spec:\n", "spec:\n  adopt: true\n"))
    adopted = platform.plan()
    assert platform.apply().code == 0

    assert moved.code == 0, moved.out
    assert conflict_mutations == {}
    assert (
        "endpoint fraud-owned belongs to project 'fraud' (sagemaker-gitops/project), not to "
        in (conflict.out)
    )
    assert "project 'churn' of teams/churn/owned.yaml" in conflict.out
    assert "[risk: high]" in adopted.out and "(Adopt)" in adopted.out
    tags = staging.list_tags(ResourceArn=arn)["Tags"]
    assert {"Key": "sagemaker-gitops/project", "Value": "churn"} in tags


PRICED = (
    CONFIG.replace(
        '    namePrefix: "fraud-"\n', '    namePrefix: "fraud-"\n    maxHourlyCost: 1.0\n'
    )
    + "prices:\n  currency: USD\n  hourly: {ml.m5.large: 0.115, ml.m5.xlarge: 0.23}\n"
)


def test_a_project_over_its_hourly_cost_is_refused_and_plans_show_the_cost(
    platform: World,
) -> None:
    platform.write(".sagemaker-gitops.yaml", PRICED)
    platform.write("teams/fraud/small.yaml", endpoint("fraud-small", "staging"))
    created = platform.plan()
    assert platform.apply().code == 0
    two = endpoint("fraud-small", "staging").replace(
        "initialInstanceCount: 1", "initialInstanceCount: 2"
    )
    platform.write("teams/fraud/small.yaml", two)
    doubled = json.loads(platform.plan("--format", "json").out)
    # 2 x 0.115 + 7 x 0.115 = 1.035 > 1.0: every endpoint of the project is refused.
    seven = endpoint("fraud-big", "staging").replace(
        "initialInstanceCount: 1", "initialInstanceCount: 7"
    )
    platform.write("teams/fraud/big.yaml", seven)
    over = platform.mutations_during(lambda: platform.apply())
    refused = platform.plan()
    platform.write(
        "teams/fraud/big.yaml", endpoint("fraud-big", "staging", "instanceType: ml.c5.large")
    )
    unpriced = platform.plan()

    assert "cost: at most 0.00 -> 0.12 USD/h (+0.12)" in created.out
    [small] = [e for e in doubled["endpoints"] if e["name"] == "fraud-small"]
    assert small["hourly_cost"] == {"before": 0.115, "after": 0.23, "currency": "USD"}
    assert over == {}  # neither endpoint changed, nothing created
    assert (
        "project 'fraud' may cost 1.04 USD/h at most (fraud-big 0.81, fraud-small 0.23), over its "
        "maxHourlyCost 1.00 USD/h"
    ) in refused.out
    assert "no price for ml.c5.large in prices.hourly, and project 'fraud' has a maxHourlyCost" in (
        unpriced.out
    )
