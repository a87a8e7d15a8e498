"""The diff: desired x observed -> plan. One table row or test per situation a reconcile meets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from builders import (
    ALARMS,
    CANARY,
    PROPERTY,
    byom_variant,
    desired,
    endpoint_arn,
    live,
    manifest,
    manifests,
    mirror,
    options,
    registry_variant,
    rolled_out_from,
    unowned,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.diffs import Observed, diff_endpoint
from controller.core.endpoint.health import health_of
from controller.core.livestate import LiveEndpoint
from controller.core.plan.changes import field_changes
from controller.core.plan.plans import (
    Action,
    EndpointPlan,
    FieldChange,
    Health,
    Op,
    Reason,
    ResourceType,
    Status,
)
from controller.core.prune.removal import diff_removed

M, EC, EP = ResourceType.MODEL, ResourceType.ENDPOINT_CONFIG, ResourceType.ENDPOINT


def shape(plan: EndpointPlan) -> list[tuple[Op, ResourceType]]:
    return [(a.op, a.type) for a in plan.actions]


def only(plan: EndpointPlan, op: Op, kind: ResourceType) -> Action:
    (action,) = [a for a in plan.actions if a.op is op and a.type is kind]
    return action


def diff(want: DesiredEndpoint, seen: Observed, **opts: Any) -> EndpointPlan:
    return diff_endpoint(want, seen, options(**opts))


def version(n: int, **spec: Any) -> DesiredEndpoint:
    return desired(manifest(variants=[registry_variant(version=n)], **spec))


# -- create ------------------------------------------------------------------------------------


def test_no_endpoint_creates_models_config_and_endpoint_in_order() -> None:
    want = desired(manifest(variants=[registry_variant(), byom_variant()]))
    seen = Observed(None, missing_models=frozenset(m.name for m in want.models))
    plan = diff(want, seen)
    assert plan.status is Status.CREATE
    assert plan.health is Health.MISSING
    assert shape(plan) == [(Op.CREATE, M), (Op.CREATE, M), (Op.CREATE, EC), (Op.CREATE, EP)]
    assert {a.reason for a in plan.actions} == {Reason.NEW_ENDPOINT}
    assert [a.call for a in plan.actions] == [
        "create_model",
        "create_model",
        "create_endpoint_config",
        "create_endpoint",
    ]
    tags = tagging.to_list(want.tags)
    model_actions = plan.actions[:2]
    assert [a.name for a in model_actions] == [m.name for m in want.models]
    assert model_actions[0].request == {**want.models[0].request, "Tags": tags}
    assert plan.actions[2].request == {**want.config_request, "Tags": tags}
    assert plan.actions[3].request == {
        "EndpointName": "churn-prod",
        "EndpointConfigName": want.config_name,
        "Tags": tagging.to_list(
            {
                **want.tags,
                tagging.ATTEMPTED_CONFIG: want.config_name,
                tagging.HISTORY: "",
                tagging.OBSERVED: tagging.OBSERVED_PENDING,
            }
        ),
    }
    assert plan.models == {"primary": "churn-xgb v7", "byom": want.models[1].display}
    assert not plan.errors and plan.held is None


@pytest.mark.parametrize(
    ("missing", "config_exists", "expected"),
    [
        pytest.param({0, 1}, False, [(Op.CREATE, M), (Op.CREATE, M), (Op.CREATE, EC)], id="none"),
        pytest.param({1}, False, [(Op.CREATE, M), (Op.CREATE, EC)], id="one-model-exists"),
        pytest.param(set(), False, [(Op.CREATE, EC)], id="models-exist"),
        pytest.param(set(), True, [], id="everything-but-the-endpoint-exists"),
    ],
)
def test_create_skips_what_exists(
    missing: set[int], config_exists: bool, expected: list[tuple[Op, ResourceType]]
) -> None:
    want = desired(manifest(variants=[registry_variant(), byom_variant()]))
    names = frozenset(want.models[i].name for i in missing)
    plan = diff(want, Observed(None, missing_models=names, config_exists=config_exists))
    assert shape(plan) == [*expected, (Op.CREATE, EP)]
    assert plan.status is Status.CREATE


def test_suspended_create_is_held() -> None:
    want = desired(manifest(suspend=True))
    plan = diff(want, Observed(None, missing_models=frozenset(m.name for m in want.models)))
    assert plan.actions and plan.held and "suspend" in plan.held


# -- no change ---------------------------------------------------------------------------------


def test_matching_account_is_unchanged() -> None:
    want = desired()
    plan = diff(want, mirror(want))
    assert plan.status is Status.UNCHANGED
    assert plan.health is Health.HEALTHY
    assert plan.actions == () and plan.warnings == () and plan.errors == ()
    assert plan.held is None
    assert plan.revision == "abc123"


def test_bookkeeping_tags_alone_never_cause_an_action() -> None:
    want = desired(revision="new-commit", source="moved/churn.yaml")
    stale = {
        **want.tags,
        tagging.REVISION: "old-commit",
        tagging.SOURCE: "prod/churn.yaml",
        tagging.SPEC_HASH: "0123456789ab",
        tagging.ATTEMPTED_CONFIG: "churn-prod-00000000",
        "aws:cloudformation:stack-name": "legacy",
    }
    seen = mirror(want, endpoint_tags=stale, resource_tags={want.config_name: stale})
    plan = diff(want, seen)
    assert plan.status is Status.UNCHANGED
    assert plan.actions == ()


def test_missing_revision_tag_alone_is_not_a_change() -> None:
    want = desired(revision="abc123")
    plan = diff(want, mirror(want, endpoint_tags=tagging_without_revision(want)))
    assert plan.actions == ()


def tagging_without_revision(want: DesiredEndpoint) -> dict[str, str]:
    return {k: v for k, v in want.tags.items() if k != tagging.REVISION}


# -- rollouts (new Model/EndpointConfig + UpdateEndpoint) ---------------------------------------


def test_version_bump_rolls_out_a_new_model_and_config() -> None:
    old, new = version(6, deployment=CANARY), version(7, deployment=CANARY)
    plan = diff(new, rolled_out_from(old, new))
    assert plan.status is Status.UPDATE
    assert shape(plan) == [(Op.CREATE, M), (Op.CREATE, EC), (Op.UPDATE, EP)]
    assert {a.reason for a in plan.actions} == {Reason.VERSION_CHANGED}
    update = only(plan, Op.UPDATE, EP)
    assert update.call == "update_endpoint"
    assert update.changes == (FieldChange("variants[primary].model.version", 6, 7),)
    assert update.request == {
        "EndpointName": "churn-prod",
        "EndpointConfigName": new.config_name,
        "DeploymentConfig": new.deployment_config,
    }
    assert update.request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert only(plan, Op.CREATE, M).name == new.models[0].name
    assert only(plan, Op.CREATE, EC).name == new.config_name
    # The attempt is recorded (AddTags just before UpdateEndpoint), so a failed rollout is
    # recognised later.
    assert update.tags_set[tagging.ATTEMPTED_CONFIG] == new.config_name
    assert update.resource_arn.endswith(":endpoint/churn-prod")
    assert plan.warnings == ()


def test_rollout_without_deployment_config_sends_none() -> None:
    old, new = version(6), version(7)
    update = only(diff(new, rolled_out_from(old, new)), Op.UPDATE, EP)
    assert "DeploymentConfig" not in update.request


def test_rollout_reuses_existing_models_and_config() -> None:
    old, new = version(6), version(7)
    seen = rolled_out_from(old, new, missing_models=frozenset(), config_exists=True)
    assert shape(diff(new, seen)) == [(Op.UPDATE, EP)]


def test_rollout_resumes_after_a_crash_before_update_endpoint() -> None:
    """Tagged with the attempt, models and config made, then killed: only the update is left."""
    old, new = version(6), version(7)
    tags = {**new.tags, tagging.ATTEMPTED_CONFIG: new.config_name}  # the crashed run's AddTags
    seen = rolled_out_from(
        old, new, endpoint_tags=tags, missing_models=frozenset(), config_exists=True
    )
    plan = diff(new, seen)
    assert shape(plan) == [(Op.UPDATE, EP)]  # no empty AddTags call
    assert plan.status is Status.UPDATE


def test_notes_are_attached_to_field_changes() -> None:
    old, new = version(6), version(7)
    note = "Approved 2026-01-02 by alice"
    plan = diff(new, rolled_out_from(old, new), notes={"variants[primary].model.version": note})
    assert only(plan, Op.UPDATE, EP).changes[0].note == note


@pytest.mark.parametrize(
    ("before", "after", "reason", "path"),
    [
        pytest.param(
            {"instanceType": "ml.m5.xlarge"},
            {"instanceType": "ml.c5.xlarge"},
            Reason.CONFIG_IMMUTABLE,
            "variants[primary].instanceType",
            id="instance-type",
        ),
        pytest.param(
            {"volumeSizeInGB": 30},
            {"volumeSizeInGB": 60},
            Reason.CONFIG_IMMUTABLE,
            "variants[primary].volumeSizeInGB",
            id="volume",
        ),
        pytest.param(
            {"model": {"packageGroup": "churn-xgb", "version": 7}},
            {"model": {"packageGroup": "churn-lgbm", "version": 7}},
            Reason.VERSION_CHANGED,
            "variants[primary].model.packageGroup",
            id="package-group",
        ),
        pytest.param(
            {},
            {"model": {"packageGroup": "churn-xgb", "version": 7, "environment": {"A": "1"}}},
            Reason.CONFIG_IMMUTABLE,
            "variants[primary].model.environment.A",
            id="environment",
        ),
    ],
)
def test_rollout_reasons_and_changes(
    before: dict[str, Any], after: dict[str, Any], reason: Reason, path: str
) -> None:
    old = desired(manifest(variants=[registry_variant(**before)]))
    new = desired(manifest(variants=[registry_variant(**after)]))
    plan = diff(new, rolled_out_from(old, new))
    update = only(plan, Op.UPDATE, EP)
    assert update.reason is reason
    assert [c.path for c in update.changes] == [path]


@pytest.mark.parametrize(
    ("spec", "path", "after"),
    [
        pytest.param({"kmsKeyId": "alias/volumes"}, "kmsKeyId", "alias/volumes", id="kms"),
        pytest.param(
            {
                "dataCapture": {
                    "initialSamplingPercentage": 5,
                    "destinationS3Uri": "s3://bucket/capture",
                    "captureOptions": [{"captureMode": "Input"}],
                }
            },
            "dataCapture.initialSamplingPercentage",
            5,
            id="data-capture",
        ),
    ],
)
def test_endpoint_level_config_changes_are_named(
    spec: dict[str, Any], path: str, after: Any
) -> None:
    old, new = desired(), desired(manifest(**spec))
    update = only(diff(new, rolled_out_from(old, new)), Op.UPDATE, EP)
    assert update.reason is Reason.CONFIG_IMMUTABLE
    assert FieldChange(path, None, after) in update.changes


def test_config_changed_outside_the_controller_is_drift() -> None:
    want = desired()
    seen = mirror(
        want,
        endpoint=live(want, config_name="churn-prod-hand-made"),
        live_terms=dict(want.terms),
        config_exists=True,
    )
    update = only(diff(want, seen), Op.UPDATE, EP)
    assert update.reason is Reason.DRIFT
    assert update.changes == (
        FieldChange("endpointConfigName", "churn-prod-hand-made", want.config_name),
    )


def test_unreadable_live_config_still_rolls_out() -> None:
    old, new = version(6), version(7)
    update = only(diff(new, rolled_out_from(old, new, live_terms=None)), Op.UPDATE, EP)
    assert update.reason is Reason.CONFIG_IMMUTABLE
    assert update.changes == (FieldChange("endpointConfigName", old.config_name, new.config_name),)


# -- weights and capacity in place -------------------------------------------------------------


def test_weights_only_updates_in_place() -> None:
    want = desired(manifest(variants=[registry_variant(weight=3, count=4)]))
    seen = mirror(want, endpoint=live(want, weights={"primary": (1.0, 2)}))
    plan = diff(want, seen)
    assert plan.status is Status.UPDATE
    (action,) = plan.actions
    assert (action.op, action.type, action.reason) == (Op.UPDATE, EP, Reason.WEIGHTS_ONLY)
    assert action.call == "update_endpoint_weights_and_capacities"
    assert action.request == {
        "EndpointName": "churn-prod",
        "DesiredWeightsAndCapacities": [
            {"VariantName": "primary", "DesiredWeight": 3.0, "DesiredInstanceCount": 4}
        ],
    }
    assert action.changes == (
        FieldChange("variants[primary].initialWeight", 1.0, 3.0),
        FieldChange("variants[primary].initialInstanceCount", 2, 4),
    )
    assert "variant primary: traffic weight 1.0 -> 3.0" in plan.warnings
    assert "variant primary: instance count 2 -> 4" in plan.warnings


def test_weights_only_with_a_new_revision_also_refreshes_bookkeeping() -> None:
    want = desired(manifest(variants=[registry_variant(weight=3)]), revision="new")
    tags = {**want.tags, tagging.REVISION: "old"}
    seen = mirror(want, endpoint=live(want, weights={"primary": (1.0, 2)}), endpoint_tags=tags)
    plan = diff(want, seen)
    assert shape(plan) == [(Op.UPDATE, EP)]
    update = only(plan, Op.UPDATE, EP)
    # The weights change moves LastModifiedTime: the observed stamp waits for the settled pass.
    assert update.tags_set == {tagging.REVISION: "new", tagging.OBSERVED: tagging.OBSERVED_PENDING}
    assert [c.path for c in update.changes] == ["variants[primary].initialWeight"]


def test_serverless_weights_carry_no_instance_count() -> None:
    serverless = {"memorySizeInMB": 2048, "maxConcurrency": 5}
    variants = [registry_variant(weight=1), byom_variant(serverless=serverless, weight=3)]
    want = desired(manifest(variants=variants))
    seen = mirror(want, endpoint=live(want, weights={"primary": (1.0, 2), "byom": (1.0, None)}))
    (action,) = diff(want, seen).actions
    assert action.request["DesiredWeightsAndCapacities"] == [
        {"VariantName": "primary", "DesiredWeight": 1.0, "DesiredInstanceCount": 2},
        {"VariantName": "byom", "DesiredWeight": 3.0},
    ]


def test_weights_within_tolerance_are_equal() -> None:
    want = desired(manifest(variants=[registry_variant(weight=0.3)]))
    seen = mirror(want, endpoint=live(want, weights={"primary": (0.1 + 0.2, 2)}))
    assert diff(want, seen).actions == ()


# -- tags only ---------------------------------------------------------------------------------


def test_tag_only_change_uses_add_and_delete_tags() -> None:
    want = desired(manifest(tags={"team": "ml", "cost-center": "42"}))
    have = {**want.tags, "team": "data", "obsolete": "x"}
    del have["cost-center"]
    seen = mirror(
        want,
        endpoint_tags=have,
        resource_tags={want.config_name: have, want.models[0].name: dict(want.tags)},
    )
    plan = diff(want, seen)
    assert plan.status is Status.UPDATE
    assert {a.op for a in plan.actions} == {Op.TAG}
    assert {a.reason for a in plan.actions} == {Reason.TAGS_ONLY}
    assert shape(plan) == [(Op.TAG, EP), (Op.TAG, EC)]  # the model's tags already match
    endpoint_tags, config_tags = plan.actions
    assert endpoint_tags.tags_set == {"cost-center": "42", "team": "ml"}
    assert endpoint_tags.tags_removed == ("obsolete",)
    assert endpoint_tags.request == {"ResourceArn": endpoint_arn("churn-prod")}
    assert endpoint_tags.changes == (
        FieldChange("tags.cost-center", None, "42"),
        FieldChange("tags.obsolete", "x", None),
        FieldChange("tags.team", "data", "ml"),
    )
    assert config_tags.name == want.config_name
    assert config_tags.request["ResourceArn"].endswith(f":endpoint-config/{want.config_name}")
    assert config_tags.tags_set == {"cost-center": "42", "team": "ml"}
    assert config_tags.tags_removed == ("obsolete",)


def test_resources_missing_from_the_index_are_not_retagged() -> None:
    want = desired(manifest(tags={"team": "ml"}))
    plan = diff(want, mirror(want, resource_tags={}))
    assert plan.actions == ()


def test_aws_tags_are_never_removed() -> None:
    want = desired()
    have = {**want.tags, "aws:cloudformation:stack-id": "x"}
    assert diff(want, mirror(want, endpoint_tags=have)).actions == ()


# -- ownership -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "phrase"),
    [
        pytest.param(None, "not managed by sagemaker-gitops", id="untagged"),
        pytest.param("blue", "managed by controller 'blue'", id="other-controller"),
    ],
)
def test_unowned_endpoint_is_left_alone(holder: str | None, phrase: str) -> None:
    old, new = version(6), version(7)
    tags = unowned(old.tags) if holder is None else {**old.tags, tagging.MANAGED_BY: holder}
    plan = diff(new, rolled_out_from(old, new, endpoint_tags=tags))
    assert plan.status is Status.ERROR
    assert plan.actions == ()
    (error,) = plan.errors
    assert phrase in error and "adopt" in error


def test_unowned_endpoint_with_unknown_tags_is_left_alone() -> None:
    want = desired()
    plan = diff(want, mirror(want, endpoint_tags=None))
    assert plan.status is Status.ERROR and plan.actions == ()


def test_adopt_takes_over_an_unowned_endpoint() -> None:
    want = desired(manifest(adopt=True))
    seen = Observed(
        live(want, config_name="hand-made-config"),
        endpoint_tags={"team": "ml"},
        missing_models=frozenset(m.name for m in want.models),
    )
    plan = diff(want, seen)
    assert plan.status is Status.UPDATE
    assert shape(plan) == [(Op.CREATE, M), (Op.CREATE, EC), (Op.UPDATE, EP)]
    assert {a.reason for a in plan.actions} == {Reason.ADOPT}
    tag = only(plan, Op.UPDATE, EP)
    assert tag.tags_set[tagging.MANAGED_BY] == "default"
    assert tag.tags_removed == ("team",)


# -- failures ------------------------------------------------------------------------------------


def test_failed_endpoint_needs_recreate_failed() -> None:
    want = desired()
    seen = mirror(want, endpoint=live(want, status="Failed", failure_reason="image not found"))
    plan = diff(want, seen)
    assert plan.status is Status.ERROR
    assert plan.health is Health.DEGRADED
    assert plan.actions == ()
    assert "--recreate-failed" in plan.errors[0] and "image not found" in plan.errors[0]


def test_recreate_failed_deletes_the_endpoint() -> None:
    want = desired()
    seen = mirror(want, endpoint=live(want, status="Failed", failure_reason="boom"))
    plan = diff(want, seen, recreate_failed=True)
    assert plan.status is Status.UPDATE
    (action,) = plan.actions
    assert (action.op, action.type, action.reason) == (Op.DELETE, EP, Reason.RECREATE_FAILED)
    assert action.request == {"EndpointName": "churn-prod"}
    assert "Failed" in plan.warnings[0]


def test_recreate_failed_never_touches_an_unowned_endpoint() -> None:
    want = desired()
    seen = mirror(
        want, endpoint=live(want, status="Failed"), endpoint_tags=unowned(dict(want.tags))
    )
    plan = diff(want, seen, recreate_failed=True)
    assert plan.status is Status.ERROR and plan.actions == ()


@pytest.mark.parametrize("status", ["UpdateRollbackFailed", "OutOfService"])
def test_statuses_that_need_a_human(status: str) -> None:
    want = desired()
    plan = diff(want, mirror(want, endpoint=live(want, status=status, failure_reason="x")))
    assert plan.status is Status.ERROR and plan.actions == ()
    assert "manual attention" in plan.errors[0]


def failed_rollout(old: DesiredEndpoint) -> LiveEndpoint:
    """Back InService on the old config after a rollout was rolled back."""
    return live(old, failure_reason="alarm churn-5xx fired")


def test_failed_rollout_is_not_retried() -> None:
    old, new = version(6), version(7)
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: new.config_name}
    seen = rolled_out_from(old, new, endpoint=failed_rollout(old), endpoint_tags=tags)
    plan = diff(new, seen)
    assert plan.status is Status.ERROR
    # Only the tag that remembers the failure: no new config, no UpdateEndpoint.
    [remember] = plan.actions
    assert remember.op is Op.TAG
    assert remember.tags_set[tagging.FAILED_CONFIG] == new.config_name
    assert "not retried" in plan.errors[0] and "alarm churn-5xx fired" in plan.errors[0]


def test_a_failed_rollout_heals_counts_only_where_the_instance_type_is_unchanged() -> None:
    """The old fleet keeps its own count when the failed config changed its instance type: the
    manifest's 1 x ml.g5.2xlarge says nothing about how many ml.m5.xlarge must serve meanwhile."""
    old = desired(manifest(variants=[registry_variant(count=4)]))
    new = desired(manifest(variants=[registry_variant(instance_type="ml.g5.2xlarge", count=1)]))
    same = desired(manifest(variants=[registry_variant(version=8, count=1)]))
    failed_tags = {**old.tags, tagging.ATTEMPTED_CONFIG: new.config_name}

    retyped = diff(
        new, rolled_out_from(old, new, endpoint=failed_rollout(old), endpoint_tags=failed_tags)
    )
    same_tags = {**old.tags, tagging.ATTEMPTED_CONFIG: same.config_name}
    kept = diff(
        same, rolled_out_from(old, same, endpoint=failed_rollout(old), endpoint_tags=same_tags)
    )

    assert all(a.call != "update_endpoint_weights_and_capacities" for a in retyped.actions)
    [heal] = [a for a in kept.actions if a.call == "update_endpoint_weights_and_capacities"]
    assert heal.request["DesiredWeightsAndCapacities"][0]["DesiredInstanceCount"] == 1


