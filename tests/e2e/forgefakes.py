"""Loopback fakes of the two GitHub and the two GitLab REST calls `run --promote` makes for
pull (merge) requests.

`GET /repos/{owner}/{repo}/pulls?state=open&base=B` and `POST /repos/{owner}/{repo}/pulls`,
with GitHub's shapes (number, html_url, head.ref, base.ref, state) and its 422 for a second
pull request from the same head. Every request is recorded with its Authorization header, so a
test can check the token was sent and nothing else carried it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
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
    with _serving(fake.handle, "Authorization") as url:
        fake.url = url
        yield fake


class FakeGitLab:
    """GitLab's merge request calls: `GET /projects/:id/merge_requests?state=opened&target_branch=B`
    and `POST /projects/:id/merge_requests` (iid, web_url, source_branch, target_branch, state),
    with a 409 for a second open request from the same branch, as GitLab answers."""

    def __init__(self, project: str, token: str) -> None:
        self.project = project
        self.token = token
        self.merges: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def handle(self, method: str, path: str, token: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path, token))
            parsed = urlparse(path)
            if token != self.token:
                return 401, {"message": "401 Unauthorized"}
            encoded = self.project.replace("/", "%2F")
            if parsed.path != f"/api/v4/projects/{encoded}/merge_requests":
                return 404, {"message": "404 Project Not Found"}
            if method == "GET":
                query = parse_qs(parsed.query)
                target = query.get("target_branch", [None])[0]
                state = query.get("state", ["opened"])[0]
                return 200, [
                    m
                    for m in self.merges
                    if m["state"] == state and target in (None, m["target_branch"])
                ]
            payload = json.loads(body)
            if any(
                m["source_branch"] == payload["source_branch"] and m["state"] == "opened"
                for m in self.merges
            ):
                return 409, {"message": ["Another open merge request already exists"]}
            iid = len(self.merges) + 1
            merge = {
                "iid": iid,
                "web_url": f"https://gitlab.example/{self.project}/-/merge_requests/{iid}",
                "state": "opened",
                "title": payload["title"],
                "description": payload["description"],
                "source_branch": payload["source_branch"],
                "target_branch": payload["target_branch"],
            }
            self.merges.append(merge)
            return 201, merge


@contextmanager
def fake_gitlab(project: str = "ml/deploy", token: str = "glpat-test") -> Iterator[FakeGitLab]:
    fake = FakeGitLab(project, token)
    with _serving(fake.handle, "PRIVATE-TOKEN") as url:
        fake.url = f"{url}/api/v4"
        yield fake


@contextmanager
def _serving(
    handle: Callable[[str, str, str, bytes], tuple[int, Any]], header: str
) -> Iterator[str]:
    """An HTTP server on a free loopback port answering with `handle`; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            code, answer = handle(self.command, self.path, self.headers.get(header, ""), body)
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
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
