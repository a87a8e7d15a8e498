"""Small contracts a newcomer meets first: the region chain, mutation log levels, and failure
messages that read as sentences."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from builders import desired, live, manifest, options, registry_variant, rolled_out_from

from controller.aws.applying import apply_endpoint
from controller.aws.clients import AwsOptions, Clients, resolve_region
from controller.core import tagging
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import Action, EndpointPlan, Op, Reason, ResourceType, Status


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        ("eu-west-1", {"AWS_REGION": "us-west-2"}, "eu-west-1"),
        (None, {"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-1"}, "us-west-2"),
        (None, {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east-1"}, None),
        (None, {"AWS_DEFAULT_REGION": "us-east-1"}, None),  # left to botocore
    ],
)
def test_region_precedence(
    explicit: str | None, environ: dict[str, str], expected: str | None
) -> None:
    assert resolve_region(explicit, environ) == expected


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"AWS_REGION": "us-west-2"}, "us-west-2"),
        ({"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "us-east-1"}, "us-west-2"),
        ({"AWS_DEFAULT_REGION": "eu-central-1"}, "eu-central-1"),
    ],
)
def test_clients_take_the_region_like_the_aws_cli(
    environ: dict[str, str], expected: str, monkeypatch: Any, tmp_path: Any
) -> None:
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    assert Clients(AwsOptions()).default_region == expected


class _Client:
    def __getattr__(self, name: str) -> Any:
        return lambda **_: {}


def _action(op: Op, kind: ResourceType, call: str) -> Action:
    return Action(op, kind, f"churn-{op.value}", Reason.NEW_ENDPOINT, call=call, request={})


def test_mutations_are_logged_with_the_resource_and_deletes_at_warning() -> None:
    plan = EndpointPlan(
        name="churn",
        manifest="churn.yaml",
        region="us-east-1",
        status=Status.UPDATE,
        actions=(
            _action(Op.CREATE, ResourceType.MODEL, "create_model"),
            _action(Op.DELETE, ResourceType.ENDPOINT_CONFIG, "delete_endpoint_config"),
        ),
    )
    with (
        structlog.contextvars.bound_contextvars(revision="abc123"),
        structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as logs,
    ):
        apply_endpoint(_Client(), plan)
    levels = {entry["resource"]: entry["log_level"] for entry in logs}
    assert levels == {"churn-create": "info", "churn-delete": "warning"}
    assert all(e["endpoint"] == "churn" and e["revision"] == "abc123" for e in logs)


def test_failed_rollout_message_has_one_period_after_the_failure_reason() -> None:
    old = desired(manifest(variants=[registry_variant(version=6)]))
    new = desired(manifest(variants=[registry_variant(version=7)]))
    reason = "The primary container did not pass the ping health check. Check the logs."
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: new.config_name}
    endpoint = live(old, failure_reason=reason)
    seen = rolled_out_from(old, new, endpoint=endpoint, endpoint_tags=tags)
    plan = diff_endpoint(new, seen, options())
    assert "Check the logs. It is not retried" in plan.errors[0]
    assert ".." not in plan.errors[0]


def test_failed_endpoint_message_has_one_period() -> None:
    want = desired()
    endpoint = live(want, status="Failed", failure_reason="Capacity error.")
    seen = rolled_out_from(want, want, endpoint=endpoint, endpoint_tags=dict(want.tags))
    plan = diff_endpoint(want, seen, options())
    assert "Capacity error. SageMaker can only delete" in plan.errors[0]
