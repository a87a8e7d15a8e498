"""Inference components: lifecycle, copy counts, rollback, validation, listing and tags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from component_helpers import (
    COMPUTE,
    container_spec,
    ic_variant,
    make_component,
    make_ic_endpoint,
    model_spec,
)
from sandbox_helpers import IMAGE, ManualClock, client, error_of, make_endpoint, make_model

from controller.sandbox import Sandbox

FAIL = {"SAGEMAKER_SANDBOX_FAIL": "1"}
ROLLING = {
    "RollingUpdatePolicy": {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 120,
        "MaximumExecutionTimeoutInSeconds": 1800,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "llm-5xx"}]},
}


@pytest.fixture
def sm(slow_sandbox: Sandbox, clock: ManualClock) -> Any:
    """A client whose IC endpoint `gpu` is InService (10 s transitions on a manual clock)."""
    sm = client(slow_sandbox)
    make_ic_endpoint(sm, "gpu")
    clock.advance(10)
    return sm


def describe(sm: Any, name: str) -> dict[str, Any]:
    return dict(sm.describe_inference_component(InferenceComponentName=name))


def test_create_goes_creating_then_in_service_with_copies(sm: Any, clock: ManualClock) -> None:
    arn = sm.create_inference_component(
        InferenceComponentName="llm-a",
        EndpointName="gpu",
        VariantName="shared",
        Specification=model_spec(make_model(sm, "llm-a-m1").split("/")[-1]),
        RuntimeConfig={"CopyCount": 2},
    )["InferenceComponentArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm-a"
    during = describe(sm, "llm-a")
    assert during["InferenceComponentStatus"] == "Creating"
    assert during["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 0}
    clock.advance(10)
    after = describe(sm, "llm-a")
    assert after["InferenceComponentStatus"] == "InService"
    assert after["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert after["Specification"] == {
        "ModelName": "llm-a-m1",
        "ComputeResourceRequirements": COMPUTE,
    }
    assert after["EndpointName"] == "gpu"
    assert after["EndpointArn"].endswith(":endpoint/gpu")
    assert after["VariantName"] == "shared"
    assert "FailureReason" not in after
    assert after["LastModifiedTime"] > after["CreationTime"]


def test_container_specification_is_described_as_deployed_image(
    sm: Any, clock: ManualClock
) -> None:
    sm.create_inference_component(
        InferenceComponentName="byo",
        EndpointName="gpu",
        Specification=container_spec(),
        RuntimeConfig={"CopyCount": 1},
    )
    clock.advance(10)
    spec = describe(sm, "byo")["Specification"]
    deployed = spec["Container"]["DeployedImage"]
    assert deployed["SpecifiedImage"] == IMAGE
    repository = IMAGE.rsplit(":", 1)[0]
    assert deployed["ResolvedImage"].startswith(f"{repository}@sha256:")
    assert "Image" not in spec["Container"]
    assert spec["Container"]["ArtifactUrl"] == "s3://models/llm/model.tar.gz"
    assert spec["StartupParameters"] == container_spec()["StartupParameters"]


def test_fail_marker_makes_create_end_failed(sm: Any, clock: ManualClock) -> None:
    make_component(sm, "bad", "gpu", env=FAIL)
    clock.advance(10)
    failed = describe(sm, "bad")
    assert failed["InferenceComponentStatus"] == "Failed"
    assert "did not pass the ping health check" in failed["FailureReason"]
    assert failed["RuntimeConfig"]["CurrentCopyCount"] == 0


def roll_out(sm: Any, clock: ManualClock, env: dict[str, str] | None, **extra: Any) -> None:
    """InService component `llm` (2 copies), then an update to model `llm-m2` (env given)."""
    make_component(sm, "llm", "gpu", copies=2)
    clock.advance(10)
    make_model(sm, "llm-m2", env=env)
    sm.update_inference_component(
        InferenceComponentName="llm",
        Specification=model_spec("llm-m2"),
        DeploymentConfig=ROLLING,
        **extra,
    )


def status_and_model(sm: Any) -> tuple[str, str]:
    described = describe(sm, "llm")
    return described["InferenceComponentStatus"], described["Specification"]["ModelName"]


def test_update_rolls_out_new_specification(sm: Any, clock: ManualClock) -> None:
    roll_out(sm, clock, env=None)
    assert status_and_model(sm) == ("Updating", "llm-m2")
    clock.advance(10)
    assert status_and_model(sm) == ("InService", "llm-m2")
    assert describe(sm, "llm")["LastDeploymentConfig"] == ROLLING


def test_failed_update_rolls_back_and_reports_reason(sm: Any, clock: ManualClock) -> None:
    roll_out(sm, clock, env=FAIL, RuntimeConfig={"CopyCount": 3})
    clock.advance(10)
    assert status_and_model(sm) == ("Updating", "llm-m2")  # rolling back
    clock.advance(10)
    assert status_and_model(sm) == ("InService", "llm-m1")
    after = describe(sm, "llm")
    assert after["RuntimeConfig"] == {"DesiredCopyCount": 2, "CurrentCopyCount": 2}
    assert "did not pass the ping health check" in after["FailureReason"]


def test_runtime_config_changes_copies_only(sm: Any, clock: ManualClock) -> None:
    make_component(sm, "llm", "gpu", copies=1)
    clock.advance(10)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="llm", DesiredRuntimeConfig={"CopyCount": 4}
    )
    during = describe(sm, "llm")
    assert during["InferenceComponentStatus"] == "Updating"
    assert during["RuntimeConfig"] == {"DesiredCopyCount": 4, "CurrentCopyCount": 1}
    clock.advance(10)
    after = describe(sm, "llm")
    assert after["RuntimeConfig"] == {"DesiredCopyCount": 4, "CurrentCopyCount": 4}
    assert "LastDeploymentConfig" not in after


def test_copies_can_scale_to_zero(sm: Any, clock: ManualClock) -> None:
    make_component(sm, "llm", "gpu", copies=1)
    clock.advance(10)
    sm.update_inference_component_runtime_config(
        InferenceComponentName="llm", DesiredRuntimeConfig={"CopyCount": 0}
    )
    clock.advance(10)
    assert describe(sm, "llm")["RuntimeConfig"] == {"DesiredCopyCount": 0, "CurrentCopyCount": 0}


def test_delete_goes_deleting_then_gone(sm: Any, clock: ManualClock) -> None:
    make_component(sm, "llm", "gpu")
    clock.advance(10)
    sm.delete_inference_component(InferenceComponentName="llm")
    assert describe(sm, "llm")["InferenceComponentStatus"] == "Deleting"
    clock.advance(10)
    code, message = error_of(lambda: describe(sm, "llm"))
    assert code == "ValidationException"
    arn = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm"
    assert message == f'Could not find inference component "{arn}".'


@pytest.mark.parametrize("verb", ["update", "runtime", "delete"])
def test_busy_component_refuses_changes(sm: Any, verb: str) -> None:
    make_component(sm, "llm", "gpu")
    calls = {
        "update": lambda: sm.update_inference_component(
            InferenceComponentName="llm", RuntimeConfig={"CopyCount": 2}
        ),
        "runtime": lambda: sm.update_inference_component_runtime_config(
            InferenceComponentName="llm", DesiredRuntimeConfig={"CopyCount": 2}
        ),
        "delete": lambda: sm.delete_inference_component(InferenceComponentName="llm"),
    }
    code, message = error_of(calls[verb])
    assert code == "ValidationException"
    action = "delete" if verb == "delete" else "update"
    assert message.startswith(f"Cannot {action} in-progress inference component")


def create_error(sm: Any, endpoint: str = "gpu", **changes: Any) -> str:
    """The message of a CreateInferenceComponent (component `x`, model `m`) that must fail."""
    if "m" not in [m["ModelName"] for m in sm.list_models()["Models"]]:
        make_model(sm, "m")
    params: dict[str, Any] = {
        "InferenceComponentName": "x",
        "EndpointName": endpoint,
        "Specification": model_spec("m"),
        "RuntimeConfig": {"CopyCount": 1},
    }
    params.update(changes)
    params = {k: v for k, v in params.items() if v is not None}
    return error_of(lambda: sm.create_inference_component(**params))[1]


def test_endpoint_must_exist_and_be_in_service(sm: Any) -> None:
    assert create_error(sm, "nope") == (
        'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/nope".'
    )
    make_ic_endpoint(sm, "young")
    creating = create_error(sm, "young")
    assert "is in Creating status" in creating
    assert "InService" in creating


def test_variant_model_and_compute_are_checked(sm: Any) -> None:
    assert create_error(sm, VariantName="other") == (
        'The variant name(s) "other" is/are not present within endpoint configuration "gpu-c1".'
    )
    assert create_error(sm, Specification=model_spec("ghost")) == (
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/ghost".'
    )
    assert create_error(sm, Specification={"ModelName": "m"}) == (
        "Specification must specify ComputeResourceRequirements."
    )
    assert create_error(sm, Specification={"ComputeResourceRequirements": COMPUTE}) == (
        "Specification must specify ModelName or Container."
    )
    high = {"MinMemoryRequiredInMb": 2048, "MaxMemoryRequiredInMb": 1024}
    assert "MaxMemoryRequiredInMb (1024)" in create_error(
        sm, Specification={"ModelName": "m", "ComputeResourceRequirements": high}
    )
    assert "at 'inferenceComponentName' failed to satisfy constraint" in create_error(
        sm, InferenceComponentName="bad_name"
    )
    assert create_error(sm, RuntimeConfig=None) == (
        "RuntimeConfig must be specified for an inference component."
    )


def test_components_need_a_variant_without_a_model(sm: Any, clock: ManualClock) -> None:
    make_endpoint(sm, "classic")
    clock.advance(10)
    assert 'hosts model "classic-m1"' in create_error(sm, "classic")


def test_variant_is_required_on_a_multi_variant_endpoint(sm: Any, clock: ManualClock) -> None:
    make_ic_endpoint(sm, "two", [ic_variant("a"), ic_variant("b")])
    clock.advance(10)
    assert create_error(sm, "two").startswith("VariantName must be specified")


def test_duplicate_component_is_rejected(sm: Any) -> None:
    params = make_component(sm, "llm", "gpu")
    _, message = error_of(lambda: sm.create_inference_component(**params))
    arn = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/llm"
    assert message == f'Cannot create already existing inference component "{arn}".'


@pytest.mark.parametrize(
    ("batch", "rollback", "expected"),
    [
        ({"Type": "CAPACITY_PERCENT", "Value": 60}, None, "MaximumBatchSize (60 CAPACITY_PERCENT)"),
        ({"Type": "CAPACITY_PERCENT", "Value": 4}, None, "MaximumBatchSize (4 CAPACITY_PERCENT)"),
        ({"Type": "COPY_COUNT", "Value": 3}, None, "MaximumBatchSize (3 COPY_COUNT)"),
        (
            {"Type": "COPY_COUNT", "Value": 2},
            {"Type": "CAPACITY_PERCENT", "Value": 150},
            "Capacity percent must be at most 100, got 150.",
        ),
    ],
)
def test_rolling_batch_sizes_are_checked(
    sm: Any, clock: ManualClock, batch: Any, rollback: Any, expected: str
) -> None:
    make_component(sm, "llm", "gpu", copies=4)
    clock.advance(10)
    policy: dict[str, Any] = {"MaximumBatchSize": batch, "WaitIntervalInSeconds": 60}
    if rollback:
        policy["RollbackMaximumBatchSize"] = rollback
    _, message = error_of(
        lambda: sm.update_inference_component(
            InferenceComponentName="llm",
            Specification=model_spec("llm-m1"),
            DeploymentConfig={"RollingUpdatePolicy": policy},
        )
    )
    assert message.startswith(expected)
    if expected.startswith("MaximumBatchSize"):
        assert message.endswith("of the copy count of the inference component (4).")


def test_list_filters_sorts_and_pages(sm: Any, clock: ManualClock) -> None:
    make_ic_endpoint(sm, "other")
    clock.advance(10)
    for name in ("alpha", "beta", "gamma"):
        make_component(sm, name, "gpu")
        clock.advance(1)
    make_component(sm, "delta", "other")
    clock.advance(10)
    listed = sm.list_inference_components(EndpointNameEquals="gpu")["InferenceComponents"]
    assert [c["InferenceComponentName"] for c in listed] == ["gamma", "beta", "alpha"]
    by_name = sm.list_inference_components(SortBy="Name", SortOrder="Ascending")
    names = [c["InferenceComponentName"] for c in by_name["InferenceComponents"]]
    assert names == ["alpha", "beta", "delta", "gamma"]
    assert (
        sm.list_inference_components(NameContains="amm")["InferenceComponents"][0][
            "InferenceComponentName"
        ]
        == "gamma"
    )
    assert sm.list_inference_components(VariantNameEquals="nope")["InferenceComponents"] == []
    assert len(sm.list_inference_components(StatusEquals="InService")["InferenceComponents"]) == 4
    first = sm.list_inference_components(MaxResults=3, SortBy="Name", SortOrder="Ascending")
    rest = sm.list_inference_components(
        MaxResults=3, SortBy="Name", SortOrder="Ascending", NextToken=first["NextToken"]
    )
    assert [c["InferenceComponentName"] for c in rest["InferenceComponents"]] == ["gamma"]
    assert "NextToken" not in rest
    paginator = sm.get_paginator("list_inference_components")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert sum(len(p["InferenceComponents"]) for p in pages) == 4


def test_tags_at_create_and_tagging_api(slow_sandbox: Sandbox, sm: Any) -> None:
    owned = [{"Key": "sagemaker-gitops/managed-by", "Value": "prod"}]
    make_component(sm, "llm", "gpu", Tags=owned)
    make_component(sm, "other", "gpu")
    arn = describe(sm, "llm")["InferenceComponentArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == owned
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ml"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == owned
    tagging = client(slow_sandbox, "resourcegroupstaggingapi")
    found = tagging.get_resources(
        TagFilters=[{"Key": "sagemaker-gitops/managed-by", "Values": ["prod"]}],
        ResourceTypeFilters=["sagemaker:inference-component"],
    )["ResourceTagMappingList"]
    assert [r["ResourceARN"] for r in found] == [arn]
    everything = tagging.get_resources(ResourceTypeFilters=["sagemaker"])
    arns = [r["ResourceARN"] for r in everything["ResourceTagMappingList"]]
    assert arn in arns
    endpoints_only = tagging.get_resources(ResourceTypeFilters=["sagemaker:endpoint"])
    assert arn not in [r["ResourceARN"] for r in endpoints_only["ResourceTagMappingList"]]


@pytest.fixture
def instant(clock: ManualClock) -> Iterator[Any]:
    """A client on a sandbox with zero-second transitions, endpoint `gpu` InService."""
    with Sandbox(transition_seconds=0.0, clock=clock) as running:
        sm = client(running)
        make_ic_endpoint(sm, "gpu")
        yield sm


def modified(sm: Any, name: str) -> tuple[Any, Any]:
    """(LastModifiedTime described, LastModifiedTime listed) of one component."""
    (listed,) = sm.list_inference_components(NameContains=name)["InferenceComponents"]
    return describe(sm, name)["LastModifiedTime"], listed["LastModifiedTime"]


def test_every_update_moves_last_modified_time_even_without_a_status_change(
    instant: Any, clock: ManualClock
) -> None:
    """AWS: LastModifiedTime is "the time when the inference component was last updated"; a
    zero-second update never leaves InService, yet it is an update (controllers rely on it)."""
    make_component(instant, "llm", "gpu")
    created = describe(instant, "llm")
    assert created["LastModifiedTime"] == created["CreationTime"]
    clock.advance(5)
    instant.update_inference_component_runtime_config(
        InferenceComponentName="llm", DesiredRuntimeConfig={"CopyCount": 3}
    )
    after_copies = modified(instant, "llm")
    assert after_copies[0] == after_copies[1] > created["LastModifiedTime"]
    assert describe(instant, "llm")["InferenceComponentStatus"] == "InService"
    clock.advance(5)
    instant.update_inference_component(
        InferenceComponentName="llm",
        Specification=model_spec(
            "llm-m1", StartupParameters={"ModelDataDownloadTimeoutInSeconds": 600}
        ),
    )
    after_spec = modified(instant, "llm")
    assert after_spec[0] == after_spec[1] > after_copies[0]
    clock.advance(5)
    arn = created["InferenceComponentArn"]
    instant.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ml"}])
    assert modified(instant, "llm") == after_spec  # tags are not an update of the component
