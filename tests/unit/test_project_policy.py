"""`projects:` and `targets.paths` (controller.manifests.projects): loading refuses what breaks
them, with file, line and path; without projects nothing changes."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.manifests.loading import load_manifests
from controller.manifests.projects import globs

IMAGE = "x.dkr.ecr.us-east-1.amazonaws.com/m:1"
CONFIG = """\
targets:
  paths: ["platform/targets/**"]
projects:
  - name: fraud
    paths: ["teams/fraud/**"]
    targets: [staging, "prod-*"]
    regions: [us-east-1]
    instanceTypes: ["ml.m5.*"]
    maxInstancesPerVariant: 4
    maxEndpoints: 3
    namePrefix: "fraud-"
  - name: churn
    paths: ["teams/churn/**"]
    targets: [staging]
"""


def target(name: str, account: str = "222222222222") -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Target\n"
        f"metadata: {{name: {name}}}\n"
        f"spec: {{accountId: '{account}', region: us-east-1}}\n"
    )


def endpoint(name: str, where: str = "target: staging", capacity: str = "") -> str:
    capacity = capacity or "instanceType: ml.m5.xlarge, initialInstanceCount: 1"
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec:\n  {where}\n"
        "  executionRoleArn: arn:aws:iam::222222222222:role/SageMakerExecution\n"
        f"  variants:\n    - {{name: main, model: {{image: '{IMAGE}'}}, {capacity}}}\n"
    )


def tree(root: Path, files: dict[str, str], config: str | None = CONFIG) -> Path:
    if config is not None:
        (root / ".sagemaker-gitops.yaml").write_text(config)
    files = {
        "platform/targets/staging.yaml": target("staging"),
        "platform/targets/prod.yaml": target("prod-us-east-1", "333333333333"),
        "platform/targets/west.yaml": target("west", "333333333333"),
        **files,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def errors(root: Path) -> list[str]:
    return [
        f"{Path(d.file).name}:{d.line}: {d.path}: {d.message}"
        for d in load_manifests([root]).diagnostics
    ]


def test_endpoints_within_their_project_load_with_their_project(tmp_path: Path) -> None:
    root = tree(
        tmp_path, {"teams/fraud/a.yaml": endpoint("fraud-a"), "teams/churn/b.yaml": endpoint("b")}
    )
    result = load_manifests([root])
    assert result.diagnostics == []
    assert sorted(m.manifest.metadata.name for m in result.manifests) == ["b", "fraud-a"]
    assert result.projects == {"teams/fraud/a.yaml": "fraud", "teams/churn/b.yaml": "churn"}


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            endpoint("fraud-a", "target: west"),
            "a.yaml:5: spec.target: project 'fraud' may not use target 'west'",
        ),
        (
            endpoint("fraud-a", "region: eu-west-1"),
            "a.yaml:5: spec.region: project 'fraud' may not deploy to region 'eu-west-1'",
        ),
        (
            endpoint(
                "fraud-a",
                "region: us-east-1",
                "instanceType: ml.p5.48xlarge, initialInstanceCount: 1",
            ),
            "spec.variants[0].instanceType: project 'fraud' may not use ml.p5.48xlarge",
        ),
        (
            endpoint("fraud-a", capacity="instanceType: ml.m5.large, initialInstanceCount: 5"),
            "spec.variants[0].initialInstanceCount: 5 instances is over the "
            "maxInstancesPerVariant 4 of project 'fraud'",
        ),
        (
            endpoint("churn-a"),
            "a.yaml:3: metadata.name: project 'fraud' may only own endpoints named fraud-*",
        ),
    ],
)
def test_an_endpoint_breaking_its_projects_rules_is_refused_alone(
    tmp_path: Path, manifest: str, expected: str
) -> None:
    root = tree(
        tmp_path, {"teams/fraud/a.yaml": manifest, "teams/fraud/ok.yaml": endpoint("fraud-ok")}
    )
    result = load_manifests([root])
    found = errors(root)
    assert len(found) == 1 and expected in found[0], found
    assert [m.manifest.metadata.name for m in result.manifests] == ["fraud-ok"]


def test_a_manifest_outside_every_project_is_refused(tmp_path: Path) -> None:
    root = tree(tmp_path, {"elsewhere/x.yaml": endpoint("x")})
    assert load_manifests([root]).manifests == []
    assert errors(root) == [
        "x.yaml:3: metadata.name: elsewhere/x.yaml is in no project's paths "
        "(projects: fraud, churn); it is not deployed"
    ]


def test_a_duplicate_target_outside_targets_paths_leaves_the_real_one_in_force(
    tmp_path: Path,
) -> None:
    root = tree(
        tmp_path,
        {
            "teams/churn/prod.yaml": target("staging", "999988887777"),
            "teams/churn/b.yaml": endpoint("b"),
        },
    )
    result = load_manifests([root])
    assert result.targets["staging"].target.spec.account_id == "222222222222"
    assert [m.manifest.metadata.name for m in result.manifests] == ["b"]
    assert errors(root) == [
        "prod.yaml:3: kind: target 'staging' is declared outside targets.paths "
        "(platform/targets/**); it is not used"
    ]


def test_more_endpoints_than_max_endpoints_refuses_the_projects_endpoints_only(
    tmp_path: Path,
) -> None:
    files = {f"teams/fraud/{i}.yaml": endpoint(f"fraud-{i}") for i in range(4)}
    root = tree(tmp_path, {**files, "teams/churn/b.yaml": endpoint("b")})
    result = load_manifests([root])
    assert [m.manifest.metadata.name for m in result.manifests] == ["b"]
    assert len(result.diagnostics) == 4
    assert all("more than its maxEndpoints 3" in d.message for d in result.diagnostics)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (CONFIG + "    colour: red\n", "projects[1].colour"),
        (
            CONFIG.replace("teams/churn/**", "teams/ch[ur]n/**"),
            "only '*', '?' and '**' are supported",
        ),
        (CONFIG.replace("teams/churn/**", "../churn/**"), "has an empty, '.' or '..' segment"),
        (CONFIG.replace("name: churn", "name: fraud"), "project 'fraud' is declared twice"),
        (
            CONFIG.replace("targets: [staging]", "targets: [stagin]"),
            "project 'churn' names unknown target 'stagin'",
        ),
    ],
)
def test_a_bad_config_is_an_error_and_nothing_is_deployed(
    tmp_path: Path, config: str, expected: str
) -> None:
    root = tree(tmp_path, {"teams/churn/b.yaml": endpoint("b")}, config)
    result = load_manifests([root])
    assert any(expected in f"{d.path}: {d.message}" for d in result.diagnostics), result.diagnostics
    in_config = [d for d in result.diagnostics if d.file.endswith(".sagemaker-gitops.yaml")]
    assert in_config and all(d.line for d in in_config)
    if "unknown target" not in expected:  # a config that does not load: fail closed
        assert result.manifests == [] and result.targets == {}


def template(name: str) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: EndpointTemplate\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n"
        "  executionRoleArn: arn:aws:iam::222222222222:role/SageMakerExecution\n"
        f"  variants:\n    - {{name: main, model: {{image: '{IMAGE}'}}, "
        "instanceType: ml.m5.xlarge, initialInstanceCount: 1}\n"
    )


def extending(name: str, base: str) -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}}}\n"
        f"spec: {{extends: {base}, target: staging}}\n"
    )


def test_a_template_another_project_keeps_may_not_be_extended(tmp_path: Path) -> None:
    """A team could otherwise change what another team deploys by editing a template in its own
    folder: a template counts only at the manifest root or within the endpoint's project."""
    root = tree(
        tmp_path,
        {
            "teams/churn/base.yaml": template("churn-base"),
            "shared.yaml": template("shared"),
            "teams/fraud/own.yaml": template("fraud-base"),
            "teams/fraud/a.yaml": extending("fraud-a", "churn-base"),
            "teams/fraud/b.yaml": extending("fraud-b", "shared"),
            "teams/fraud/c.yaml": extending("fraud-c", "fraud-base"),
        },
    )
    result = load_manifests([root])
    assert sorted(m.manifest.metadata.name for m in result.manifests) == ["fraud-b", "fraud-c"]
    [found] = errors(root)
    assert (
        found.startswith("a.yaml:") and "spec.extends: template file teams/churn/base.yaml" in found
    )
    assert "outside the paths of project 'fraud' and not at the manifest root" in found


