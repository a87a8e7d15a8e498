"""`validate`: the copies of a variant's inference components must fit on its instances; and the
instance hardware table behind the check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.cli import main
from controller.manifests import botocore_model as api
from controller.manifests.capacity import problems
from controller.manifests.instance_types import HARDWARE
from controller.manifests.models import EndpointSpec

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


def spec(
    components: list[dict[str, Any]],
    instance_type: str = "ml.g5.12xlarge",
    scaling: dict[str, Any] | None = None,
    count: int | None = None,
) -> EndpointSpec:
    variant: dict[str, Any] = {"name": "pool", "instanceType": instance_type}
    if scaling is not None:
        variant["managedInstanceScaling"] = scaling
    if count is not None:
        variant["initialInstanceCount"] = count
    return EndpointSpec.model_validate(
        {"executionRoleArn": ROLE, "variants": [variant], "inferenceComponents": components}
    )


def ic(name: str, copies: int, **compute: Any) -> dict[str, Any]:
    return {
        "name": name,
        "variant": "pool",
        "model": {"packageGroup": "llm", "version": 1},
        "compute": {"minMemoryMb": 1024, **compute},
        "copies": copies,
    }


def test_accelerators_beyond_the_instances_are_reported_at_the_tipping_copies() -> None:
    found = list(
        problems(
            spec(
                [ic("chat", 1, acceleratorDevices=2), ic("embed", 3, acceleratorDevices=2)],
                scaling={"minInstanceCount": 1, "maxInstanceCount": 1},
            )
        )
    )
    assert found == [
        (
            ("spec", "inferenceComponents", 1, "copies"),
            "1 copy x 2 accelerator devices (chat) + 3 copies x 2 accelerator devices (embed) "
            "= 8 > 1 x 4 on ml.g5.12xlarge at maxInstanceCount 1 of variant pool: SageMaker "
            "cannot place all the copies",
        )
    ]


def test_managed_scaling_counts_up_to_max_instances() -> None:
    """SageMaker adds instances up to maxInstanceCount to place copies: the shared-GPU example's
    5 devices fit a 1..2 pool of 4-GPU instances, not a 1..1 one, whatever the initial count."""
    components = [ic("chat", 2, acceleratorDevices=2), ic("embed", 1, acceleratorDevices=1)]
    up_to_two = {"minInstanceCount": 1, "maxInstanceCount": 2}
    assert not list(problems(spec(components, scaling=up_to_two, count=1)))
    only_one = {"minInstanceCount": 1, "maxInstanceCount": 1}
    assert len(list(problems(spec(components, scaling=only_one, count=1)))) == 1


def test_cpu_and_memory_are_checked_too() -> None:
    cpu = list(problems(spec([ic("cpu", 3, cpuCores=20)], "ml.c5.9xlarge", count=1)))
    assert [m for _, m in cpu] == [
        "3 copies x 20 CPU cores (cpu) = 60 > 1 x 36 on ml.c5.9xlarge at initialInstanceCount 1 "
        "of variant pool: SageMaker cannot place all the copies"
    ]
    memory = list(problems(spec([ic("big", 2, minMemoryMb=5000)], "ml.m5.large", count=1)))
    assert [m for _, m in memory] == [
        "2 copies x 5000 MB memory (big) = 10000 MB > 1 x 8192 MB on ml.m5.large at "
        "initialInstanceCount 1 of variant pool: SageMaker cannot place all the copies"
    ]


def test_a_gpu_reservation_on_a_cpu_instance_never_fits() -> None:
    (found,) = problems(spec([ic("gpu", 1, acceleratorDevices=1)], "ml.m5.xlarge", count=2))
    assert "= 1 > 2 x 0 on ml.m5.xlarge" in found[1]


def test_unknown_instance_types_and_zero_copies_are_not_checked() -> None:
    assert "ml.g4dn.xlarge" in HARDWARE and "ml.t2.medium" not in HARDWARE
    assert not list(problems(spec([ic("a", 99, acceleratorDevices=8)], "ml.t2.medium")))
    assert not list(problems(spec([ic("a", 0, acceleratorDevices=8)], "ml.g5.xlarge")))


def test_neuron_instances_allow_a_device_per_neuron_core() -> None:
    """Inferentia2 holds 2 NeuronCores per chip: 2 devices on inf2.xlarge is never refused."""
    assert not list(problems(spec([ic("n", 2, acceleratorDevices=1)], "ml.inf2.xlarge", count=1)))
    assert list(problems(spec([ic("n", 3, acceleratorDevices=1)], "ml.inf2.xlarge", count=1)))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(
    copies=st.lists(st.integers(0, 6), min_size=1, max_size=4),
    devices=st.integers(1, 4),
    instances=st.integers(1, 3),
)
def test_a_problem_exactly_when_the_reserved_devices_exceed_the_instances(
    copies: list[int], devices: int, instances: int
) -> None:
    components = [ic(f"c{i}", n, acceleratorDevices=devices) for i, n in enumerate(copies)]
    scaling = {"minInstanceCount": 1, "maxInstanceCount": instances}
    found = [
        (loc, m)
        for loc, m in problems(spec(components, "ml.g5.12xlarge", scaling=scaling))
        if "accelerator" in m
    ]
    over = sum(copies) * devices > instances * 4
    assert bool(found) == over
    if over:
        running = [sum(copies[: i + 1]) * devices for i in range(len(copies))]
        tipping = next(i for i, total in enumerate(running) if total > instances * 4)
        assert found[0][0] == ("spec", "inferenceComponents", tipping, "copies")


def test_every_table_row_is_a_botocore_instance_type() -> None:
    allowed = set(api.enum("ProductionVariantInstanceType"))
    assert sorted(set(HARDWARE) - allowed) == []


@pytest.mark.parametrize(
    "family",
    [
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "p3",
        "p4d",
        "p5",
        "inf1",
        "inf2",
        "trn1",
        "c5",
        "c6i",
        "c7i",
        "m5",
        "m6i",
        "m7i",
        "r5",
    ],
)
def test_each_family_is_covered(family: str) -> None:
    assert any(name.split(".")[1] == family for name in HARDWARE)


def test_validate_cli_reports_the_copies_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gpu.yaml").write_text(
        f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata: {{name: gpu}}
spec:
  executionRoleArn: {ROLE}
  variants:
    - name: pool
      instanceType: ml.g5.12xlarge
      managedInstanceScaling: {{minInstanceCount: 1, maxInstanceCount: 1}}
  inferenceComponents:
    - name: chat
      variant: pool
      model: {{packageGroup: llm, version: 1}}
      compute: {{acceleratorDevices: 2, minMemoryMb: 1024}}
      copies: 3
"""
    )
    saved = structlog.get_config()
    try:
        assert main(["validate", str(tmp_path)]) == 1
    finally:  # the CLI configures logging for the process: leave it as the next test expects
        structlog.configure(**saved)
    err = capsys.readouterr().err
    assert f"{tmp_path}/gpu.yaml:15: spec.inferenceComponents[0].copies: 3 copies x 2 " in err
    assert "= 6 > 1 x 4 on ml.g5.12xlarge at maxInstanceCount 1" in err
