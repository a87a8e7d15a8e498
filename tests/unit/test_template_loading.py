"""Templates in loading: chains, errors at the line that was written, and change detection.

Every error of a rendered endpoint names the file and line the offending value came from
(template or override) and the chain it went through; an error in a template is reported once,
at the template's line, with the endpoints it affects.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from controller.core.snapshots import Snapshot
from controller.manifests.loading import ParseCache, load_manifests

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"

BASE = f"""\
apiVersion: sagemaker-gitops/v1
kind: EndpointTemplate
metadata:
  name: base
  labels: {{team: retention}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: primary
      model: {{packageGroup: churn-xgb, version: 2}}
      instanceType: ml.m5.large
      initialInstanceCount: 1
"""
CHURN = """\
apiVersion: sagemaker-gitops/v1
kind: EndpointTemplate
metadata: {name: churn}
spec:
  extends: base
  tags: {app: churn}
"""


def endpoint(name: str, extends: str, extra: str = "") -> str:
    return (
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n"
        f"metadata: {{name: {name}, labels: {{env: {name}}}}}\n"
        f"spec:\n  extends: {extends}\n{textwrap.indent(textwrap.dedent(extra), '  ')}"
    )


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.yaml").write_text(BASE)
    (tmp_path / "templates" / "churn.yaml").write_text(CHURN)
    (tmp_path / "staging.yaml").write_text(endpoint("staging", "churn"))
    override = """\
      variants:
        - name: primary
          model: {version: 7}
          initialInstanceCount: 4
    """
    (tmp_path / "prod.yaml").write_text(endpoint("prod", "churn", override))
    (tmp_path / "other.yaml").write_text(endpoint("other", "base"))
    return tmp_path


def errors(root: Path) -> list[str]:
    return [str(d) for d in load_manifests([root], root=root).diagnostics]


def test_a_chain_renders_labels_and_values_with_the_override_winning(tree: Path) -> None:
    result = load_manifests([tree], root=tree)
    assert result.diagnostics == []
    by_name = {m.manifest.metadata.name: m for m in result.manifests}
    prod = by_name["prod"]
    assert prod.manifest.metadata.labels == {"team": "retention", "env": "prod"}
    assert prod.manifest.spec.tags == {"app": "churn"}
    (variant,) = prod.manifest.spec.variants
    assert (variant.model.version, variant.initial_instance_count) == (7, 4)  # type: ignore[union-attr]
    assert variant.instance_type == "ml.m5.large"
    assert prod.source == "prod.yaml" and prod.line == 1
    assert prod.rendered_from == ("prod.yaml", "templates/churn.yaml", "templates/base.yaml")
    assert by_name["other"].manifest.spec.tags == {}
    assert sorted(by_name) == ["other", "prod", "staging"]  # templates are never endpoints


def test_an_error_in_a_template_is_reported_once_at_its_line_with_the_endpoints_it_affects(
    tree: Path,
) -> None:
    (tree / "templates" / "base.yaml").write_text(BASE.replace("ml.m5.large", "ml.m5.huge"))
    assert errors(tree) == [
        "templates/base.yaml:11: spec.variants[0].instanceType: unknown instance type "
        "'ml.m5.huge' (e.g. ml.m5.xlarge, ml.g5.2xlarge) "
        "(in template base; affects endpoint(s) other, prod, staging)"
    ]


def test_an_error_in_an_override_names_its_line_and_the_chain(tree: Path) -> None:
    text = (
        (tree / "prod.yaml")
        .read_text()
        .replace("initialInstanceCount: 4", "initialInstanceCount: 0")
    )
    (tree / "prod.yaml").write_text(text)
    assert errors(tree) == [
        "prod.yaml:9: spec.variants[0].initialInstanceCount: Input should be greater than or "
        "equal to 1 (got 0) (endpoint prod renders through churn -> base)"
    ]


def test_a_value_overridden_everywhere_is_no_error_of_the_template(tree: Path) -> None:
    (tree / "templates" / "base.yaml").write_text(BASE.replace("version: 2", "version: 0"))
    problems = errors(tree)
    assert len(problems) == 1
    assert problems[0].startswith("templates/base.yaml:10: spec.variants[0].model.version: ")
    assert problems[0].endswith("(in template base; affects endpoint(s) other, staging)")


def test_a_missing_field_is_reported_where_it_would_be_added(tree: Path) -> None:
    (tree / "templates" / "base.yaml").write_text(BASE.replace(f"  executionRoleArn: {ROLE}\n", ""))
    assert errors(tree) == [
        "other.yaml:4: spec.executionRoleArn: required field is missing "
        "(endpoint other renders through base)",
        "prod.yaml:4: spec.executionRoleArn: required field is missing "
        "(endpoint prod renders through churn -> base)",
        "staging.yaml:4: spec.executionRoleArn: required field is missing "
        "(endpoint staging renders through churn -> base)",
    ]


def test_unknown_names_and_cycles_are_errors_at_the_extends_that_names_them(tree: Path) -> None:
    (tree / "other.yaml").write_text(endpoint("other", "bsae"))
    (tree / "templates" / "churn.yaml").write_text(CHURN.replace("extends: base", "extends: churn"))
    assert errors(tree) == [
        "other.yaml:5: spec.extends: unknown template 'bsae'; did you mean base? "
        "(templates: base, churn)",
        "templates/churn.yaml:5: spec.extends: templates extend each other in a cycle: "
        "churn -> churn (in template churn; affects endpoint(s) prod, staging)",
    ]
    assert load_manifests([tree], root=tree).manifests == []


def test_a_template_defined_twice_is_an_error_at_each(tree: Path) -> None:
    (tree / "templates" / "again.yaml").write_text(CHURN)
    found = errors(tree)
    assert "prod.yaml:5: spec.extends: template 'churn' is defined more than once" in found
    assert found[-2:] == [
        "templates/again.yaml:3: metadata.name: template 'churn' is also defined at "
        "templates/churn.yaml:3",
        "templates/churn.yaml:3: metadata.name: template 'churn' is also defined at "
        "templates/again.yaml:3",
    ]


def test_metadata_name_never_comes_from_a_template(tree: Path) -> None:
    (tree / "bare.yaml").write_text(
        "apiVersion: sagemaker-gitops/v1\nkind: Endpoint\nmetadata: {labels: {a: b}}\n"
        "spec: {extends: base}\n"
    )
    assert errors(tree) == [
        "bare.yaml:3: metadata.name: required field is missing "
        "(endpoint (unnamed) renders through base)"
    ]


def test_editing_a_template_changes_the_fingerprint_of_exactly_its_endpoints(tree: Path) -> None:
    cache = ParseCache()
    before = Snapshot.build(load_manifests([tree], cache=cache), None, lambda: "us-east-1")
    renders = cache.renders.renders
    (tree / "templates" / "churn.yaml").write_text(CHURN.replace("app: churn", "app: churn2"))
    after = Snapshot.build(
        load_manifests([tree], cache=cache, changed={"templates/churn.yaml"}),
        None,
        lambda: "us-east-1",
    )
    keys = after.keys()
    changed = {k for k in keys if before.fingerprint(k) != after.fingerprint(k)}
    assert changed == {"us-east-1/prod", "us-east-1/staging"}
    assert cache.renders.renders - renders == 2  # `other` was not rendered again
    assert before.entry("us-east-1/other") is after.entry("us-east-1/other")


def test_apply_reconciles_first_the_endpoints_of_a_changed_template(tree: Path) -> None:
    from controller.commands.changed_files import hinted_keys

    snapshot = Snapshot.build(load_manifests([tree], root=tree), None, lambda: "us-east-1")
    hinted = hinted_keys(snapshot, frozenset({"templates/churn.yaml"}))
    assert hinted == ["us-east-1/prod", "us-east-1/staging"]
    assert hinted_keys(snapshot, frozenset({"other.yaml"})) == ["us-east-1/other"]