def test_a_failed_rollout_stays_failed_when_sagemaker_no_longer_says_so() -> None:
    """FailureReason can be cleared by a later change (a capacity heal); the failed-config tag
    keeps the failed config from reading as a hand edit, which would be rolled out again."""
    old, new = version(6), version(7)
    tags = {
        **new.tags,  # the rollout tagged the endpoint with its attempt before it failed
        tagging.ATTEMPTED_CONFIG: new.config_name,
        tagging.FAILED_CONFIG: new.config_name,
    }
    seen = rolled_out_from(old, new, endpoint=live(old), endpoint_tags=tags)
    plan = diff(new, seen)
    assert plan.status is Status.ERROR and plan.actions == ()
    assert "not retried" in plan.errors[0]


def test_a_new_manifest_after_a_failed_rollout_proceeds() -> None:
    old, failed, fixed = version(6), version(7), version(8)
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: failed.config_name}
    seen = rolled_out_from(old, fixed, endpoint=failed_rollout(old), endpoint_tags=tags)
    plan = diff(fixed, seen)
    assert plan.status is Status.UPDATE
    assert only(plan, Op.UPDATE, EP).request["EndpointConfigName"] == fixed.config_name


def test_read_error_is_reported_as_unknown_health() -> None:
    want = desired()
    plan = diff(want, Observed(None, read_error="reading live state failed: throttled"))
    assert plan.status is Status.ERROR and plan.health is Health.UNKNOWN
    assert plan.errors == ("reading live state failed: throttled",)


