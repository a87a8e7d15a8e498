"""A loopback fake of the two GitHub REST calls `run --promote` makes for pull requests.

`GET /repos/{owner}/{repo}/pulls?state=open&base=B` and `POST /repos/{owner}/{repo}/pulls`,
with GitHub's shapes (number, html_url, head.ref, base.ref, state) and its 422 for a second
pull request from the same head. Every request is recorded with its Authorization header, so a
test can check the token was sent and nothing else carried it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeGitHub:
    def __init__(self, repository: str, token: str) -> None:
        self.repository = repository
        self.token = token
        self.pulls: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def close(self, number: int) -> None:
        with self.lock:
            for pull in self.pulls:
                if pull["number"] == number:
                    pull["state"] = "closed"

    def handle(self, method: str, path: str, auth: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path, auth))
            parsed = urlparse(path)
            if auth != f"Bearer {self.token}":
                return 401, {"message": "Bad credentials"}
            if parsed.path != f"/repos/{self.repository}/pulls":
                return 404, {"message": "Not Found"}
            if method == "GET":
                query = parse_qs(parsed.query)
                state = query.get("state", ["open"])[0]
                base = query.get("base", [None])[0]
                return 200, [
                    p
                    for p in self.pulls
                    if p["state"] == state and (base is None or p["base"]["ref"] == base)
                ]
            payload = json.loads(body)
            if any(
                p["head"]["ref"] == payload["head"] and p["state"] == "open" for p in self.pulls
            ):
                return 422, {"message": "Validation Failed", "errors": [{"code": "custom"}]}
            number = len(self.pulls) + 1
            pull = {
                "number": number,
                "html_url": f"https://github.example/{self.repository}/pull/{number}",
                "state": "open",
                "title": payload["title"],
                "body": payload["body"],
                "head": {"ref": payload["head"]},
                "base": {"ref": payload["base"]},
            }
            self.pulls.append(pull)
            return 201, pull


@contextmanager
def fake_github(
    repository: str = "org/deploy", token: str = "ghp_test_token"
) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(repository, token)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            code, answer = fake.handle(
                self.command, self.path, self.headers.get("Authorization", ""), body
            )
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
