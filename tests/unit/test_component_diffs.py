"""Inference components, pure: manifest rules, desired requests, and the per-component diff."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from builders import ACCOUNT_PREFIX, PROPERTY, ROLE, desired, manifest, mirror, options
from hypothesis import given
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.component.model import LiveComponent
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import ComponentPlan, Op, Reason, ResourceType, Status
from controller.core.plan.risk import Risk, assess
from controller.manifests.loading import load_manifests

IC = ResourceType.INFERENCE_COMPONENT
ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
        "waitIntervalInSeconds": 60,
    }
}


def pool(**extra: Any) -> dict[str, Any]:
    return {
        "name": "shared",
        "instanceType": "ml.g5.12xlarge",
        "managedInstanceScaling": {"minInstanceCount": 1, "maxInstanceCount": 4},
        **extra,
    }


def ic(name: str = "chat", version: int = 1, copies: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "variant": "shared",
        "model": {"packageGroup": "llm", "version": version},
        "compute": {"acceleratorDevices": 1, "minMemoryMb": 1024},
        "copies": copies,
        **extra,
    }


def ic_desired(*components: dict[str, Any]) -> DesiredEndpoint:
    return desired(manifest("gpu", [pool()], inferenceComponents=list(components or [ic()])))


def live_of(want: DesiredEndpoint, name: str = "chat", **changes: Any) -> LiveComponent:
    """The live component exactly as `want` asks for it, with `changes`."""
    component = next(c for c in want.components if c.name == name)
    base = LiveComponent(
        name=name,
        arn=f"{ACCOUNT_PREFIX}:inference-component/{name}",
        variant=component.variant,
        status="InService",
        last_modified="1",
        specification=component.specification,
        desired_copies=component.copies,
        current_copies=component.copies,
    )
    return replace(base, **changes)


def seen_with(want: DesiredEndpoint, *live: LiveComponent, **extra: Any) -> Any:
    tags = {c.name.lower(): dict(want.tags) for c in live}
    return mirror(want, components=live, component_tags=tags, **extra)


# Manifest rules: `file:line: path: message`.


def _errors(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "gpu.yaml").write_text(text)
    result = load_manifests([tmp_path], root=tmp_path)
    return [str(d).removeprefix(f"{tmp_path}/") for d in result.diagnostics]


def _yaml(variant_extra: str = "", components: str = "", spec_extra: str = "") -> str:
    return f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: gpu}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: shared
      instanceType: ml.g5.12xlarge{variant_extra}
  inferenceComponents:
    - name: chat
      variant: shared
      model: {{packageGroup: llm, version: 1}}
      compute: {{minMemoryMb: 1024}}{components}
{spec_extra}"""


def test_a_component_on_a_missing_variant_is_reported_at_its_line(tmp_path: Path) -> None:
    text = _yaml().replace("variant: shared", "variant: gpu")
    assert _errors(tmp_path, text) == [
        "gpu.yaml:11: spec.inferenceComponents[0].variant: no variant 'gpu' on this endpoint "
        "(variants: shared)"
    ]


def test_a_model_on_a_component_endpoints_variant_is_an_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, _yaml("\n      model: {packageGroup: llm, version: 1}"))
    assert len(errors) == 1
    assert errors[0].startswith("gpu.yaml:9: spec.variants[0].model: variant shared has a model")


def test_duplicate_component_names_are_an_error(tmp_path: Path) -> None:
    again = (
        "\n    - name: CHAT\n      variant: shared\n      model: {packageGroup: llm, version: 2}"
        "\n      compute: {minMemoryMb: 1024}"
    )
    errors = _errors(tmp_path, _yaml(components=again))
    assert errors == [
        "gpu.yaml:14: spec.inferenceComponents[1].name: inference component 'CHAT' is already "
        "defined at inferenceComponents[0]"
    ]


def test_a_rolling_batch_above_half_the_copies_is_an_error(tmp_path: Path) -> None:
    rolling = (
        "\n      copies: 2\n      deployment:\n        rollingUpdatePolicy:"
        "\n          maximumBatchSize: {type: COPY_COUNT, value: 2}"
        "\n          waitIntervalInSeconds: 0"
    )
    (error,) = _errors(tmp_path, _yaml(components=rolling))
    assert "spec.inferenceComponents[0]: deployment: a batch of 2 copies is more than half" in error


