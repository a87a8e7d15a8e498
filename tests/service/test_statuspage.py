"""The status page over HTTP: rows, filter, detail view, escaping of hostile input, headers."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any

import pytest

from controller.service.metrics import Metrics
from controller.service.status.conditions import conditions
from controller.service.web import statuspage
from controller.service.web.server import HttpServer

EVIL = '<script>alert("x")</script>'


def endpoint(
    name: str, region: str = "us-east-1", target: str = "default", **extra: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": f"{region if target == 'default' else target}/{name}",
        "name": name,
        "target": target,
        "region": region,
        "sync": "Synced",
        "health": "Healthy",
        "revision": "0123456789abcdef0123456789abcdef01234567",
        "manifest": f"{name}.yaml",
        "reason": "Synced",
        "message": "in sync",
        "held": None,
        "last_error": None,
        "last_reconcile": "2026-11-29T08:00:00+00:00",
        "variants": {"primary": {"model": "churn-xgb v2", "weight": 0.8}},
        "rollout": None,
    }
    base.update(extra)
    base["conditions"] = conditions(
        base["sync"], base["health"], base["reason"], base["message"], base["revision"]
    )
    return base


class PageControl:
    """Just enough of `httpserver.Control` for the page routes."""

    def __init__(self, endpoints: list[dict[str, Any]]) -> None:
        self.endpoints = endpoints
        self.metrics = Metrics()

    def alive(self) -> bool:
        return True

    def ready(self) -> tuple[bool, str]:
        return True, "ok"

    def status(self) -> dict[str, Any]:
        return {
            "revision": "0123456789abcdef",
            "leader": True,
            "ready": True,
            "suspended_all": False,
            "problem": f"loading manifests failed: {EVIL}",
            "diagnostics": [],
            "endpoints": self.endpoints,
        }

    def plan_text(self, key: str) -> str | None:
        return f"~ endpoint {key} will be updated\n    {EVIL}" if "churn" in key else None

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def suspend(self) -> None: ...
    def resume(self) -> None: ...
    def trigger_fetch(self) -> None: ...


ENDPOINTS = [
    endpoint("churn"),
    endpoint(
        "fraud",
        "eu-west-1",
        sync="Failed",
        health="Degraded",
        reason="RolloutFailed",
        last_error=f"rollout failed: {EVIL}",
    ),
    endpoint(f"x{EVIL}", manifest=f"{EVIL}.yaml", variants={EVIL: {"model": EVIL, "weight": 1}}),
]


@pytest.fixture
def server() -> Iterator[HttpServer]:
    running = HttpServer(PageControl(ENDPOINTS), host="127.0.0.1", port=0)  # type: ignore[arg-type]
    running.start()
    try:
        yield running
    finally:
        running.stop()


def get(server: HttpServer, path: str) -> tuple[int, str, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        conn.close()


def test_index_lists_every_endpoint_with_its_facts(server: HttpServer) -> None:
    status, page, headers = get(server, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert page.count(' data-key="') == 3
    for fact in (
        "churn",
        "eu-west-1",
        "Failed",
        "Degraded",
        "0123456",
        "churn-xgb v2",
        "weight 0.8",
    ):
        assert fact in page, fact
    assert '<meta http-equiv="refresh"' in page
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none' rules
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_hostile_names_and_messages_are_escaped(server: HttpServer) -> None:
    for path in ("/", "/endpoints/us-east-1/churn", "/?q=%3Cscript%3E"):
        page = get(server, path)[1]
        assert "<script>" not in page, path
    page = get(server, "/")[1]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_the_filter_works_server_side(server: HttpServer) -> None:
    page = get(server, "/?q=FAILED+eu-west")[1]
    assert page.count(' data-key="') == 1 and 'data-key="eu-west-1/fraud"' in page
    assert "1 of 3 endpoints" in page and 'value="FAILED eu-west"' in page
    none = get(server, "/?q=nothing-matches-this")[1]
    assert 'id="empty"' in none


def test_the_detail_view_shows_conditions_and_the_last_plan(server: HttpServer) -> None:
    status, page, _ = get(server, "/endpoints/us-east-1/churn")
    assert status == 200
    assert "~ endpoint us-east-1/churn will be updated" in page
    assert 'id="conditions"' in page and ">Ready<" in page
    no_plan = get(server, "/endpoints/eu-west-1/fraud")[1]
    assert "No plan yet" in no_plan
    hostile = get(server, "/endpoints/us-east-1/x%3Cscript%3Ealert(%22x%22)%3C%2Fscript%3E")
    assert hostile[0] == 200 and "<script>" not in hostile[1]


def test_unknown_endpoints_are_404(server: HttpServer) -> None:
    assert get(server, "/endpoints/us-east-1/nope")[0] == 404
    assert get(server, "/endpoints/us-east-1")[0] == 404
    assert get(server, "/endpoints/a/b/c")[0] == 404


def test_with_projects_the_page_has_a_project_column_and_filter() -> None:
    running = HttpServer(
        PageControl(  # type: ignore[arg-type]
            [
                endpoint("fraud-a", project="fraud"),
                endpoint("fraud-b", project="fraud"),
                endpoint("churn", project="churn"),
            ]
        ),
        host="127.0.0.1",
        port=0,
    )
    running.start()
    try:
        _, every, _ = get(running, "/")
        _, fraud, _ = get(running, "/?project=fraud")
        _, searched, _ = get(running, "/?q=fraud-b")
        _, detail, _ = get(running, "/endpoints/us-east-1/churn")
    finally:
        running.stop()

    assert "<th>Project</th>" in every and '<select id="project" name="project">' in every
    assert '<option value="churn">churn</option>' in every
    assert '<span id="shown">3 endpoints</span>' in every
    assert '<option value="fraud" selected>fraud</option>' in fraud
    assert '<span id="shown">2 of 3 endpoints</span>' in fraud and ">churn</a>" not in fraud
    assert '<span id="shown">1 of 3 endpoints</span>' in searched
    assert "<tr><th>Project</th><td>churn</td></tr>" in detail


def test_without_projects_the_page_has_no_project_column(server: HttpServer) -> None:
    _, page, _ = get(server, "/")
    assert "Project" not in page and 'name="project"' not in page


def test_a_sharded_replica_shows_its_shards_and_every_holder() -> None:
    status = {
        "leader": True,
        "ready": True,
        "endpoints": [],
        "shards": {
            "replica": "pod-b",
            "held": ["prod"],
            "members": ["pod-a", "pod-b"],
            "holders": {"prod": "pod-b", "staging": "<pod-a>"},
        },
    }
    page = statuspage.render_index(status)
    assert "Replica: <b>pod-b (1 shards held)</b>" in page and "Leader:" not in page
    assert "Shards: 2 held by 2 replicas (pod-a, pod-b)" in page
    assert '<tr class="mine"><td>prod</td><td>pod-b</td></tr>' in page
    assert "<tr><td>staging</td><td>&lt;pod-a&gt;</td></tr>" in page  # escaped


def test_pipelines_show_their_stages_as_columns() -> None:
    status = {
        "endpoints": [],
        "promotion": {
            "state": "passed at 2026-12-05T12:00:00+00:00",
            "pipelines": [
                {
                    "name": "churn",
                    "state": "ok",
                    "stages": [
                        {
                            "stage": "dev",
                            "group": "churn-xgb",
                            "versions": [3],
                            "verdict": "Failed 2026-12-05T11:58:00Z errors=0.2",
                            "analysis": "",
                            "nextPromotion": "v3: v3 is held: stage dev recorded Failed",
                            "lastWrite": "committed: 4f1c",
                        },
                        {
                            "stage": "prod",
                            "group": "churn-xgb",
                            "versions": [2],
                            "verdict": "Verified 2026-12-05T11:00:00Z",
                            "analysis": EVIL,
                            "nextPromotion": "",
                            "lastWrite": "",
                        },
                    ],
                },
                {"name": "fraud", "state": "another replica drives it"},
            ],
        },
    }

    html = statuspage.render_index(status)

    assert '<section id="pipelines">' in html
    assert "<caption>churn &middot; churn-xgb</caption>" in html
    assert '<th scope="col">dev</th><th scope="col">prod</th>' in html
    assert '<td><span class="s Failed">Failed 2026-12-05T11:58:00Z errors=0.2</span></td>' in html
    assert "<td>v3</td><td>v2</td>" in html
    assert "v3 is held" in html and "another replica drives it" in html
    assert EVIL not in html and "&lt;script&gt;" in html
    assert '<section id="pipelines">' not in statuspage.render_index({"endpoints": []})
