"""Loopback fakes of the GitHub and GitLab REST calls `run --promote` makes for pull (merge)
requests.

GitHub: `GET /repos/{owner}/{repo}/pulls?state=open|closed|all&base=B&head=owner:branch`,
`POST .../pulls`, `GET .../pulls/{n}` and `GET .../pulls/{n}/reviews`, with GitHub's shapes
(number, html_url, head.ref, base.ref, state, merged_at, merged_by; a review's user.login and
state) and its 422 for a second pull request from the same head. GitLab: the same for merge
requests, and `GET .../merge_requests/{iid}/approvals`. A test plays the humans with `merge`,
`close` and `review`. Every request is recorded with its token header, so a test can check the
token was sent and nothing else carried it.
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
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.merged_by: dict[int, str] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def close(self, number: int) -> None:
        with self.lock:
            for pull in self.pulls:
                if pull["number"] == number:
                    pull["state"] = "closed"

    def merge(self, number: int, by: str) -> None:
        with self.lock:
            pull = self.pulls[number - 1]
            pull.update(state="closed", merged_at="2026-12-05T12:00:00Z")
            self.merged_by[number] = by

    def review(self, number: int, user: str, state: str) -> None:
        """A review: APPROVED, CHANGES_REQUESTED, COMMENTED or DISMISSED."""
        with self.lock:
            self.reviews.setdefault(number, []).append({"user": {"login": user}, "state": state})

    def handle(self, method: str, path: str, auth: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path, auth))
            parsed = urlparse(path)
            if auth != f"Bearer {self.token}":
                return 401, {"message": "Bad credentials"}
            prefix = f"/repos/{self.repository}/pulls"
            one = parsed.path.removeprefix(prefix + "/").split("/")
            if method == "GET" and parsed.path.startswith(prefix + "/") and one[0].isdigit():
                number = int(one[0])
                if number > len(self.pulls) or one[1:] not in ([], ["reviews"]):
                    return 404, {"message": "Not Found"}
                if one[1:] == ["reviews"]:
                    return 200, list(self.reviews.get(number, []))
                merged_by = self.merged_by.get(number)
                return 200, {
                    **self.pulls[number - 1],
                    "merged_by": {"login": merged_by} if merged_by else None,
                }
            if parsed.path != prefix:
                return 404, {"message": "Not Found"}
            if method == "GET":
                query = parse_qs(parsed.query)
                state = query.get("state", ["open"])[0]
                base = query.get("base", [None])[0]
                head = query.get("head", [None])[0]
                owner = self.repository.split("/")[0]
                return 200, [
                    p
                    for p in self.pulls
                    if state in (p["state"], "all")
                    and (base is None or p["base"]["ref"] == base)
                    and (head is None or head == f"{owner}:{p['head']['ref']}")
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
                "merged_at": None,
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
        self.approvals: dict[int, list[str]] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def decide(self, iid: int, state: str, by: str) -> None:
        """A human merges (`merged`) or closes (`closed`) merge request `iid`."""
        with self.lock:
            key = "merged_by" if state == "merged" else "closed_by"
            self.merges[iid - 1].update({"state": state, key: {"username": by}})

    def approve(self, iid: int, user: str) -> None:
        with self.lock:
            self.approvals.setdefault(iid, []).append(user)

    def handle(self, method: str, path: str, token: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            self.requests.append((method, path, token))
            parsed = urlparse(path)
            if token != self.token:
                return 401, {"message": "401 Unauthorized"}
            encoded = self.project.replace("/", "%2F")
            prefix = f"/api/v4/projects/{encoded}/merge_requests"
            one = parsed.path.removeprefix(prefix + "/").split("/")
            if method == "GET" and len(one) == 2 and one[0].isdigit() and one[1] == "approvals":
                users = self.approvals.get(int(one[0]), [])
                return 200, {"approved_by": [{"user": {"username": u}} for u in users]}
            if parsed.path != prefix:
                return 404, {"message": "404 Project Not Found"}
            if method == "GET":
                query = parse_qs(parsed.query)
                target = query.get("target_branch", [None])[0]
                source = query.get("source_branch", [None])[0]
                state = query.get("state", ["opened"])[0]
                return 200, [
                    m
                    for m in self.merges
                    if state in (m["state"], "all")
                    and target in (None, m["target_branch"])
                    and source in (None, m["source_branch"])
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