@pytest.mark.parametrize(
    ("variant_extra", "spec_extra", "expected"),
    [
        (
            "\n      initialInstanceCount: 9"
            "\n      managedInstanceScaling: {minInstanceCount: 1, maxInstanceCount: 4}",
            "",
            "spec.variants[0].initialInstanceCount: 9 instances is outside managedInstanceScaling",
        ),
        (
            "",
            "  deployment:\n    autoRollbackConfiguration: {alarms: [{alarmName: a}]}\n",
            "spec.deployment: an endpoint hosting inference components rolls out per component",
        ),
        (
            "\n      managedInstanceScaling: {minInstanceCount: 5, maxInstanceCount: 4}",
            "",
            "minInstanceCount must not exceed maxInstanceCount",
        ),
        (
            "",
            "  shadowVariants:\n    - name: probe\n      instanceType: ml.g5.12xlarge"
            "\n      model: {packageGroup: llm, version: 1}\n",
            "spec.shadowVariants[0]: an endpoint hosting inference components has no shadow",
        ),
    ],
)
def test_endpoint_level_rules(
    tmp_path: Path, variant_extra: str, spec_extra: str, expected: str
) -> None:
    (error,) = _errors(tmp_path, _yaml(variant_extra, spec_extra=spec_extra))
    assert expected in error


def test_a_shadow_variant_without_a_model_is_an_error(tmp_path: Path) -> None:
    text = f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: web}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: main
      instanceType: ml.m5.large
      model: {{packageGroup: churn, version: 1}}
  shadowVariants:
    - name: probe
      instanceType: ml.m5.large
