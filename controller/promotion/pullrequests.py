"""Pull requests on GitHub (or GitHub Enterprise), and merge requests on GitLab, for promotions
a human merges.

Two calls of each REST API, with the standard library: list the open requests against the branch
(one promotion in flight per stage: another is not opened while one is open), and open one. The
token is sent only in a header and never logged or put in an error; the API URL is configurable
for GitHub Enterprise, self-managed GitLab and the loopback fakes the tests use.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol
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


class ChangeRequests(Protocol):
    """What the git writer needs of a forge: GitHub pull requests or GitLab merge requests."""

    repository: str

    def open_against(self, base: str) -> list[PullRequest]: ...

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest: ...


class PullRequests:
    """One GitHub repository's pull requests, through the REST API."""

    def __init__(self, api_url: str, repository: str, token: str, timeout: float = 30.0) -> None:
        self._base = f"{api_url.rstrip('/')}/repos/{repository}"
        self._token = token
        self._timeout = timeout
        self.repository = repository

    def open_against(self, base: str) -> list[PullRequest]:
        """Every open pull request into `base`."""
        found: list[PullRequest] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._call(
                "GET", f"/pulls?state=open&base={base}&per_page={PER_PAGE}&page={page}"
            )
            if not isinstance(batch, list):
                raise PullRequestError("GitHub API: listing pull requests did not return a list")
            found.extend(_pull(item) for item in batch)
            if len(batch) < PER_PAGE:
                break
        return found

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        made = self._call(
            "POST",
            "/pulls",
            {
                "title": title,
                "head": head,
                "base": base,
                "body": body,
                "maintainer_can_modify": True,
            },
        )
        return _pull(made)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self._token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
                "User-Agent": "sagemaker-gitops",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise PullRequestError(
                f"GitHub API {method} {self.repository}{path.split('?')[0]}: HTTP {e.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise PullRequestError(f"GitHub API {method} {self.repository}: {e}") from None


def _pull(item: Any) -> PullRequest:
    try:
        return PullRequest(int(item["number"]), str(item["html_url"]), str(item["head"]["ref"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PullRequestError(f"GitHub API: unexpected pull request {e}") from None


class MergeRequests:
    """One GitLab project's merge requests, through the REST API (v4)."""

    def __init__(self, api_url: str, project: str, token: str, timeout: float = 30.0) -> None:
        self._base = f"{api_url.rstrip('/')}/projects/{quote(project, safe='')}"
        self._token = token
        self._timeout = timeout
        self.repository = project

    def open_against(self, base: str) -> list[PullRequest]:
        found: list[PullRequest] = []
        for page in range(1, MAX_PAGES + 1):
            target = quote(base, safe="")
            batch = self._call(
                "GET",
                f"/merge_requests?state=opened&target_branch={target}&per_page={PER_PAGE}"
                f"&page={page}",
            )
            if not isinstance(batch, list):
                raise PullRequestError("GitLab API: listing merge requests did not return a list")
            found.extend(_merge(item) for item in batch)
            if len(batch) < PER_PAGE:
                break
        return found

    def create(self, head: str, base: str, title: str, body: str) -> PullRequest:
        made = self._call(
            "POST",
            "/merge_requests",
            {
                "source_branch": head,
                "target_branch": base,
                "title": title,
                "description": body,
                "remove_source_branch": True,
            },
        )
        return _merge(made)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self._base + path,
            data=data,
            method=method,
            headers={
                "PRIVATE-TOKEN": self._token,
                "Content-Type": "application/json",
                "User-Agent": "sagemaker-gitops",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise PullRequestError(
                f"GitLab API {method} {self.repository}{path.split('?')[0]}: HTTP {e.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise PullRequestError(f"GitLab API {method} {self.repository}: {e}") from None


def _merge(item: Any) -> PullRequest:
    try:
        return PullRequest(int(item["iid"]), str(item["web_url"]), str(item["source_branch"]))
    except (KeyError, TypeError, ValueError) as e:
        raise PullRequestError(f"GitLab API: unexpected merge request {e}") from None