# -- held: busy or suspended --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Updating", "Creating", "SystemUpdating", "RollingBack"])
def test_busy_endpoint_holds_changes(status: str) -> None:
    old, new = version(6), version(7)
    seen = rolled_out_from(old, new, endpoint=live(old, status=status))
    plan = diff(new, seen)
    assert plan.status is Status.UPDATE and plan.actions
    assert plan.held is not None and status in plan.held
    assert plan.health is Health.PROGRESSING


def test_busy_endpoint_without_changes_is_not_held() -> None:
    want = desired()
    plan = diff(want, mirror(want, endpoint=live(want, status="Updating")))
    assert plan.status is Status.UNCHANGED and plan.held is None
    assert plan.health is Health.PROGRESSING


def test_busy_endpoint_mid_rollout_is_not_mistaken_for_a_failed_one() -> None:
    old, new = version(6), version(7)
    tags = {**old.tags, tagging.ATTEMPTED_CONFIG: new.config_name}
    endpoint = live(old, status="RollingBack", failure_reason="alarm fired")
    plan = diff(new, rolled_out_from(old, new, endpoint=endpoint, endpoint_tags=tags))
    assert plan.status is not Status.ERROR and plan.held


def test_suspended_endpoint_reports_but_holds() -> None:
    old, new = version(6, suspend=True), version(7, suspend=True)
    plan = diff(new, rolled_out_from(old, new))
    assert plan.actions and plan.held is not None and "suspend" in plan.held


