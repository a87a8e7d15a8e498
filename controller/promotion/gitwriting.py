"""Writing a promotion (or a stage's revert) to git: a commit pushed to the branch, or a pull
request against it. Git stays the truth: `run --promote` changes AWS only through the manifests.

The writer keeps its own clone (never the tree the service reads) and, for every change, starts
again from the branch's head as the remote has it now: fetch, reset, load the manifests, move
the stage's pins with `promote`'s editor (comments and layout kept), commit. So:

- A change already made (by a human, by another replica, by this one before a restart) leaves
  nothing to edit, and nothing is committed: one commit per promotion.
- A push the remote refuses because the branch moved (a human's commit landed in between) is
  retried from the new head, up to `attempts` times; never forced, so the human's commit stays.
- A pull request is opened only when none for the stage is open: one promotion in flight per
  stage. A branch of the same name left by a closed pull request is not reused: the human
  closed it, and the writer does not reopen a decision it was given.

Credentials are git's own (a deploy key through `GIT_SSH_COMMAND`, or a credential helper) and
a token for the pull request API; neither appears in a log line or an error.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from controller.edits import promoting
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests
from controller.manifests.pipelines.checks import select_stage
from controller.promotion.pullrequests import PullRequests

BRANCH_PREFIX = "sagemaker-gitops"
"""Pull request branches: `sagemaker-gitops/<pipeline>/<stage>/<kind>-v<version>`."""
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "failed to update ref", "stale info")


class WriteError(ControllerError):
    """The change could not be written: git failed, the manifests at the head do not load, or
    the branch kept moving."""


@dataclass(frozen=True)
class Change:
    """One stage's pins of one group, moved to `version`."""

    pipeline: str
    stage: str
    group: str
    """As the pipeline writes it (a name, or a shared registry's group ARN)."""
    version: int
    kind: Literal["promote", "rollback"]
    mode: Literal["commit", "pullRequest"]
    evidence: str
    """Why, for the commit message or the pull request's body (markdown)."""

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}/{self.pipeline}/{self.stage}/{self.kind}-v{self.version}"


@dataclass(frozen=True)
class Written:
    """What the writer did: `done` is a commit id, a pull request URL, or why it waited."""

    outcome: Literal["committed", "pullRequest", "inFlight", "unchanged"]
    done: str
    subject: str = ""
    previous: tuple[int, ...] = ()


