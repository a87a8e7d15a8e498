"""Pull requests on GitHub (or GitHub Enterprise) for promotions a human merges.

Two calls of the REST API, with the standard library: list the open pull requests against the
branch (one promotion in flight per stage: another is not opened while one is open), and open
one. The token is sent only in the Authorization header and never logged or put in an error;
the API URL is configurable for GitHub Enterprise and for the loopback fake the tests use.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from controller.errors import ControllerError

PER_PAGE = 100
MAX_PAGES = 10
"""Open pull requests read per check (1,000): a repository with more is not a deploy repository."""
_GITHUB_REPO = re.compile(r"github\.com[:/]+([^/]+)/([^/]+?)(?:\.git)?/?$")


class PullRequestError(ControllerError):
    """The GitHub API refused or could not be reached; the message never holds the token."""


def repository_of(url: str) -> str | None:
    """`owner/name` from a GitHub clone URL (https or ssh), None for any other host."""
    match = _GITHUB_REPO.search(url)
    return f"{match.group(1)}/{match.group(2)}" if match else None


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    """The branch it merges."""


class PullRequests:
    """One repository's pull requests, through the REST API."""

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