def test_suspended_endpoint_without_changes_is_not_held() -> None:
    want = desired(manifest(suspend=True))
    assert diff(want, mirror(want)).held is None


# -- warnings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "warning"),
    [
        pytest.param(
            registry_variant(),
            registry_variant(instance_type="ml.c5.xlarge"),
            "variant primary: instance type ml.m5.xlarge -> ml.c5.xlarge",
            id="instance-type",
        ),
        pytest.param(
            registry_variant(),
            {
                **registry_variant(count=None),
                "instanceType": None,
                "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5},
            },
            "variant primary: switches instance-based -> serverless",
            id="to-serverless",
        ),
        pytest.param(
            {
                **registry_variant(count=None),
                "instanceType": None,
                "serverless": {"memorySizeInMB": 2048, "maxConcurrency": 5},
            },
            registry_variant(),
            "variant primary: switches serverless -> instance-based",
            id="to-instances",
        ),
        pytest.param(
            registry_variant(weight=1),
            registry_variant(weight=2, version=8),
            "variant primary: traffic weight 1.0 -> 2.0",
            id="weight-shift-in-rollout",
        ),
    ],
)
def test_rollout_warnings(before: dict[str, Any], after: dict[str, Any], warning: str) -> None:
    old = desired(manifest(variants=[before]))
    new = desired(manifest(variants=[after]))
    plan = diff(new, rolled_out_from(old, new))
    assert warning in plan.warnings