"""
    assert _errors(tmp_path, text) == [
        "gpu.yaml:11: spec.shadowVariants[0].model: shadow variant probe needs a model"
    ]


def test_the_example_manifest_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "manifests" / "examples"
    assert load_manifests([example], root=example).diagnostics == []


# Desired requests.


def test_the_config_hosts_components_and_each_component_gets_its_model() -> None:
    want = ic_desired(
        ic("chat"),
        ic("embed", copies=1, startup={"containerStartupHealthCheckTimeoutInSeconds": 300}),
    )
    (variant,) = want.config_request["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 1,
        "MaxInstanceCount": 4,
    }
    assert want.config_request["ExecutionRoleArn"] == ROLE
    assert want.models == ()
    chat, embed = want.components
    assert chat.specification == {
        "ModelName": chat.model.name,
        "ComputeResourceRequirements": {
            "NumberOfAcceleratorDevicesRequired": 1.0,
            "MinMemoryRequiredInMb": 1024,
        },
    }
    assert embed.specification["StartupParameters"] == {
        "ContainerStartupHealthCheckTimeoutInSeconds": 300
    }
    assert chat.model.request["Containers"][0]["ModelPackageName"].endswith("/llm/1")
    assert chat.model.name != embed.model.name


def test_a_copy_count_does_not_change_the_endpoint_config() -> None:
    assert ic_desired(ic(copies=1)).config_name == ic_desired(ic(copies=3)).config_name


# The per-component diff.


def test_a_matching_account_plans_nothing() -> None:
    want = ic_desired()
    plan = diff_endpoint(want, seen_with(want, live_of(want)), options())
    assert plan.status is Status.UNCHANGED and plan.actions == ()
    assert [(r.name, r.plan) for r in plan.components] == [("chat", ComponentPlan.UNCHANGED)]


def test_copies_alone_are_a_runtime_config_update() -> None:
    want = ic_desired(ic(copies=3))
    plan = diff_endpoint(want, seen_with(want, live_of(want, desired_copies=2)), options())
    (action,) = plan.actions
    assert (action.op, action.type, action.reason) == (Op.UPDATE, IC, Reason.COPIES_ONLY)
    assert action.request == {
        "InferenceComponentName": "chat",
        "DesiredRuntimeConfig": {"CopyCount": 3},
    }


def test_an_autoscaled_copy_count_is_never_reset() -> None:
    want = ic_desired(ic(copies=3))
    seen = seen_with(want, live_of(want, desired_copies=5), autoscaled=frozenset({"chat"}))
    plan = diff_endpoint(want, seen, options())
    assert plan.actions == ()
    assert plan.components[0].autoscaled


def test_a_new_version_updates_only_that_component_with_its_deployment() -> None:
    old = ic_desired(ic("chat", 1), ic("embed", 1))
    new = ic_desired(ic("chat", 2, deployment=ROLLING), ic("embed", 1))
    seen = seen_with(
        new,
        live_of(old, "chat"),
        live_of(old, "embed"),
        missing_models=frozenset({new.components[0].model.name}),
        component_models={
            "chat": {"Containers": [{"ModelPackageName": f"{ACCOUNT_PREFIX}:model-package/llm/1"}]}
        },
    )
    plan = diff_endpoint(new, seen, options())
    model, update = plan.actions
    assert (model.op, model.type) == (Op.CREATE, ResourceType.MODEL)
    assert (update.op, update.name, update.reason) == (Op.UPDATE, "chat", Reason.VERSION_CHANGED)
    assert update.request["DeploymentConfig"]["RollingUpdatePolicy"]["WaitIntervalInSeconds"] == 60
    assert update.tags_set[tagging.ATTEMPTED_SPEC] == new.components[0].spec_id
    assert any(c.path == "inferenceComponents[chat].model.version" for c in update.changes)
    assert [r.plan for r in plan.components] == [ComponentPlan.UPDATE, ComponentPlan.UNCHANGED]


def test_a_rolled_back_update_is_an_error_until_the_input_changes() -> None:
    old, new = ic_desired(ic(version=1)), ic_desired(ic(version=2))
    tags = {**new.tags, tagging.ATTEMPTED_SPEC: new.components[0].spec_id}
    seen = mirror(
        new,
        components=(live_of(old, failure_reason="ping failed"),),
        component_tags={"chat": tags},
    )
    plan = diff_endpoint(new, seen, options())
    assert (plan.status, plan.error_reason) == (Status.ERROR, "RolloutFailed")
    assert "ping failed" in plan.errors[0]
    newer = ic_desired(ic(version=3))
    assert diff_endpoint(newer, replace(seen), options()).status is Status.UPDATE


def test_an_unowned_component_is_reported_and_left_alone() -> None:
    want = ic_desired()
    stranger = replace(
        live_of(want), name="handmade", arn=f"{ACCOUNT_PREFIX}:inference-component/handmade"
    )
    seen = mirror(
        want, components=(live_of(want), stranger), component_tags={"chat": dict(want.tags)}
    )
    plan = diff_endpoint(want, seen, options(prune=True))
    assert plan.actions == ()
    assert plan.components[-1].plan is ComponentPlan.UNMANAGED


def test_a_removed_component_is_kept_without_prune_and_deleted_with_it() -> None:
    before = ic_desired(ic("chat"), ic("embed"))
    after = ic_desired(ic("chat"))
    seen = seen_with(after, live_of(before, "chat"), live_of(before, "embed"))
    kept = diff_endpoint(after, seen, options())
    assert kept.actions == () and "embed removed from the manifest" in kept.warnings[0]
    pruned = diff_endpoint(after, seen, options(prune=True))
    (action,) = pruned.actions
    assert (action.op, action.name, action.reason) == (Op.DELETE, "embed", Reason.COMPONENT_REMOVED)


def test_components_wait_while_the_endpoint_is_not_in_service() -> None:
    want = ic_desired()
    seen = seen_with(want)
    seen = replace(seen, endpoint=replace(seen.endpoint, status="Updating"))
    plan = diff_endpoint(want, seen, options())
    assert plan.actions == ()
    assert plan.components[0].plan is ComponentPlan.WAITING


def test_risk_of_component_changes() -> None:
    want = ic_desired(ic(copies=2))
    bigger = ic_desired({**ic(copies=2), "compute": {"acceleratorDevices": 2, "minMemoryMb": 1024}})
    compute = diff_endpoint(bigger, seen_with(bigger, live_of(want)), options())
    assert assess(compute) is Risk.MEDIUM
    copies = ic_desired(ic(copies=3))
    assert assess(diff_endpoint(copies, seen_with(copies, live_of(want)), options())) is Risk.LOW
    before = ic_desired(ic("chat"), ic("embed"))
    seen = seen_with(want, live_of(before, "chat"), live_of(before, "embed"))
    assert assess(diff_endpoint(want, seen, options(prune=True))) is Risk.HIGH


@cache
def _with_copies(copies: int) -> DesiredEndpoint:
    return ic_desired(ic(copies=copies))


@PROPERTY
@given(
    wanted=st.integers(min_value=0, max_value=50),
    live=st.integers(min_value=0, max_value=50),
    autoscaled=st.booleans(),
)
def test_copies_are_sent_only_when_they_differ_and_no_scalable_target_owns_them(
    wanted: int, live: int, autoscaled: bool
) -> None:
    want = _with_copies(wanted)
    owners = frozenset({"chat"}) if autoscaled else frozenset()
    seen = seen_with(want, live_of(want, desired_copies=live), autoscaled=owners)
    plan = diff_endpoint(want, seen, options())
    sent = [a.request["DesiredRuntimeConfig"]["CopyCount"] for a in plan.actions]
    assert sent == ([wanted] if wanted != live and not autoscaled else [])
