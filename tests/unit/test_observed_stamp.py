"""The observed stamp: when a settled, in-sync endpoint is stamped, and when a cold plan may
trust its listing instead of describing it (core/endpoint/observedstamp.py)."""

from __future__ import annotations

from dataclasses import replace

from builders import desired, live, mirror, options

from controller.core import tagging
from controller.core.endpoint import observedstamp
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.diffs import diff_endpoint
from controller.core.plan.plans import EndpointPlan

STAMP = "1764835200000"


def in_sync_tags(want: DesiredEndpoint) -> dict[str, str]:
    return {**want.tags, tagging.ATTEMPTED_CONFIG: want.config_name}


def test_a_change_the_controller_made_is_stamped_once_it_settles() -> None:
    want = desired()
    endpoint = replace(live(want), last_modified=STAMP)

    def plan_with(observed: str | None) -> EndpointPlan:
        tags = in_sync_tags(want)
        if observed is not None:
            tags[tagging.OBSERVED] = observed
        return diff_endpoint(want, mirror(want, endpoint=endpoint, endpoint_tags=tags), options())

    settled = plan_with(tagging.OBSERVED_PENDING)

    assert settled.actions == () and settled.stamp == (endpoint.arn, STAMP)
    assert plan_with(STAMP).stamp is None  # already recorded
    # Never stamped on a no-op pass otherwise: an endpoint deployed before stamps, or one whose
    # time moved since (autoscaling, a hand change), is described by cold plans instead.
    assert plan_with(None).stamp is None
    assert plan_with("1764835100000").stamp is None


def test_nothing_is_stamped_while_changing_or_out_of_sync() -> None:
    want = desired()
    endpoint = replace(live(want), last_modified=STAMP)
    tags = {**in_sync_tags(want), tagging.OBSERVED: tagging.OBSERVED_PENDING}
    updating = mirror(want, endpoint=replace(endpoint, status="Updating"), endpoint_tags=tags)
    drifted = mirror(want, endpoint=replace(endpoint, config_name="by-hand"), endpoint_tags=tags)
    assert diff_endpoint(want, updating, options()).stamp is None
    assert diff_endpoint(want, drifted, options()).stamp is None


def test_a_listing_is_trusted_only_at_the_stamped_time_and_with_matching_tags() -> None:
    want = desired()
    tags = {**in_sync_tags(want), tagging.OBSERVED: STAMP}
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/x"

    trusted = observedstamp.trusted(want, arn, tags, ("InService", STAMP))

    assert trusted is not None and trusted.config_name == want.config_name
    assert trusted.weights == want.weights
    assert observedstamp.trusted(want, arn, tags, ("InService", "1764835200001")) is None
    assert observedstamp.trusted(want, arn, tags, ("Updating", STAMP)) is None
    assert observedstamp.trusted(want, arn, tags, None) is None
    edited = {**tags, tagging.SPEC_HASH: "another"}
    assert observedstamp.trusted(want, arn, edited, ("InService", STAMP)) is None
    failed = {**tags, tagging.FAILED_CONFIG: want.config_name}
    assert observedstamp.trusted(want, arn, failed, ("InService", STAMP)) is None
