"""Pull requests on GitHub (or GitHub Enterprise), and merge requests on GitLab, for promotions
a human merges.

A few calls of each REST API, with the standard library: list the open requests against the
branch (one promotion in flight per stage: another is not opened while one is open), open one,
and read what humans decided on one (`decision`: merged, closed, or its reviews), which is how a
pull request's review decides a stage the analysis left Inconclusive. The token is sent only in
a header and never logged or put in an error; the API URL is configurable for GitHub
Enterprise, self-managed GitLab and the loopback fakes the tests use.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

from controller.errors import ControllerError

PER_PAGE = 100
MAX_PAGES = 10
"""Open pull requests read per check (1,000): a repository with more is not a deploy repository."""
_GITHUB_REPO = re.compile(r"github\.com[:/]+([^/]+)/([^/]+?)(?:\.git)?/?$")
_GITLAB_PROJECT = re.compile(r"gitlab\.com[:/]+(.+?)(?:\.git)?/?$")


class PullRequestError(ControllerError):
    """The forge's API refused or could not be reached; the message never holds the token."""


def repository_of(url: str) -> str | None:
    """`owner/name` from a GitHub clone URL (https or ssh), None for any other host."""
    match = _GITHUB_REPO.search(url)
    return f"{match.group(1)}/{match.group(2)}" if match else None


def project_of(url: str) -> str | None:
    """`group/subgroup/name` from a gitlab.com clone URL (https or ssh), None for any other."""
    match = _GITLAB_PROJECT.search(url)
    return match.group(1) if match else None


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    """The branch it merges."""


@dataclass(frozen=True)
class Decision:
    """What humans did with the newest request from one branch."""

    state: Literal["open", "merged", "closed"]
    url: str
    by: str = ""
    """Who merged or closed it, when the forge says."""
    approved_by: tuple[str, ...] = ()
    """Reviewers whose latest review approves (open requests only)."""
    changes_requested_by: tuple[str, ...] = ()
    """Reviewers whose latest review requests changes (open requests only)."""


class ChangeRequests(Protocol):
    """What the git writer needs of a forge: GitHub pull requests or GitLab merge requests."""

    repository: str

    def open_against(self, base: str) -> list[PullRequest]: ...

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest: ...

    def decision(self, head: str) -> Decision | None: ...


class _Forge:
    """A forge's REST API: JSON in and out, paged listings, errors without the token."""

    forge = ""

    def __init__(self, base: str, repository: str, headers: dict[str, str], timeout: float) -> None:
        self._base = base
        self._headers = headers
        self._timeout = timeout
        self.repository = repository

    def _pages(self, path: str) -> list[Any]:
        """Every item of a paged listing (`path` ends with its query; pages are appended)."""
        found: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._call("GET", f"{path}&per_page={PER_PAGE}&page={page}")
            if not isinstance(batch, list):
                raise PullRequestError(f"{self.forge} API: a listing did not return a list")
            found.extend(batch)
            if len(batch) < PER_PAGE:
                break
        return found

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "User-Agent": "sagemaker-gitops",
        }
        request = urllib.request.Request(self._base + path, data, headers, method=method)
        where = f"{self.forge} API {method} {self.repository}"
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise PullRequestError(f"{where}{path.split('?')[0]}: HTTP {e.code} {detail}") from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise PullRequestError(f"{where}: {e}") from None


class PullRequests(_Forge):
    """One GitHub repository's pull requests."""

    forge = "GitHub"

    def __init__(self, api_url: str, repository: str, token: str, timeout: float = 30.0) -> None:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        super().__init__(f"{api_url.rstrip('/')}/repos/{repository}", repository, headers, timeout)

    def open_against(self, base: str) -> list[PullRequest]:
        """Every open pull request into `base`."""
        return [_pull(item) for item in self._pages(f"/pulls?state=open&base={quote(base)}")]

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body}
        return _pull(self._call("POST", "/pulls", {**payload, "maintainer_can_modify": True}))

    def decision(self, head: str) -> Decision | None:
        """The newest pull request from `head` (in this repository), None when there is none.
        One listing; an open one's reviews, or a merged one's merger, is one call more."""
        owner = self.repository.split("/", 1)[0]
        found = self._pages(f"/pulls?state=all&head={quote(f'{owner}:{head}', safe=':')}")
        if not found:
            return None
        newest = max(found, key=lambda item: int(item.get("number", 0)))
        number, url = int(newest["number"]), str(newest.get("html_url", ""))
        if newest.get("state") == "open":
            latest: dict[str, str] = {}
            for review in self._pages(f"/pulls/{number}/reviews?"):  # oldest first
                user = str((review.get("user") or {}).get("login", ""))
                if user and review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                    latest[user] = str(review["state"])
            approved = tuple(sorted(u for u, s in latest.items() if s == "APPROVED"))
            changes = tuple(sorted(u for u, s in latest.items() if s == "CHANGES_REQUESTED"))
            return Decision("open", url, approved_by=approved, changes_requested_by=changes)
        if newest.get("merged_at"):
            merged = self._call("GET", f"/pulls/{number}")
            by = str(((merged or {}).get("merged_by") or {}).get("login", ""))
            return Decision("merged", url, by)
        return Decision("closed", url)


class MergeRequests(_Forge):
    """One GitLab project's merge requests (API v4)."""

    forge = "GitLab"

    def __init__(self, api_url: str, project: str, token: str, timeout: float = 30.0) -> None:
        base = f"{api_url.rstrip('/')}/projects/{quote(project, safe='')}"
        super().__init__(base, project, {"PRIVATE-TOKEN": token}, timeout)

    def open_against(self, base: str) -> list[PullRequest]:
        target = quote(base, safe="")
        path = f"/merge_requests?state=opened&target_branch={target}"
        return [_merge(item) for item in self._pages(path)]

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        payload = {"source_branch": head, "target_branch": base, "title": title}
        extra = {"description": body, "remove_source_branch": True}
        return _merge(self._call("POST", "/merge_requests", {**payload, **extra}))

    def decision(self, head: str) -> Decision | None:
        """The newest merge request from `head`, None when there is none; an open one's
        approvals are one call more. (GitLab's core has no "request changes": closing rejects.)"""
        path = f"/merge_requests?state=all&source_branch={quote(head, safe='')}"
        found = self._pages(path)
        if not found:
            return None
        newest = max(found, key=lambda item: int(item.get("iid", 0)))
        url, state = str(newest.get("web_url", "")), str(newest.get("state", ""))
        if state == "opened":
            approvals = self._call("GET", f"/merge_requests/{int(newest['iid'])}/approvals")
            approved = tuple(
                sorted(
                    str((entry.get("user") or {}).get("username", ""))
                    for entry in (approvals or {}).get("approved_by") or []
                )
            )
            return Decision("open", url, approved_by=tuple(a for a in approved if a))
        if state == "merged":
            return Decision("merged", url, _username(newest.get("merged_by")))
        if state in ("closed", "locked"):
            return Decision("closed", url, _username(newest.get("closed_by")))
        return None


def _username(user: Any) -> str:
    return str(user.get("username", "")) if isinstance(user, dict) else ""


def _pull(item: Any) -> PullRequest:
    try:
        return PullRequest(int(item["number"]), str(item["html_url"]), str(item["head"]["ref"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PullRequestError(f"GitHub API: unexpected pull request {e}") from None


def _merge(item: Any) -> PullRequest:
    try:
        return PullRequest(int(item["iid"]), str(item["web_url"]), str(item["source_branch"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PullRequestError(f"GitLab API: unexpected merge request {e}") from None