class GitWriter:
    """Writes changes to one branch of one repository, one at a time."""

    def __init__(
        self,
        url: str,
        *,
        branch: str,
        path: str,
        workdir: Path,
        pulls: PullRequests | None = None,
        author: tuple[str, str] = ("sagemaker-gitops", "sagemaker-gitops@users.noreply.github.com"),
        attempts: int = 5,
        timeout: float = 120.0,
    ) -> None:
        self.url = url if "://" in url or ":" in url.split("/")[0] else str(Path(url).resolve())
        self.branch = branch
        self.path = path.strip("/") or "."
        self.workdir = Path(workdir)
        self.pulls = pulls
        self.author = author
        self.attempts = max(1, attempts)
        self.timeout = timeout
        self._lock = threading.Lock()

    def write(self, change: Change) -> Written:
        with self._lock:
            self._clone()
            for _ in range(self.attempts):
                written = self._attempt(change)
                if written is not None:
                    return written
            raise WriteError(
                f"{change.stage}: {self.branch} moved under each of {self.attempts} pushes; "
                "the next pass tries again"
            )

    def _attempt(self, change: Change) -> Written | None:
        """One try from the remote's head; None when the push lost a race and must be redone."""
        self._git(
            "fetch",
            "--quiet",
            "origin",
            f"+refs/heads/{self.branch}:refs/remotes/origin/{self.branch}",
        )
        self._git("checkout", "--quiet", "--force", "-B", "promote", f"origin/{self.branch}")
        self._git("clean", "--quiet", "-fdx")
        root = self.workdir / self.path
        loaded = load_manifests([root], root=root)
        if not loaded.ok:
            first = loaded.diagnostics[0]
            raise WriteError(f"the manifests at {self.branch} do not load: {first}")
        selected = select_stage(loaded.pipelines, loaded.manifests, change.stage, change.pipeline)
        files = promoting.collect(
            root, self.path, selected.endpoints, change.group, loaded.manifests
        )
        promotion = promoting.promote_files(files, change.group, change.version)
        if not promotion.edits:
            return Written("unchanged", f"stage {change.stage} already pins v{change.version}")
        if change.mode == "pullRequest":
            waiting = self._in_flight(change)
            if waiting is not None:
                return waiting
        promoting.write(promotion)
        subject, body = _message(change, promotion)
        names = [edit.file.path.relative_to(self.workdir).as_posix() for edit in promotion.edits]
        self._git("add", "--", *names)
        name, email = self.author
        self._git(
            "-c", f"user.name={name}", "-c", f"user.email={email}",
            "commit", "--quiet", "-m", subject, "-m", body,
        )  # fmt: skip
        commit = self._git("rev-parse", "HEAD").strip()
        previous = tuple(promotion.previous)
        if change.mode == "commit":
            if not self._push(f"HEAD:refs/heads/{self.branch}"):
                return None
            return Written("committed", commit, subject, previous)
        if not self._push(f"HEAD:refs/heads/{change.branch}"):
            return Written("inFlight", f"branch {change.branch} exists already", subject, previous)
        assert self.pulls is not None
        made = self.pulls.create(change.branch, self.branch, subject, body)
        return Written("pullRequest", made.url, subject, previous)

    def _in_flight(self, change: Change) -> Written | None:
        if self.pulls is None:
            raise WriteError(
                f"stage {change.stage} writes pull requests: give run a GitHub token "
                "(--github-token-file) and a GitHub repository"
            )
        prefix = f"{BRANCH_PREFIX}/{change.pipeline}/{change.stage}/"
        for pull in self.pulls.open_against(self.branch):
            if pull.head.startswith(prefix):
                return Written("inFlight", pull.url)
        if self._git("ls-remote", "--heads", "origin", change.branch).strip():
            # Left by a pull request a human closed: that answer stands.
            return Written("inFlight", f"branch {change.branch} exists already")
        return None

    def _clone(self) -> None:
        if (self.workdir / ".git").is_dir():
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet")
        self._git("remote", "add", "origin", self.url)

    def _push(self, refspec: str) -> bool:
        """Push without force; False when the remote refused because the ref moved or exists."""
        done = self._run("push", "--quiet", "--porcelain", "origin", refspec)
        if done.returncode == 0:
            return True
        said = done.stdout + done.stderr
        if any(marker in said for marker in _REJECTED):
            return False
        raise WriteError(f"git push failed: {said.strip()[:500]}")

    def _git(self, *args: str) -> str:
        done = self._run(*args)
        if done.returncode != 0:
            said = (done.stderr or done.stdout).strip()[:500]
            raise WriteError(f"git {args[0]} failed: {said}")
        return done.stdout

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
        try:
            return subprocess.run(
                ["git", *args],
                cwd=self.workdir,
                capture_output=True,
                text=True,
                check=False,
                timeout=self.timeout,
                env=env,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise WriteError(f"git {args[0]} failed: {e}") from e


def _message(change: Change, promotion: promoting.Promotion) -> tuple[str, str]:
    """A conventional-commit subject and a body with the evidence, for commit and pull request."""
    before = ", ".join(f"v{v}" for v in promotion.previous)
    kind = "promote" if change.kind == "promote" else "revert"
    subject = (
        f"{kind}({change.stage}): {change.group.rsplit('/', 1)[-1]} {before} -> v{change.version}"
    )
    files = "\n".join(f"- {edit.file.shown}" for edit in promotion.edits)
    body = (
        f"{change.evidence.strip()}\n\nFiles:\n{files}\n\n"
        "Written by sagemaker-gitops run --promote "
        f"(pipeline {change.pipeline}, stage {change.stage})."
    )
    return subject, body