@pytest.mark.parametrize(
    ("labels", "deployment", "warned"),
    [
        pytest.param({"env": "prod"}, None, True, id="prod-no-deployment"),
        pytest.param(
            {"env": "Production"},
            {
                "rollingUpdatePolicy": {
                    "maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1},
                    "waitIntervalInSeconds": 60,
                }
            },
            True,
            id="prod-rolling-no-alarms",
        ),
        pytest.param({"env": "prod"}, ALARMS, False, id="prod-with-alarms"),
        pytest.param({"env": "staging"}, None, False, id="staging"),
        pytest.param({}, None, False, id="no-labels"),
    ],
)
def test_production_rollouts_without_alarms_are_flagged(
    labels: dict[str, str], deployment: dict[str, Any] | None, warned: bool
) -> None:
    spec: dict[str, Any] = {"labels": labels}
    if deployment:
        spec["deployment"] = deployment
    old, new = version(6, **spec), version(7, **spec)
    plan = diff(new, rolled_out_from(old, new))
    assert any("auto-rollback alarm" in w for w in plan.warnings) is warned


def test_prod_weight_shift_is_not_flagged_for_alarms() -> None:
    want = desired(manifest(variants=[registry_variant(weight=2)], labels={"env": "prod"}))
    plan = diff(want, mirror(want, endpoint=live(want, weights={"primary": (1.0, 2)})))
    assert not any("auto-rollback" in w for w in plan.warnings)


