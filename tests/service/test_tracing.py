"""OpenTelemetry: a span per reconcile with the AWS calls it made as children (in-memory)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from controller.cli import build_parser
from controller.commands.run import _config, build_runner
from controller.core.plan.outcomes import OutcomeKind
from controller.service import tracing
from tests.e2e.conftest import World, registry_manifest, world  # noqa: F401 (fixture)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()


def test_no_endpoint_variable_means_no_tracing() -> None:
    assert tracing.setup_from_env({}) is False
    with tracing.reconcile_span("churn", "us-east-1/churn", None, "apply") as span:
        assert span is None


def test_each_reconcile_is_a_span_with_its_aws_calls_inside(
    world: World,  # noqa: F811
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    world.write("churn.yaml", registry_manifest())
    args = build_parser().parse_args(["run", "-m", str(world.root), "--http-port", "0"])
    runner = build_runner(args, _config(args))
    runner.reload(full=False)
    outcome = runner.process("us-east-1/churn")
    assert outcome is not None and outcome.kind is OutcomeKind.REQUEUE

    finished = spans.get_finished_spans()
    reconciles = [s for s in finished if s.name == "reconcile"]
    assert len(reconciles) == 1
    root = reconciles[0]
    assert root.attributes is not None
    assert root.attributes["sagemaker_gitops.endpoint"] == "churn"
    assert root.attributes["sagemaker_gitops.outcome"] == "Requeue"
    assert root.attributes["sagemaker_gitops.mutated"] is True
    calls = [
        s for s in finished if s.parent is not None and s.parent.span_id == root.context.span_id
    ]
    names = {s.name for s in calls}
    assert {"SageMaker.DescribeEndpoint", "SageMaker.CreateEndpoint"} <= names, names
