"""HTTP routes: probes, metrics, status, suspend/resume and the signed git webhook."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.service.metrics import Metrics
from controller.service.status.locations import Location
from controller.service.web.controlguard import CONTROL_HEADER
from controller.service.web.server import MAX_BODY, HttpServer
from controller.service.web.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, Deliveries, sign

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
        'sagemaker_gitops_reconcile_total{controller="endpoint",project="",region="us-east-1",'
        'result="success",target="default"} 1.0',
        'sagemaker_gitops_reconcile_total{controller="endpoint",project="",region="us-east-1",'
        'result="error",target="default"} 1.0',
        'sagemaker_gitops_reconcile_time_seconds_bucket{controller="endpoint",le="0.25"} 2.0',
        'sagemaker_gitops_reconcile_errors_total{controller="endpoint",kind="Terminal",'
        'project="",reason="RolloutFailed",region="us-east-1",target="default"} 1.0',
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


JSON = {"Content-Type": "application/json"}


def test_suspend_and_resume(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    status, body, _ = request(server, "POST", "/suspend", b"{}", JSON)
    assert (status, json.loads(body)) == (200, {"suspended_all": True})
    assert request(server, "POST", "/resume", headers={CONTROL_HEADER: "curl"})[0] == 200
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
    bad_length = {"Content-Length": "nope", **JSON}
    assert request(server, "POST", "/suspend", headers=bad_length)[0] == 400
    assert control.calls == []


def test_port_zero_binds_a_free_loopback_port(served: tuple[HttpServer, FakeControl]) -> None:
    server, _ = served
    assert server.host == "127.0.0.1"
    assert server.port > 0


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", None],
)
@pytest.mark.parametrize("path", ["/suspend", "/resume"])
def test_a_form_post_from_any_page_changes_nothing(
    served: tuple[HttpServer, FakeControl], content_type: str | None, path: str
) -> None:
    """What a cross-origin HTML form (or a no-cors fetch) can send needs no preflight: refused."""
    server, control = served
    headers = {"Origin": "https://attacker.example"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, body, _ = request(server, "POST", path, b"a=1", headers)
    assert status == 415
    assert "application/json" in json.loads(body)["error"]
    assert control.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example", **JSON},
        {"Origin": "null", CONTROL_HEADER: "x"},
        {"Origin": "http://127.0.0.1:1", **JSON},  # same host, another port: another origin
        {"Sec-Fetch-Site": "cross-site", **JSON},
    ],
)
def test_a_foreign_origin_is_refused(
    served: tuple[HttpServer, FakeControl], headers: dict[str, str]
) -> None:
    server, control = served
    assert request(server, "POST", "/suspend", b"{}", headers)[0] == 403
    assert control.calls == []


def test_a_same_origin_page_may_suspend(served: tuple[HttpServer, FakeControl]) -> None:
    server, control = served
    headers = {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}
    assert request(server, "POST", "/suspend", b"{}", {**headers, **JSON})[0] == 200
    assert control.calls == ["suspend"]


def test_a_control_token_is_required_when_configured() -> None:
    metrics = Metrics()
    server = HttpServer(
        FakeControl(),
        host="127.0.0.1",
        port=0,
        control_token=b"t0ken",
        observe_refused=metrics.observe_http_refused,
    )
    server.start()
    try:
        control = server._server.control
        assert isinstance(control, FakeControl)
        for auth in (None, "Bearer wrong", "Basic t0ken", "Bearer "):
            headers = dict(JSON) if auth is None else {"Authorization": auth, **JSON}
            assert request(server, "POST", "/suspend", b"{}", headers)[0] == 401, auth
        assert control.calls == []
        good = {"Authorization": "Bearer t0ken", **JSON}
        assert request(server, "POST", "/suspend", b"{}", good)[0] == 200
        assert request(server, "POST", "/resume", b"{}", good)[0] == 200
        assert control.calls == ["suspend", "resume"]
        text = metrics.render().decode()
        assert 'sagemaker_gitops_http_refused_total{reason="token"} 4.0' in text
    finally:
        server.stop()


def test_a_replayed_webhook_delivery_fetches_once(
    served: tuple[HttpServer, FakeControl],
) -> None:
    server, control = served
    body = b'{"ref": "refs/heads/main", "after": "1111111"}'
    signed = {SIGNATURE_HEADER: sign(SECRET, body), DELIVERY_HEADER: "72d3162e-cc78-11e3"}
    answers = [request(server, "POST", "/hooks/git", body, signed) for _ in range(5)]
    # The delivery id is not signed: a replay under a fresh id is still the same signed body.
    fresh_id = {**signed, DELIVERY_HEADER: "another-id"}
    answers.append(request(server, "POST", "/hooks/git", body, fresh_id))
    assert [a[0] for a in answers] == [200] * 6, "acknowledged, so GitHub does not retry"
    assert [json.loads(a[1])["triggered"] for a in answers] == [True] + [False] * 5
    assert control.calls == ["fetch"]
    other = b'{"ref": "refs/heads/main", "after": "2222222"}'
    next_push = {SIGNATURE_HEADER: sign(SECRET, other), DELIVERY_HEADER: "8f1c-next"}
    assert request(server, "POST", "/hooks/git", other, next_push)[0] == 200
    assert control.calls == ["fetch", "fetch"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet="0123456789abcdef", min_size=1, max_size=6), max_size=60))
def test_delivery_memory_is_bounded_and_forgets_the_oldest(ids: list[str]) -> None:
    deliveries = Deliveries(limit=8)
    for i, delivery in enumerate(ids):
        deliveries.first_time(delivery, f"sig-{i}")
        assert len(deliveries._seen) <= 8
    if ids:  # the newest delivery is remembered, by id and by signature
        assert not deliveries.first_time(ids[-1], "sig-new")
        assert not deliveries.first_time(None, f"sig-{len(ids) - 1}")


def _partial_requests(port: int, count: int) -> list[socket.socket]:
    """Connections that send half a request line and then nothing (slowloris)."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /healthz HTT")
        socks.append(sock)
    return socks