# -- garbage collection of superseded history --------------------------------------------------

SUPERSEDED = ((EC, "churn-prod-00000001"), (M, "churn-prod-primary-00000001"))


def test_superseded_history_is_collected_when_in_sync() -> None:
    want = desired()
    plan = diff(want, mirror(want, superseded=SUPERSEDED))
    assert plan.status is Status.UPDATE
    assert shape(plan) == [(Op.DELETE, EC), (Op.DELETE, M)]
    assert {a.reason for a in plan.actions} == {Reason.SUPERSEDED}
    assert [a.request for a in plan.actions] == [
        {"EndpointConfigName": "churn-prod-00000001"},
        {"ModelName": "churn-prod-primary-00000001"},
    ]


@pytest.mark.parametrize(
    "seen_changes",
    [
        pytest.param({"status": "Updating"}, id="not-in-service"),
        pytest.param({"weights": {"primary": (5.0, 2)}}, id="other-actions"),
    ],
)
def test_superseded_history_waits(seen_changes: dict[str, Any]) -> None:
    want = desired()
    seen = mirror(want, endpoint=live(want, **seen_changes), superseded=SUPERSEDED)
    assert not any(a.op is Op.DELETE for a in diff(want, seen).actions)


def test_superseded_history_waits_for_tag_changes() -> None:
    want = desired(manifest(tags={"team": "ml"}))
    seen = mirror(want, endpoint_tags=dict(desired().tags), superseded=SUPERSEDED)
    assert shape(diff(want, seen)) == [(Op.TAG, EP)]


