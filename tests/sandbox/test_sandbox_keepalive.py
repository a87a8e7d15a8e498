"""HTTP/1.1 keep-alive: clients reuse one connection; `Connection: close` is still obeyed."""

from __future__ import annotations

import http.client
import json

from controller.sandbox import Sandbox

LIST = {"X-Amz-Target": "SageMaker.ListEndpoints", "Content-Type": "application/x-amz-json-1.1"}


def connect(sandbox: Sandbox) -> http.client.HTTPConnection:
    host, port = sandbox.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_many_requests_share_one_connection(sandbox: Sandbox) -> None:
    connection = connect(sandbox)
    connection.connect()
    sock = connection.sock
    for _ in range(5):
        connection.request("POST", "/", body=b"{}", headers=LIST)
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") is None
        assert json.loads(response.read()) == {"Endpoints": []}
        assert connection.sock is sock
    # A control route and a request whose body is not JSON leave the connection usable too.
    connection.request("GET", "/_sandbox/calls")
    assert json.loads(connection.getresponse().read()) == {"calls": {"ListEndpoints": 5}}
    connection.request("POST", "/", body=b"[1, 2", headers=LIST)
    assert connection.getresponse().read()
    connection.request("POST", "/", body=b"{}", headers=LIST)
    assert connection.getresponse().status == 200
    assert connection.sock is sock
    connection.close()


def test_connection_close_is_obeyed(sandbox: Sandbox) -> None:
    connection = connect(sandbox)
    connection.request("POST", "/", body=b"{}", headers={**LIST, "Connection": "close"})
    response = connection.getresponse()
    assert response.getheader("Connection") == "close"
    assert response.read()
    assert response.will_close
