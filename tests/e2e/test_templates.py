"""Endpoint templates end to end: the templated example (one template, staging and two prod
regions through deployment targets) applied to the sandbox, a template edit planned as a
rollout of exactly the endpoints extending it, `promote` editing one line where the version is
written, and errors reported at the template's line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3

from tests.e2e.conftest import World, registry_manifest

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "templated"


def with_example(world: World) -> None:
    shutil.copytree(EXAMPLE, world.root, dirs_exist_ok=True)


def sagemaker(world: World, region: str) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=world.sandbox.url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def register_elsewhere(world: World) -> None:
    """The Model Registry is regional: the seed's churn-xgb versions 1 and 2 (in us-east-1),
    also in the example's other regions."""
    for region in ("us-west-2", "eu-west-1"):
        register_in(world, region)


def register_in(world: World, region: str) -> None:
    sm = sagemaker(world, region)
    sm.create_model_package_group(ModelPackageGroupName="churn-xgb")
    for version in (1, 2):
        container = {
            "Image": f"123456789012.dkr.ecr.{region}.amazonaws.com/xgboost:1.7-1",
            "ModelDataUrl": f"s3://models/churn/{version}/model.tar.gz",
        }
        sm.create_model_package(
            ModelPackageGroupName="churn-xgb",
            InferenceSpecification={
                "Containers": [container],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="Approved",
        )


def endpoints_in(world: World, region: str) -> list[str]:
    return sorted(e["EndpointName"] for e in sagemaker(world, region).list_endpoints()["Endpoints"])


def statuses(world: World) -> dict[str, str]:
    plan = json.loads(world.plan("--format", "json").out)
    return {where(e): e["status"] for e in plan["endpoints"] if e["manifest"] is not None}


def where(endpoint: dict[str, Any]) -> str:
    return f"{endpoint.get('target', endpoint['region'])}/{endpoint['name']}"


def test_the_example_applies_and_a_template_edit_rolls_out_exactly_its_endpoints(
    world: World,
) -> None:
    with_example(world)
    register_elsewhere(world)
    world.write("plain.yaml", registry_manifest("fraud", group="fraud-detector"))
    applied = world.apply()
    assert applied.code == 0, applied.err
    assert endpoints_in(world, "us-east-1") == ["churn", "fraud"]
    assert endpoints_in(world, "us-west-2") == ["churn"]
    assert endpoints_in(world, "eu-west-1") == ["churn"]
    assert world.mutations_during(world.apply) == {}  # idempotent

    plan = json.loads(world.plan("--format", "json").out)
    files = {where(e): e.get("rendered_from") for e in plan["endpoints"] if e["manifest"]}
    assert files == {
        "prod-us-east-1/churn": ["prod-us-east-1.yaml", "churn.template.yaml"],
        "prod-us-west-2/churn": ["prod-us-west-2.yaml", "churn.template.yaml"],
        "staging/churn": ["staging.yaml", "churn.template.yaml"],
        "us-east-1/fraud": None,  # not rendered: no key
    }

    template = world.root / "churn.template.yaml"
    template.write_text(template.read_text().replace("ml.m5.large", "ml.m5.xlarge"))
    assert statuses(world) == {
        "prod-us-east-1/churn": "update",
        "prod-us-west-2/churn": "update",
        "staging/churn": "update",
        "us-east-1/fraud": "unchanged",
    }


def test_promote_target_changes_one_line_in_one_file(world: World) -> None:
    with_example(world)
    before = {p.name: p.read_text() for p in world.root.glob("*.yaml")}

    promoted = world.cli(
        "promote",
        "--group",
        "churn-xgb",
        "--to",
        "2",
        "--target",
        "prod-us-east-1",
        "-m",
        str(world.root),
    )

    assert promoted.code == 0, promoted.err
    after = {p.name: p.read_text() for p in world.root.glob("*.yaml")}
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["prod-us-east-1.yaml"]
    lines = zip(
        before["prod-us-east-1.yaml"].splitlines(),
        after["prod-us-east-1.yaml"].splitlines(),
        strict=True,
    )
    assert [(a, b) for a, b in lines if a != b] == [
        ("      model: {version: 1}", "      model: {version: 2}")
    ]


def test_promote_refuses_a_template_line_that_would_move_unselected_endpoints(
    world: World,
) -> None:
    with_example(world)
    before = {p.name: p.read_text() for p in world.root.glob("*.yaml")}

    refused = world.cli(
        "promote",
        "--group",
        "churn-xgb",
        "--to",
        "1",
        "--target",
        "staging",
        "-m",
        str(world.root),
    )

    assert refused.code == 1
    assert (
        "churn.template.yaml:16: spec.variants[0].model.version: the version is written in "
        "template churn and also sets it for churn in prod-us-west-2, which the selectors leave out"
        in refused.err
    )
    assert {p.name: p.read_text() for p in world.root.glob("*.yaml")} == before
    # Without selectors the template's line moves both endpoints that take their version there.
    register_elsewhere(world)
    moved = world.cli(
        "promote", "--group", "churn-xgb", "--to", "1", "--dry-run", "-m", str(world.root)
    )
    assert moved.code == 0, moved.err
    assert (
        "churn.template.yaml:16 (template churn) moves churn in prod-us-west-2, churn in staging"
        in moved.err
    )


def test_an_error_in_a_template_is_reported_at_the_template_line(world: World) -> None:
    with_example(world)
    template = world.root / "churn.template.yaml"
    template.write_text(
        template.read_text().replace("initialInstanceCount: 1", "initialInstanceCount: -1")
    )

    checked = world.cli("validate", str(world.root))
    planned = world.plan()

    expected = (
        "churn.template.yaml:18: spec.variants[0].initialInstanceCount: Input should be greater "
        "than or equal to 1 (got -1) (in template churn; affects endpoint(s) churn in staging)"
    )
    assert checked.code == 1 and expected in checked.err
    assert planned.code == 1 and expected in planned.out + planned.err


def test_render_prints_the_effective_spec(world: World) -> None:
    with_example(world)
    rendered = world.cli("render", "-m", str(world.root), "--endpoint", "churn", "--format", "json")
    assert rendered.code == 0, rendered.err
    found = json.loads(rendered.out)["endpoints"]
    assert [e["manifest"] for e in found] == [
        "prod-us-east-1.yaml",
        "prod-us-west-2.yaml",
        "staging.yaml",
    ]
    only = found[2]
    assert only["rendered_from"] == ["staging.yaml", "churn.template.yaml"]
    assert only["rendered"]["spec"]["variants"] == [
        {
            "name": "primary",
            "model": {"packageGroup": "churn-xgb", "version": 2},
            "instanceType": "ml.m5.large",
            "initialInstanceCount": 1,
        }
    ]
    assert only["rendered"]["metadata"] == {
        "name": "churn",
        "labels": {"team": "retention", "env": "staging"},
    }


def test_run_re_reconciles_exactly_the_endpoints_extending_an_edited_template(
    world: World,
) -> None:
    from tests.e2e.test_service import FAST, eventually, service

    world.write("base.yaml", TEMPLATE)
    for name in ("churn-a", "churn-b"):
        world.write(f"{name}.yaml", extending(name))
    world.write("plain.yaml", registry_manifest("fraud", group="fraud-detector"))
    names = ("churn-a", "churn-b", "fraud")
    with service("-m", str(world.root), *FAST):
        first = {
            n: eventually(lambda n=n: world.endpoint(n)["EndpointConfigName"], what=n)
            for n in names
        }
        updates = world.calls().get("UpdateEndpoint", 0)
        world.write("base.yaml", TEMPLATE.replace("version: 1", "version: 2"))
        for name in ("churn-a", "churn-b"):
            eventually(
                lambda n=name: world.endpoint(n)["EndpointConfigName"] != first[n], what=name
            )
        assert world.calls().get("UpdateEndpoint", 0) - updates == 2
    assert world.endpoint("fraud")["EndpointConfigName"] == first["fraud"]


TEMPLATE = """
    apiVersion: sagemaker-gitops/v1
    kind: EndpointTemplate
    metadata: {name: base}
    spec:
      executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
      variants:
        - name: primary
          model: {packageGroup: churn-xgb, version: 1}
          instanceType: ml.m5.large
          initialInstanceCount: 1
    """


def extending(name: str) -> str:
    return f"""
        apiVersion: sagemaker-gitops/v1
        kind: Endpoint
        metadata: {{name: {name}}}
        spec:
          extends: base
        """


SET = """
    apiVersion: sagemaker-gitops/v1
    kind: EndpointSet
    metadata: {name: churn-regions}
    spec:
      name: "churn-{region}"
      template:
        spec:
          executionRoleArn: arn:aws:iam::123456789012:role/SageMakerExecution
          variants:
            - name: primary
              model: {packageGroup: churn-xgb, version: 2}
              instanceType: ml.m5.large
              initialInstanceCount: 1
      entries:
        - region: us-east-1
        - region: us-west-2
    """


def test_an_endpoint_set_deploys_one_endpoint_per_entry_and_promotes_in_one_line(
    world: World,
) -> None:
    register_in(world, "us-west-2")
    world.write("set.yaml", SET)

    applied = world.apply()

    assert applied.code == 0, applied.err
    assert endpoints_in(world, "us-east-1") == ["churn-us-east-1"]
    assert endpoints_in(world, "us-west-2") == ["churn-us-west-2"]
    status = world.cli("status", "-m", str(world.root))
    assert "churn-us-east-1" in status.out and "churn-us-west-2" in status.out, status
    before = (world.root / "set.yaml").read_text()
    promoted = world.cli("promote", "--group", "churn-xgb", "--to", "1", "-m", str(world.root))
    assert promoted.code == 0, promoted.err
    assert (
        "set.yaml:11 (template churn-regions) moves churn-us-east-1 in us-east-1, " in promoted.err
    )
    after = (world.root / "set.yaml").read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        (
            "          model: {packageGroup: churn-xgb, version: 2}",
            "          model: {packageGroup: churn-xgb, version: 1}",
        )
    ]