# -- manifest removed ----------------------------------------------------------------------------

LEFTOVERS = ((EC, "gone-00000001"), (M, "gone-primary-00000001"))


def _live_gone(status: str = "InService") -> LiveEndpoint:
    return LiveEndpoint("gone", endpoint_arn("gone"), status, "gone-00000001")


@pytest.mark.parametrize(
    ("endpoint", "confirmed", "prune", "status", "expected"),
    [
        pytest.param(_live_gone(), True, False, Status.UNCHANGED, [], id="no-prune"),
        pytest.param(_live_gone(), True, True, Status.DELETE, [(Op.DELETE, EP)], id="prune"),
        pytest.param(_live_gone(), False, True, Status.ERROR, [], id="prune-unconfirmed"),
        pytest.param(
            _live_gone("Deleting"), True, True, Status.UNCHANGED, [], id="already-deleting"
        ),
        pytest.param(
            None, False, True, Status.DELETE, [(Op.DELETE, EC), (Op.DELETE, M)], id="leftovers"
        ),
        pytest.param(None, False, False, Status.UNCHANGED, [], id="leftovers-no-prune"),
    ],
)
def test_diff_removed(
    endpoint: LiveEndpoint | None,
    confirmed: bool,
    prune: bool,
    status: Status,
    expected: list[tuple[Op, ResourceType]],
) -> None:
    plan = diff_removed("gone", "us-east-1", endpoint, confirmed, LEFTOVERS, prune, "x/gone.yaml")
    assert plan.status is status
    assert shape(plan) == expected
    assert plan.manifest is None
    assert {a.reason for a in plan.actions} <= {Reason.MANIFEST_REMOVED}