def test_without_projects_everything_loads_as_before(tmp_path: Path) -> None:
    root = tree(tmp_path, {"anywhere/x.yaml": endpoint("x"), "teams/t.yaml": target("other")}, None)
    result = load_manifests([root])
    assert result.diagnostics == [] and result.projects == {}
    assert sorted(result.targets) == ["other", "prod-us-east-1", "staging", "west"]


segment = st.text(alphabet="abz09-._", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segment, min_size=1, max_size=5).map("/".join)


@given(paths, paths)
def test_double_star_matches_exactly_the_files_below_its_folder(folder: str, rest: str) -> None:
    assert globs.path_problem(f"{folder}/**") is None
    assert globs.path_matches(f"{folder}/**", f"{folder}/{rest}")
    assert not globs.path_matches(f"{folder}/**", f"{folder}x/{rest}")
    assert not globs.path_matches(f"{folder}/**", rest) or rest.startswith(f"{folder}/")


@given(paths)
def test_a_single_star_stays_in_its_segment(path: str) -> None:
    assert globs.path_matches("*", path) == ("/" not in path)


@given(st.text(alphabet="abc.*?", max_size=8), st.text(alphabet="abc.", max_size=8))
def test_name_globs_agree_with_fnmatch_semantics(pattern: str, name: str) -> None:
    expected = re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), name)
    assert globs.name_matches(pattern, name) == (expected is not None)


