"""HTTP routes: probes, metrics, status, suspend/resume and the signed git webhook."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest

from controller.service.httpserver import MAX_BODY, HttpServer
from controller.service.locations import Location
from controller.service.metrics import Metrics
from controller.service.webhook import SIGNATURE_HEADER, sign

SECRET = b"s3cret"


class FakeControl:
    """Records what the routes asked for; answers what the test set."""

    def __init__(self) -> None:
        self.is_alive = True
        self.is_ready = (False, "initial sync: 2 endpoints to go")
        self.metrics = Metrics()
        self.calls: list[str] = []

    def alive(self) -> bool:
        return self.is_alive

    def ready(self) -> tuple[bool, str]:
        return self.is_ready

    def status(self) -> dict[str, Any]:
        return {
            "revision": "abc",
            "leader": True,
            "suspended_all": "suspend" in self.calls,
            "endpoints": [{"name": "churn-prod", "sync": "Synced"}],
        }

    def plan_text(self, key: str) -> str | None:
        return None

    def metrics_text(self) -> bytes:
        return self.metrics.render()

    def suspend(self) -> None:
        self.calls.append("suspend")

    def resume(self) -> None:
        self.calls.append("resume")

    def trigger_fetch(self) -> None:
        self.calls.append("fetch")


def serve(control: FakeControl, secret: bytes | None) -> Iterator[tuple[HttpServer, FakeControl]]:
    server = HttpServer(control, host="127.0.0.1", port=0, webhook_secret=secret)
    server.start()
    try:
        yield server, control
    finally:
        server.stop()


@pytest.fixture
def served() -> Iterator[tuple[HttpServer, FakeControl]]:
    yield from serve(FakeControl(), SECRET)


@pytest.fixture
def unsigned() -> Iterator[tuple[HttpServer, FakeControl]]:
    yield from serve(FakeControl(), None)


def request(
    server: HttpServer,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""
    finally:
        conn.close()


def test_healthz_follows_liveness(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    assert request(server, "GET", "/healthz")[0] == 200
    control.is_alive = False
    assert request(server, "GET", "/healthz")[0] == 503


def test_readyz_reports_why_not_ready(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    status, body, _ = request(server, "GET", "/readyz")
    assert status == 503
    assert json.loads(body) == {"ready": False, "reason": "initial sync: 2 endpoints to go"}
    control.is_ready = (True, "ok")
    assert request(server, "GET", "/readyz")[0] == 200


def test_metrics_are_prometheus_text(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    control.metrics.observe_api_call("sagemaker", "DescribeEndpoint", "success")
    control.metrics.observe_api_call("sagemaker", "UpdateEndpoint", "throttled")
    here = Location("default", "us-east-1")
    control.metrics.observe_reconcile("Converged", "Synced", 0.2, failed=False, where=here)
    control.metrics.observe_reconcile("Terminal", "RolloutFailed", 0.1, failed=True, where=here)
    control.metrics.track_queue(lambda: 3)
    control.metrics.set_states([(here, "Synced"), (here, "Failed")])
    control.metrics.set_revision("abc123")
    status, body, content_type = request(server, "GET", "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    text = body.decode()
    # controller-runtime's names and labels, so its dashboards and alerts apply unchanged.
    for name in (
        'sagemaker_gitops_reconcile_total{controller="endpoint",region="us-east-1",'
        'result="success",target="default"} 1.0',
        'sagemaker_gitops_reconcile_total{controller="endpoint",region="us-east-1",'
        'result="error",target="default"} 1.0',
        'sagemaker_gitops_reconcile_time_seconds_bucket{controller="endpoint",le="0.25"} 2.0',
        'sagemaker_gitops_reconcile_errors_total{controller="endpoint",kind="Terminal",'
        'reason="RolloutFailed",region="us-east-1",target="default"} 1.0',
        "sagemaker_gitops_endpoints{",
        'workqueue_depth{name="endpoints"} 3.0',
        'workqueue_adds_total{name="endpoints"}',
        'workqueue_queue_duration_seconds_bucket{le="0.001",name="endpoints"}',
        'workqueue_work_duration_seconds_bucket{le="0.01",name="endpoints"}',
        'workqueue_retries_total{name="endpoints"}',
        "sagemaker_gitops_last_successful_sync_timestamp_seconds",
        'sagemaker_gitops_revision_info{revision="abc123"}',
        "sagemaker_gitops_leader",
        "sagemaker_gitops_suspended",
    ):
        assert name in text, name
    assert (
        'sagemaker_gitops_aws_api_calls_total{operation="DescribeEndpoint",outcome="success",'
        'service="sagemaker"} 1.0' in text
    )
    assert (
        'sagemaker_gitops_aws_api_calls_total{operation="UpdateEndpoint",outcome="throttled",'
        'service="sagemaker"} 1.0' in text
    )


def test_status_is_json(served: tuple[HttpServer, FakeControl]) -> None:
    server, _ = served
    status, body, content_type = request(server, "GET", "/status?verbose=1")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body)["endpoints"] == [{"name": "churn-prod", "sync": "Synced"}]


def test_suspend_and_resume(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    status, body, _ = request(server, "POST", "/suspend")
    assert (status, json.loads(body)) == (200, {"suspended_all": True})
    assert request(server, "POST", "/resume")[0] == 200
    assert control.calls == ["suspend", "resume"]


def test_wrong_method_and_unknown_paths(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    assert request(server, "GET", "/suspend")[0] == 405
    assert request(server, "GET", "/nope")[0] == 404
    assert request(server, "POST", "/nope")[0] == 404
    assert control.calls == []


def test_webhook_with_a_valid_signature_triggers_a_fetch(
    served: tuple[HttpServer, FakeControl],
) -> None:
    server, control = served
    body = b'{"ref": "refs/heads/main"}'
    status, _, _ = request(
        server, "POST", "/hooks/git", body, {SIGNATURE_HEADER: sign(SECRET, body)}
    )
    assert status == 200
    assert control.calls == ["fetch"]


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=" + "0" * 64, sign(b"other secret", b"{}"), "sha1=abc"],
)
def test_webhook_with_a_bad_signature_is_401(
    served: tuple[HttpServer, FakeControl], header: str | None
) -> None:
    server, control = served
    headers = {} if header is None else {SIGNATURE_HEADER: header}
    assert request(server, "POST", "/hooks/git", b"{}", headers)[0] == 401
    assert control.calls == []


def test_webhook_is_404_without_a_secret(unsigned: tuple[HttpServer, FakeControl]) -> None:
    server, control = unsigned
    body = b"{}"
    headers = {SIGNATURE_HEADER: sign(SECRET, body)}
    assert request(server, "POST", "/hooks/git", body, headers)[0] == 404
    assert control.calls == []


def test_oversized_bodies_are_refused_unread(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.putrequest("POST", "/hooks/git")
        conn.putheader("Content-Length", str(MAX_BODY + 1))
        conn.endheaders()  # the body is never sent: the server must not wait for it
        response = conn.getresponse()
        assert response.status == 413
    finally:
        conn.close()
    assert request(server, "POST", "/suspend", headers={"Content-Length": "nope"})[0] == 400
    assert control.calls == []


def test_port_zero_binds_a_free_loopback_port(served: tuple[HttpServer, FakeControl]) -> None:
    server, _ = served
    assert server.host == "127.0.0.1"
    assert server.port > 0
