"""The same endpoint name in two locations (a target and the default account, same region):
/status JSON, the status page, /metrics and notifications keep them apart; a deleted one's
per-endpoint series disappear from /metrics.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.core.plan.outcomes import Outcome, OutcomeKind
from controller.core.plan.plans import (
    Action,
    ComponentPlan,
    ComponentRow,
    EndpointPlan,
    Health,
    Op,
    Reason,
    ResourceType,
    Status,
)
from controller.service.runner import Runner
from controller.service.status.events import Event
from controller.service.web.server import HttpServer
from tests.service.test_runner import FakeReconciler, FakeSnapshot, Manifest, drain, make

AMBIENT, TARGETED = "us-east-1/churn", "prod/churn"


def planned(key: str, *, copies: int = 2, rollout: bool = False) -> EndpointPlan:
    """What the real planner returns: a target's endpoint names its target and real region."""
    target = None if key == AMBIENT else "prod"
    actions = (Action(Op.UPDATE, ResourceType.ENDPOINT, "churn", Reason.VERSION_CHANGED),)
    return EndpointPlan(
        "churn",
        "churn.yaml" if key == AMBIENT else "prod/churn.yaml",
        "us-east-1",
        Status.UPDATE if rollout else Status.UNCHANGED,
        Health.HEALTHY,
        actions=actions if rollout else (),
        components=(
            ComponentRow(
                "chat", "primary", ComponentPlan.UNCHANGED, "InService", "m", copies, copies, copies
            ),
        )
        if copies
        else (),
        target=target,
        account="111122223333" if target else None,
    )


def converge(key: str, apply: bool) -> Outcome:
    plan = planned(key, copies=3 if key == TARGETED else 2)
    return Outcome("churn", OutcomeKind.CONVERGED, "in sync", plan=plan, reason="Synced")


def deleted(key: str, apply: bool) -> Outcome:
    plan = EndpointPlan("churn", None, "us-east-1", Status.UNCHANGED, Health.MISSING, target="prod")
    return Outcome("churn", OutcomeKind.CONVERGED, "deleted", plan=plan, reason="Synced")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Runner[FakeSnapshot], FakeReconciler, HttpServer]]:
    rec = FakeReconciler({AMBIENT: Manifest(), TARGETED: Manifest()})
    rec.scripts = {AMBIENT: converge, TARGETED: converge}
    runner, _ = make(rec, tmp_path)
    runner.reload(full=False)
    drain(runner)
    server = HttpServer(runner, host="127.0.0.1", port=0)
    server.start()
    try:
        yield runner, rec, server
    finally:
        server.stop()


def get(server: HttpServer, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def samples(server: HttpServer, name: str) -> list[dict[str, Any]]:
    """Every sample of metric family `name` in a real scrape: labels plus `value`."""
    text = get(server, "/metrics")[1]
    return [
        {**s.labels, "value": s.value}
        for family in text_string_to_metric_families(text)
        if family.name == name
        for s in family.samples
    ]


def test_status_json_tells_the_two_apart(served: Any) -> None:
    _, _, server = served
    status, body = get(server, "/status")
    assert status == 200
    endpoints = {e["key"]: e for e in json.loads(body)["endpoints"]}
    assert set(endpoints) == {AMBIENT, TARGETED}
    assert {k: (e["name"], e["target"], e["region"]) for k, e in endpoints.items()} == {
        AMBIENT: ("churn", "default", "us-east-1"),
        TARGETED: ("churn", "prod", "us-east-1"),  # the target's region, not its name
    }
    # The earlier fields are all still there (the change is additive).
    for field in ("key", "name", "region", "sync", "health", "conditions", "last_reconcile"):
        assert field in endpoints[TARGETED], field
    assert "account" not in endpoints[TARGETED] and "role_arn" not in endpoints[TARGETED]


def test_the_status_page_has_a_row_anchor_and_detail_page_per_location(served: Any) -> None:
    _, _, server = served
    page = get(server, "/")[1]
    assert page.count(' data-key="') == 2
    assert f'data-key="{AMBIENT}"' in page and f'data-key="{TARGETED}"' in page
    assert 'id="endpoint_us-east-1_churn"' in page and 'id="endpoint_prod_churn"' in page
    assert 'href="/endpoints/prod/churn"' in page and 'href="/endpoints/us-east-1/churn"' in page
    assert '<span class="target">prod</span>' in page
    assert "<th>Target</th>" in page

    targeted = get(server, "/endpoints/prod/churn")
    ambient = get(server, "/endpoints/us-east-1/churn")
    assert targeted[0] == ambient[0] == 200
    assert "<th>Target</th><td>prod</td>" in targeted[1]
    assert "<th>Target</th><td>default</td>" in ambient[1]
    assert "prod/churn.yaml" in targeted[1] and "prod/churn.yaml" not in ambient[1]

    filtered = get(server, "/?q=prod")[1]
    assert filtered.count(' data-key="') == 1 and f'data-key="{TARGETED}"' in filtered


def test_metrics_carry_target_and_region_and_a_deleted_endpoint_loses_its_series(
    served: Any,
) -> None:
    runner, rec, server = served
    copies = {
        (s["target"], s["region"], s["endpoint"], s["copies"]): s["value"]
        for s in samples(server, "sagemaker_gitops_inference_component_copies")
    }
    assert copies[("default", "us-east-1", "churn", "desired")] == 2.0
    assert copies[("prod", "us-east-1", "churn", "desired")] == 3.0
    states = {
        (s["target"], s["state"]): s["value"] for s in samples(server, "sagemaker_gitops_endpoints")
    }
    assert states[("default", "Synced")] == states[("prod", "Synced")] == 1.0
    reconciles = samples(server, "sagemaker_gitops_reconcile")
    assert {s["target"] for s in reconciles if s["result"] == "success"} == {"default", "prod"}
    every = [
        *samples(server, "sagemaker_gitops_reconcile"),
        *samples(server, "sagemaker_gitops_endpoints"),
    ]
    assert not any("111122223333" in str(s) for s in every)  # no account IDs in labels

    del rec.tree[TARGETED]
    rec.scripts[TARGETED] = deleted
    runner.reload(full=False)
    assert drain(runner) == [TARGETED]

    gauges = [
        *samples(server, "sagemaker_gitops_inference_component_copies"),
        *samples(server, "sagemaker_gitops_endpoints"),
    ]
    assert gauges and not [s for s in gauges if s["target"] == "prod"]
    assert [s["key"] for s in json.loads(get(server, "/status")[1])["endpoints"]] == [AMBIENT]


def test_notifications_name_the_location_once_there_are_two(tmp_path: Path) -> None:
    events: list[Event] = []

    class Collect:
        submit = events.append

    rec = FakeReconciler({AMBIENT: Manifest(), TARGETED: Manifest()})

    def rolling(key: str, apply: bool) -> Outcome:
        plan = planned(key, copies=0, rollout=True)
        return Outcome("churn", OutcomeKind.REQUEUE, "updating", plan=plan, mutated=apply)

    rec.scripts = {AMBIENT: rolling, TARGETED: rolling}
    runner, _ = make(rec, tmp_path, notifier=Collect())
    runner.reload(full=False)
    drain(runner)
    assert sorted((e.key, e.endpoint, e.target, e.region) for e in events) == [
        (TARGETED, "churn", "prod", "us-east-1"),
        (AMBIENT, "churn", "default", "us-east-1"),
    ]
    assert all(e.several_locations for e in events)
