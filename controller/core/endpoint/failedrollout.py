"""A rollout SageMaker rolled back: hold the failed config, keep healing the live one.

Pure. After an UpdateEndpoint fails and rolls back, the endpoint serves its previous config, and
rolling the failed config out again would fail again (and provision instances each time): it
waits for a new input (manifest or registry). Waiting holds that config, not everything: the
live config's instance counts and weights, and the endpoint's tags, are still reconciled to
the manifest, so a hand scale-out is undone as on any endpoint. Variants the failed config adds
or removes are left alone, and so is the count of a variant whose instance type it changed (the
manifest's count is for the new type); autoscaled counts are autoscaling's, as always.

The failure is recorded in the `sagemaker-gitops/failed-config` tag: SageMaker's FailureReason
may be cleared by a later change (the heal itself), and without the tag the failed config would
then look like a hand edit and be rolled out again.
"""

from __future__ import annotations

from dataclasses import replace

from controller.core import tagging
from controller.core.endpoint.actions import weights_action
from controller.core.endpoint.desired import DesiredEndpoint
from controller.core.endpoint.health import BUSY
from controller.core.livestate import LiveEndpoint
from controller.core.observed import Observed
from controller.core.plan.plans import Action, Reason
from controller.core.scaling import variants as scaled_variants
from controller.core.tag_actions import endpoint_tags, with_tags

ROLLOUT_FAILED = "RolloutFailed"


def rollout_failed(desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint) -> bool:
    """The manifest's config was sent (attempted-config) and SageMaker rolled it back: it says
    so (FailureReason), or it did before and the failed-config tag remembers it."""
    if live.config_name == desired.config_name or live.status in BUSY:
        return False
    tags = seen.endpoint_tags or {}
    if tags.get(tagging.ATTEMPTED_CONFIG) != desired.config_name:
        return False
    return bool(live.failure_reason) or tags.get(tagging.FAILED_CONFIG) == desired.config_name


def heal_failed(desired: DesiredEndpoint, seen: Observed, live: LiveEndpoint) -> tuple[Action, ...]:
    """The in-place actions that keep the live config as the manifest says, and the tag that
    records the failure; () when there is nothing to do."""
    live_variants = set(live.weights)
    # A count is healed only on a variant whose instance type the failed config kept: the
    # manifest's 2 x ml.g5 says nothing about how many ml.m5 the old fleet needs.
    terms = seen.live_terms or {}
    kept_type = {
        v.name
        for v in desired.manifest.spec.variants
        if v.instance_type is not None
        and terms.get(f"variants[{v.name}].instanceType") == v.instance_type
    }
    weights = {
        v: (weight, count if v in kept_type else None)
        for v, (weight, count) in desired.weights.items()
        if v in live_variants
    }
    scaled = scaled_variants.scaled(desired, seen)
    update = weights_action(desired.name, weights, live, scaled) if weights else None
    retag = endpoint_tags(desired, seen, live, Reason.DRIFT, attempted=False)
    have = seen.endpoint_tags or {}
    if have.get(tagging.FAILED_CONFIG) != desired.config_name:
        retag = with_failed(retag, desired.config_name)
    if update is not None:
        return (with_tags(update, retag),)
    return (retag,) if retag.tags_set or retag.tags_removed else ()


def with_failed(retag: Action, config: str) -> Action:
    return replace(retag, tags_set={**retag.tags_set, tagging.FAILED_CONFIG: config})
