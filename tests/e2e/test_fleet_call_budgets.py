"""Call budgets on a 30-endpoint fleet: what a changed repo and a no-op resync cost.

`apply` of a repo where one manifest changed reads the owned index, sees which live endpoint's
spec-hash tag differs from its manifest, and reconciles that one first: its mutating calls go
out after a handful of reads, wherever its file sorts. A no-op resync lists instead of describing:
its calls stay within ListEndpoints pages + registry listings + index pages + a constant.
Calls are recorded in the order the controller starts them (a botocore before-call hook).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from controller.aws import reading
from controller.aws.clients import AwsOptions, Clients
from controller.reconcile.reconciling import ReconcileOptions, Reconciler
from tests.e2e.conftest import MUTATING_PREFIXES, World, registry_manifest

N = 30
GROUP = "churn-xgb"  # the seed's group with versions 1 and 2
FIRST_MUTATION_BUDGET = 10
# Each endpoint owns one Endpoint, one EndpointConfig and one Model: the index has 3N entries.
INDEX_PAGES = math.ceil(3 * N / 100)


def name(i: int) -> str:
    return f"ep-{i:02d}"


@pytest.fixture
def fleet(world: World) -> World:
    for i in range(N):
        world.write(f"{name(i)}.yaml", registry_manifest(name=name(i), group=GROUP))
    assert world.apply("--no-wait").code == 0
    return world


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS operation the controller starts, in order."""
    seen: list[str] = []
    original = Clients._before_call

    def record(self: Clients, target: Any, model: Any, **kwargs: Any) -> None:
        seen.append(model.name)
        original(self, target, model, **kwargs)

    monkeypatch.setattr(Clients, "_before_call", record)
    yield seen


def before_first_mutation(ops: list[str]) -> int:
    return next(i for i, op in enumerate(ops) if op.startswith(MUTATING_PREFIXES))


@pytest.mark.parametrize("changed", [0, N // 2, N - 1], ids=["sorts-first", "middle", "last"])
def test_apply_issues_the_changed_endpoints_calls_first(
    fleet: World, started: list[str], changed: int
) -> None:
    fleet.write(f"{name(changed)}.yaml", registry_manifest(name=name(changed), version=2))
    started.clear()

    result = fleet.apply("--no-wait")

    assert result.code == 0, result.err
    assert before_first_mutation(started) <= FIRST_MUTATION_BUDGET, started[:20]
    # Every endpoint is still reconciled in the same apply: all report, one changed.
    assert result.out.count("\n") == N
    assert started.count("UpdateEndpoint") == 1


# What the changed endpoint (one variant) reads before its first CreateModel: ListModelPackages,
# DescribeEndpoint, DescribeScalableTargets, the probes of its new content-named Model and
# EndpointConfig (the index is not complete yet), and the live config and its Model (the diff).
# The same whatever the fleet's size (the benchmark's two-variant endpoints read 9).
OWN_READS = 7


@pytest.mark.parametrize("changed", [0, N // 2, N - 1], ids=["sorts-first", "middle", "last"])
def test_apply_starts_the_changed_endpoint_at_the_index_page_that_shows_it(
    fleet: World, started: list[str], changed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 10 make this fleet's index 9 pages (3 per kind), as 1,000 endpoints make 40
    pages of 100:
    `apply` reads the endpoint query (3 pages) page by page and reconciles a changed endpoint
    before asking for the next page, so what precedes its first mutation is the endpoint pages
    up to its own plus its own reads. Waiting for the whole index cost 9 + 7 = 16 here (48 at
    N=1000); the model and config queries are read after the changed wave."""
    monkeypatch.setattr(reading, "PAGE_SIZE", 10)
    fleet.write(f"{name(changed)}.yaml", registry_manifest(name=name(changed), version=2))
    started.clear()

    result = fleet.apply("--no-wait")

    assert result.code == 0, result.err
    page = changed // 10 + 1
    assert before_first_mutation(started) == page + OWN_READS, started[:12]
    assert started[:page] == ["GetResources"] * page
    # Three queries in all, read after the changed wave created a Model and a config: 30
    # endpoints, 31 models, 31 configs in pages of 10.
    assert started.count("GetResources") == 3 + 4 + 4
    assert started.count("UpdateEndpoint") == 1
    # Idempotent: a second apply finds nothing to change.
    assert not fleet.mutations_during(lambda: fleet.apply("--no-wait"))


def test_a_no_op_resync_stays_within_the_listing_budget(fleet: World) -> None:
    rec = Reconciler(Clients(AwsOptions(calls_per_second=1000)), ReconcileOptions())
    snapshot = rec.load(fleet.root)
    keys = snapshot.keys()
    for _ in range(2):  # the first pass describes every endpoint; the second lists them
        before = fleet.calls()
        rec.begin_pass()
        for key in keys:
            rec.reconcile(snapshot, key)
        used = {op: n - before.get(op, 0) for op, n in fleet.calls().items()}

    groups, constant = 1, 2
    budget = math.ceil(N / 100) + groups + INDEX_PAGES + constant
    assert sum(used.values()) <= budget, used
    assert not any(op.startswith(MUTATING_PREFIXES) for op, n in used.items() if n)

    # Each pass lists afresh: a hand change after a listed pass is caught by the next one.
    fleet.sm.update_endpoint_weights_and_capacities(
        EndpointName=name(3),
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 0.5}],
    )
    before = fleet.calls()
    rec.begin_pass()
    for key in keys:
        rec.reconcile(snapshot, key)
    after = fleet.calls()
    assert after["UpdateEndpointWeightsAndCapacities"] == (
        before.get("UpdateEndpointWeightsAndCapacities", 0) + 1
    )


def test_an_edit_during_a_resync_describes_instead_of_sweeping(fleet: World) -> None:
    rec = Reconciler(Clients(AwsOptions()), ReconcileOptions())
    keys = rec.load(fleet.root).keys()
    for _ in range(2):  # settled: the kept descriptions are checked against a listing
        rec.begin_pass()
        for key in keys:
            rec.reconcile(rec.load(fleet.root), key)
    rec.begin_pass()  # a resync starts and has not listed yet when the edit arrives
    fleet.write(f"{name(4)}.yaml", registry_manifest(name=name(4), version=2))
    edited = rec.load(fleet.root)
    before = fleet.calls()

    rec.reconcile(edited, next(k for k in keys if k.endswith(f"/{name(4)}")))

    used = {op: n - before.get(op, 0) for op, n in fleet.calls().items() if n - before.get(op, 0)}
    assert "ListEndpoints" not in used
    assert used["DescribeEndpoint"] == 1
    assert used["UpdateEndpoint"] == 1
