"""`kind: EndpointSet`: one endpoint per entry, named from a pattern, errors at the entry's or
the set template's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.manifests.loading import load_manifests

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
TEMPLATE = f"""\
apiVersion: sagemaker-gitops/v1
kind: EndpointTemplate
metadata: {{name: churn, labels: {{team: retention}}}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: primary
      model: {{packageGroup: churn-xgb, version: 2}}
      instanceType: ml.m5.large
      initialInstanceCount: 1
"""
SET = """\
apiVersion: sagemaker-gitops/v1
kind: EndpointSet
metadata: {name: churn-regions}
spec:
  name: "churn-{region}"
  template:
    metadata: {labels: {env: prod}}
    spec:
      extends: churn
      variants:
        - name: primary
          initialInstanceCount: 2
  entries:
    - region: us-east-1
    - region: eu-west-1
      labels: {tier: gold}
      spec:
        variants:
          - name: primary
            initialInstanceCount: 4
    - target: prod-special
      name: churn-special
"""
TARGET = """\
apiVersion: sagemaker-gitops/v1
kind: Target
metadata: {name: prod-special}
spec:
  accountId: "123456789012"
  region: us-west-2
  roleArn: arn:aws:iam::123456789012:role/deployer
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "churn.yaml").write_text(TEMPLATE)
    (tmp_path / "set.yaml").write_text(SET)
    (tmp_path / "target.yaml").write_text(TARGET)
    return tmp_path


def errors(root: Path) -> list[str]:
    return [str(d) for d in load_manifests([root], root=root).diagnostics]


def test_each_entry_is_an_endpoint_named_from_the_pattern(tree: Path) -> None:
    result = load_manifests([tree], root=tree)
    assert result.diagnostics == []
    found = {
        m.manifest.metadata.name: (
            m.manifest.spec.region or m.manifest.spec.target,
            m.manifest.spec.variants[0].initial_instance_count,
            m.manifest.metadata.labels,
            m.rendered_from,
            m.name_line,
        )
        for m in result.manifests
    }
    assert found == {
        "churn-us-east-1": (
            "us-east-1",
            2,
            {"team": "retention", "env": "prod"},
            ("set.yaml", "churn.yaml"),
            5,
        ),
        "churn-eu-west-1": (
            "eu-west-1",
            4,
            {"team": "retention", "env": "prod", "tier": "gold"},
            ("set.yaml", "churn.yaml"),
            5,
        ),
        "churn-special": (
            "prod-special",
            2,
            {"team": "retention", "env": "prod"},
            ("set.yaml", "churn.yaml"),
            22,
        ),
    }


def test_an_error_in_an_entry_is_at_the_entry_line(tree: Path) -> None:
    (tree / "set.yaml").write_text(
        SET.replace("initialInstanceCount: 4", "initialInstanceCount: 0")
    )
    assert errors(tree) == [
        "set.yaml:20: spec.entries[1].spec.variants[0].initialInstanceCount: Input should be "
        "greater than or equal to 1 (got 0) "
        "(endpoint churn-eu-west-1 in eu-west-1 renders through churn-regions -> churn)"
    ]


def test_an_error_in_the_set_template_names_the_endpoints_it_affects(tree: Path) -> None:
    (tree / "set.yaml").write_text(
        SET.replace("initialInstanceCount: 2", "initialInstanceCount: -2")
    )
    assert errors(tree) == [
        "set.yaml:12: spec.template.spec.variants[0].initialInstanceCount: Input should be "
        "greater than or equal to 1 (got -2) (in endpoint set churn-regions; affects "
        "endpoint(s) churn-us-east-1 in us-east-1, churn-special in prod-special)"
    ]


def test_a_pattern_an_entry_cannot_fill_is_an_error_at_the_entry(tree: Path) -> None:
    (tree / "set.yaml").write_text(SET.replace("      name: churn-special\n", ""))
    assert errors(tree) == [
        "set.yaml:21: spec.entries[2]: the name pattern 'churn-{region}' uses {region}, which "
        "this entry does not set (give it a name, or set the pattern's place)"
    ]


def test_two_entries_of_one_name_are_an_endpoint_defined_twice(tree: Path) -> None:
    (tree / "set.yaml").write_text(SET.replace("region: eu-west-1", "region: us-east-1"))
    assert errors(tree) == [
        "set.yaml:5: metadata.name: endpoint 'churn-us-east-1' in region us-east-1 is also "
        "defined at set.yaml:5",
        "set.yaml:5: metadata.name: endpoint 'churn-us-east-1' in region us-east-1 is also "
        "defined at set.yaml:5",
    ]


def test_the_sets_template_is_not_a_template_others_can_extend(tree: Path) -> None:
    (tree / "other.yaml").write_text(
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: {name: other}\n"
        "spec: {extends: churn-regions}\n"
    )
    assert errors(tree) == [
        "other.yaml:4: spec.extends: unknown template 'churn-regions' (templates: churn)"
    ]