def test_slow_clients_cannot_hold_threads_or_starve_probes() -> None:
    limit = 4
    refused: list[str] = []
    server = HttpServer(
        FakeControl(),
        host="127.0.0.1",
        port=0,
        max_connections=limit,
        observe_refused=refused.append,
    )
    server.start()
    before = threading.active_count()
    socks = _partial_requests(server.port, 12)
    try:
        status, _, _ = request(server, "GET", "/healthz")
        assert status == 200
        body = b'{"ref": "x"}'
        signed = {SIGNATURE_HEADER: sign(SECRET, body)}
        assert request(server, "POST", "/hooks/git", body, signed)[0] == 404  # answered
        # Evicted connections see end of file; what is left is within the limit.
        closed = 0
        for sock in socks:
            sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                closed += sock.recv(1) == b""
        assert closed >= len(socks) - limit
        assert refused.count("evicted") >= len(socks) - limit, refused
        assert len(server._server.connections) <= limit
        for _ in range(100):  # bounded: evicted threads end as soon as their read returns
            if threading.active_count() - before <= limit:
                break
            time.sleep(0.02)
        assert threading.active_count() - before <= limit
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def test_a_trickling_client_is_cut_at_the_request_deadline() -> None:
    refused: list[str] = []
    server = HttpServer(
        FakeControl(),
        host="127.0.0.1",
        port=0,
        request_deadline=0.3,
        observe_refused=refused.append,
    )
    server.start()
    try:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.settimeout(5)
        cut = False
        # One byte every 50 ms resets the per-read timeout each time; only the whole request's
        # deadline ends it. 200 bytes would take 10 s: the server must hang up long before.
        for byte in b"GET /healthz HTTP/1.1\r\nX-Padding: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # reset by the server
                cut = True
                break
            sock.settimeout(0.05)
            try:
                if sock.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                pass
        sock.close()
        assert cut, "a client sending one byte at a time was never cut off"
        assert refused == ["deadline"]
        assert request(server, "GET", "/healthz")[0] == 200
    finally:
        server.stop()