def test_removed_without_prune_warns() -> None:
    plan = diff_removed("gone", "us-east-1", _live_gone(), True, (), False, "x/gone.yaml")
    assert plan.warnings == ("manifest removed (was x/gone.yaml); kept (use --prune to delete)",)


def test_removed_unconfirmed_names_the_reason() -> None:
    plan = diff_removed("gone", "us-east-1", _live_gone(), False, LEFTOVERS, True)
    assert plan.errors == ("ownership could not be confirmed; not deleted",)
    assert plan.actions == ()


def test_removed_endpoint_is_deleted_before_its_configs() -> None:
    plan = diff_removed("gone", "us-east-1", _live_gone(), True, LEFTOVERS, True)
    (action,) = plan.actions
    assert action.request == {"EndpointName": "gone"}
    assert plan.warnings == ("endpoint gone will be deleted (manifest removed)",)


# -- field_changes -------------------------------------------------------------------------------


def test_field_changes_order_and_tolerance() -> None:
    before = {"executionRoleArn": "r", "variants[b].initialWeight": 1.0, "variants[a].x": 1}
    after = {"executionRoleArn": "r2", "variants[b].initialWeight": 1.0 + 1e-9, "dataCapture.y": 2}
    assert field_changes(before, after, {}) == (
        FieldChange("variants[a].x", 1, None),
        FieldChange("dataCapture.y", None, 2),
        FieldChange("executionRoleArn", "r", "r2"),
    )


# -- the invariant: an account that mirrors the manifest needs nothing --------------------------


@settings(PROPERTY, max_examples=60)
@given(spec=manifests(), revision=st.sampled_from([None, "abc", "def"]))
def test_a_mirrored_account_needs_no_action(spec: dict[str, Any], revision: str | None) -> None:
    want = desired(manifest(**spec), revision=revision)
    plan = diff(want, mirror(want))
    assert plan.actions == ()
    assert plan.status is Status.UNCHANGED
    assert plan.errors == () and plan.held is None


@settings(PROPERTY, max_examples=40)
@given(spec=manifests())
def test_a_just_created_endpoint_needs_no_action(spec: dict[str, Any]) -> None:
    """Apply's create tags (attempted-config included) leave nothing for the next plan."""
    want = desired(manifest(**spec))
    created = diff(want, Observed(None, missing_models=frozenset(m.name for m in want.models)))
    endpoint_request = only(created, Op.CREATE, EP).request
    tags = tagging.from_list(endpoint_request["Tags"])
    plan = diff(want, mirror(want, endpoint_tags=tags))
    assert plan.actions == ()


def test_plans_are_pure_data() -> None:
    want = desired()
    seen = mirror(want)
    assert diff(want, seen) == diff(want, seen)
    assert replace(diff(want, seen), held="x") != diff(want, seen)


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("InService", Health.HEALTHY),
        ("Creating", Health.PROGRESSING),
        ("Updating", Health.PROGRESSING),
        ("SystemUpdating", Health.PROGRESSING),
        ("RollingBack", Health.PROGRESSING),
        ("Deleting", Health.PROGRESSING),
        ("Failed", Health.DEGRADED),
        ("UpdateRollbackFailed", Health.DEGRADED),
        ("OutOfService", Health.DEGRADED),
        ("SomethingNew", Health.UNKNOWN),
        (None, Health.MISSING),
    ],
)
def test_health_of(status: str | None, health: Health) -> None:
    assert health_of(status) is health


@pytest.mark.parametrize(
    ("endpoint_arn", "expected"),
    [
        (
            "arn:aws:sagemaker:us-east-1:1:endpoint/churn",
            "arn:aws:sagemaker:us-east-1:1:model/churn-m-1a",
        ),
        (
            "arn:aws:sagemaker:us-east-1:1:endpoint/Churn",
            "arn:aws:sagemaker:us-east-1:1:model/Churn-M-1a",
        ),
    ],
)
def test_sibling_arns_follow_the_accounts_arn_spelling(endpoint_arn: str, expected: str) -> None:
    from controller.core.kinds import sibling_arn

    assert sibling_arn(endpoint_arn, ResourceType.MODEL, "Churn-M-1a") == expected
