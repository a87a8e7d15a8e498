"""Two targets naming one account and region: each endpoint is still one endpoint.

A second Target for the same account and region (a rename in progress, two teams' names for one
account) must never make one target's endpoints look removed from the other's point of view:
`--prune` would delete a live endpoint whose manifest is right there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import World
from tests.e2e.test_targets import (
    DEFAULT,
    PROD,
    STAGING,
    accounts,
    endpoint,
    endpoints_in,
    image_endpoint,
    target,
)

__all__ = ["accounts"]


@pytest.fixture
def twins(accounts: World) -> Iterator[World]:
    # `prod-alias` is a second name for prod's account and region.
    accounts.write("targets/prod-alias.yaml", target("prod-alias", PROD, "us-east-1"))
    yield accounts


def test_two_targets_in_one_place_never_prune_each_others_endpoints(twins: World) -> None:
    twins.write("prod/churn.yaml", endpoint("churn", "prod"))
    twins.write(
        "alias/fraud.yaml", endpoint("fraud", "prod").replace("target: prod", "target: prod-alias")
    )
    twins.write("staging/churn.yaml", endpoint("churn", "staging"))
    assert twins.apply().code == 0

    plan = twins.plan("--prune")
    result = twins.apply("--prune")

    assert "0 to delete" in plan.out and "manifest removed" not in plan.out, plan.out
    assert result.code == 0, result.err
    assert endpoints_in(twins, PROD) == ["churn", "fraud"]
    assert endpoints_in(twins, STAGING) == ["churn"]

    # A manifest really removed is pruned once, whichever of the two names lists it.
    (twins.root / "alias/fraud.yaml").unlink()
    calls = twins.calls_during(lambda: twins.apply("--prune"))
    assert calls.get("DeleteEndpoint") == 1
    assert endpoints_in(twins, PROD) == ["churn"]


def test_a_target_for_the_ambient_account_never_prunes_region_only_endpoints(
    accounts: World,
) -> None:
    accounts.write("targets/home.yaml", target("home", DEFAULT, "us-east-1"))
    home = image_endpoint("churn", "prod").replace("target: prod", "target: home")
    accounts.write("home/churn.yaml", home)
    plain = image_endpoint("fraud", "prod").replace("  target: prod\n", "  region: us-east-1\n")
    accounts.write("plain/fraud.yaml", plain)
    first = accounts.apply()
    assert first.code == 0, first.err

    result = accounts.apply("--prune")

    assert result.code == 0, result.err
    assert sorted(accounts.names("endpoint")) == ["churn", "fraud"]


def test_run_s_removal_scan_lists_each_endpoint_of_one_place_once(twins: World) -> None:
    """`run` finds removed manifests by listing what it owns (`owned_keys`): two names for one
    place must not make it reconcile a second, manifest-less key for a live endpoint."""
    from controller.aws.clients import AwsOptions, Clients
    from controller.reconcile.reconciling import ReconcileOptions, Reconciler

    twins.write("prod/churn.yaml", endpoint("churn", "prod"))
    assert twins.apply().code == 0
    options = ReconcileOptions(scope=str(twins.root.resolve()))
    rec = Reconciler(Clients(AwsOptions(calls_per_second=1000)), options)
    snapshot = rec.load(twins.root)

    assert rec.owned_keys() - set(snapshot.keys()) == set()
