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

from controller.edits import promoting, shadowing
from controller.errors import ControllerError
from controller.manifests.loading import LoadedManifest, load_manifests
from controller.manifests.pipelines.checks import SelectedStage, pinned_versions, select_stage
from controller.promotion.pullrequests import ChangeRequests, Decision

BRANCH_PREFIX = "sagemaker-gitops"
"""Pull request branches: `sagemaker-gitops/<pipeline>/<stage>/<kind>-v<version>`."""
REVERTS = ("rollback", "unshadow")
"""Change kinds that undo: one of each may be in flight beside a pending promotion."""
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
    kind: Literal["promote", "rollback", "shadow", "swap", "unshadow"]
    """`shadow` adds the version as the stage's shadow variant, `swap` moves production to it
    and drops the shadow, `unshadow` drops a failed shadow."""
    mode: Literal["commit", "pullRequest"]
    evidence: str
    """Why, for the commit message or the pull request's body (markdown)."""

    @property
    def branch(self) -> str:
        return f"{BRANCH_PREFIX}/{self.pipeline}/{self.stage}/{self.kind}-v{self.version}"

    @property
    def reverts(self) -> bool:
        """A revert (of a failed version, or of its shadow), not a promotion."""
        return self.kind in REVERTS


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
        pulls: ChangeRequests | None = None,
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

    def decision(self, change: Change) -> Decision | None:
        """What humans did with the change's pull request; None without one (or a forge)."""
        return self.pulls.decision(change.branch) if self.pulls is not None else None

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
        edited = self._edit(change, root, selected, loaded.manifests)
        if edited is None:
            return Written("unchanged", f"stage {change.stage} already has it")
        paths, previous = edited
        reloaded = load_manifests([root], root=root)
        if not reloaded.ok:  # never push a tree that would not load (nothing would apply)
            raise WriteError(
                f"{change.kind} of stage {change.stage} would break the manifests: "
                f"{reloaded.diagnostics[0]}; nothing written"
            )
        if change.mode == "pullRequest":
            waiting = self._in_flight(change)
            if waiting is not None:
                return waiting
        names = [path.relative_to(self.workdir).as_posix() for path in paths]
        subject, body = _message(change, previous, names)
        self._git("add", "--", *names)
        name, email = self.author
        self._git(
            "-c", f"user.name={name}", "-c", f"user.email={email}",
            "commit", "--quiet", "-m", subject, "-m", body,
        )  # fmt: skip
        commit = self._git("rev-parse", "HEAD").strip()
        if change.mode == "commit":
            pushed = self._push(f"HEAD:refs/heads/{self.branch}")
            if pushed is False:
                return None
            if pushed is None:
                return Written("unchanged", f"{commit} was there already", subject, previous)
            return Written("committed", commit, subject, previous)
        if not self._push(f"HEAD:refs/heads/{change.branch}"):
            return Written("inFlight", f"branch {change.branch} exists already", subject, previous)
        assert self.pulls is not None
        made = self.pulls.create(change.branch, self.branch, subject, body)
        return Written("pullRequest", made.url, subject, previous)

    def _edit(
        self,
        change: Change,
        root: Path,
        selected: SelectedStage,
        everyone: list[LoadedManifest],
    ) -> tuple[list[Path], tuple[int, ...]] | None:
        """Write the change into the clone's files; the files changed and the versions the
        stage pinned before, or None when there is nothing to change."""
        changed: dict[Path, None] = {}
        previous: tuple[int, ...] = ()
        if change.kind in ("promote", "rollback", "swap"):
            files = promoting.collect(root, self.path, selected.endpoints, change.group, everyone)
            promotion = promoting.promote_files(files, change.group, change.version)
            promoting.write(promotion)
            changed.update(dict.fromkeys(edit.file.path for edit in promotion.edits))
            previous = tuple(promotion.previous)
        if change.kind in ("shadow", "swap", "unshadow"):
            gate = selected.stage.shadow
            if gate is None:
                raise WriteError(f"stage {change.stage} has no shadow gate")
            for entry in selected.endpoints:
                rendering = entry.rendering
                if rendering is not None and rendering.endpoint.places:
                    raise WriteError(
                        f"{entry.shown}: a shadow gate edits the endpoint's own document, and "
                        f"{entry.manifest.metadata.name} is an entry of an EndpointSet"
                    )
                path = root / entry.source
                before = path.read_text(encoding="utf-8")
                after = shadowing.drop_shadow(before, entry.document, entry.shown)
                if change.kind == "shadow":
                    shadowed = pinned_versions(entry, change.group, shadows=True)
                    if shadowed == [change.version]:
                        continue
                    previous = tuple(sorted({*previous, *pinned_versions(entry, change.group)}))
                    after = shadowing.add_shadow(
                        after,
                        entry.document,
                        entry.shown,
                        variant=gate.variant,
                        version=change.version,
                        weight=gate.sampling_weight,
                        rendered=rendering.data if rendering is not None else None,
                    )
                if after != before:
                    path.write_text(after, encoding="utf-8")
                    changed[path] = None
        if not changed:
            return None
        return list(changed), previous

    def _in_flight(self, change: Change) -> Written | None:
        if self.pulls is None:
            raise WriteError(
                f"stage {change.stage} writes pull requests: give run a GitHub token "
                "(--github-token-file) or a GitLab one (--gitlab-token-file)"
            )
        # One request in flight per stage and kind: a pending promotion never holds back the
        # revert of a failed version.
        prefix = f"{BRANCH_PREFIX}/{change.pipeline}/{change.stage}/"
        reverts = tuple(f"{prefix}{kind}-" for kind in REVERTS)
        for pull in self.pulls.open_against(self.branch):
            if pull.head.startswith(prefix) and pull.head.startswith(reverts) == change.reverts:
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

    def _push(self, refspec: str) -> bool | None:
        """Push without force; False when the remote refused because the ref moved or exists,
        None when the remote had this very commit already (another writer made the same one,
        to the second)."""
        done = self._run("push", "--porcelain", "origin", refspec)
        if done.returncode == 0:
            return None if "[up to date]" in done.stdout else True
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


def _message(change: Change, previous: tuple[int, ...], files: list[str]) -> tuple[str, str]:
    """A conventional-commit subject and a body with the evidence, for commit and pull request."""
    group = change.group.rsplit("/", 1)[-1]
    before = ", ".join(f"v{v}" for v in previous)
    subject = {
        "promote": f"promote({change.stage}): {group} {before} -> v{change.version}",
        "swap": f"promote({change.stage}): {group} {before} -> v{change.version}",
        "rollback": f"revert({change.stage}): {group} {before} -> v{change.version}",
        "shadow": f"shadow({change.stage}): {group} v{change.version} beside {before}",
        "unshadow": f"revert({change.stage}): drop {group} v{change.version}'s shadow",
    }[change.kind]
    shown = "\n".join(f"- {name}" for name in files)
    body = (
        f"{change.evidence.strip()}\n\nFiles:\n{shown}\n\n"
        "Written by sagemaker-gitops run --promote "
        f"(pipeline {change.pipeline}, stage {change.stage})."
    )
    return subject, body