def test_a_policy_section_in_the_repo_config_does_not_stop_commands(tmp_path: Path) -> None:
    # docs/ci.md: plan rules may live under `policy:` of the repo config (read by --policy).
    root = tree(tmp_path, {"teams/churn/b.yaml": endpoint("b")}, CONFIG + "policy:\n  x: 1\n")
    result = load_manifests([root])
    assert result.diagnostics == []
    assert [m.manifest.metadata.name for m in result.manifests] == ["b"]


def test_plans_show_the_project_in_every_format() -> None:
    from controller.core.plan.plans import EndpointPlan, Plan, Status
    from controller.rendering import render
    from controller.rendering.markdown import render_markdown

    refused = EndpointPlan(
        "fraud-b", "teams/fraud/b.yaml", "us-east-1", Status.ERROR, errors=("x",), project="fraud"
    )
    plan = Plan(
        endpoints=(
            refused,
            EndpointPlan(
                "fraud-a", "teams/fraud/a.yaml", "us-east-1", Status.UNCHANGED, project="fraud"
            ),
            EndpointPlan("b", "b.yaml", "us-east-1", Status.UNCHANGED),
        )
    )

    documents = json.loads(render(plan, "json"))["endpoints"]
    assert [e.get("project") for e in documents] == [None, "fraud", "fraud"]
    assert "fraud-a (teams/fraud/a.yaml, project fraud) unchanged" in render(plan, "text")
    assert "Manifest <code>teams/fraud/b.yaml</code> · project <code>fraud</code>" in (
        render_markdown(plan)
    )


def test_plans_group_endpoints_by_project() -> None:
    from controller.core.plan.plans import EndpointPlan, Plan, Status
    from controller.rendering import render
    from controller.rendering.markdown import render_markdown

    def changed(name: str, project: str) -> EndpointPlan:
        return EndpointPlan(
            name,
            f"teams/{project}/{name}.yaml",
            "us-east-1",
            Status.ERROR,
            errors=("x",),
            project=project,
        )

    plan = Plan(endpoints=(changed("z", "churn"), changed("a", "fraud"), changed("m", "churn")))

    text = render(plan, "text")
    markdown = render_markdown(plan)

    assert [e["name"] for e in json.loads(render(plan, "json"))["endpoints"]] == ["m", "z", "a"]
    churn, fraud = text.index("project churn\n"), text.index("project fraud\n")
    assert churn < text.index("! m ") < text.index("! z ") < fraud < text.index("! a ")
    assert "| Project | Endpoint | Account/Region | Change | Risk |" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| <code>")]
    assert [row.split("|")[1].strip() for row in rows] == [
        "<code>churn</code>",
        "<code>churn</code>",
        "<code>fraud</code>",
    ]
