"""Keep a local, atomically switched copy of one branch of a git repository.

The `run` service calls `GitSource.sync()` on start, on a timer and when a webhook says the branch
moved; the runner then loads manifests from `Checkout.root`. Layout under `workdir`:

    repo.git/          bare repository; only refs/gitops/head is fetched into it
    trees/<sha>/       one complete, read-only-by-convention tree per revision
    current -> trees/<sha>   symlink swapped with os.replace, for people and tools that look;
                             resolve it once, then read: each path through it resolves anew

A new revision is materialised into a temporary directory and renamed into `trees/<sha>` only when
complete, so a reader never sees a half-written tree. `Checkout.root` names the per-revision
directory, not the symlink: a reconcile that started on one revision keeps reading that revision
even while a newer one lands. The last `keep` trees survive pruning; a reader that holds a Checkout
across more syncs than that may find its tree gone.

Only the `git` executable is used (no library), with a timeout, no shell and no terminal prompts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from controller.errors import ControllerError

# Fetched into its own ref namespace, so nothing else in the bare repository can shadow it.
_HEAD_REF = "refs/gitops/head"
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")  # SHA-1, or SHA-256 object format


class GitError(ControllerError):
    """A git command failed or timed out, or the branch or path is not what the source names.

    Transient for network trouble, terminal for a wrong URL/branch/path until the config changes;
    the message carries git's own stderr so the operator can tell which.
    """


@dataclass(frozen=True)
class Checkout:
    """One synced revision: what the runner loads manifests from."""

    revision: str  # the full commit SHA
    root: Path  # <workdir>/trees/<sha>/<path>: stable for as long as the tree is kept
    changed: bool  # the revision differs from the previous sync of this GitSource


class GitSource:
    """One branch of one repository, fetched into `workdir` and checked out per revision."""

    def __init__(
        self,
        url: str,
        *,
        branch: str = "main",
        path: str = ".",
        workdir: Path,
        git: str = "git",
        timeout: float = 120.0,
        keep: int = 2,
    ) -> None:
        self.url = _absolute_if_local(url)
        self.branch = branch
        self.path = _clean_subpath(path)
        self.workdir = Path(workdir).resolve()
        self.timeout = timeout
        self.keep = max(1, keep)
        self._git = git
        self._repo = self.workdir / "repo.git"
        self._trees = self.workdir / "trees"
        self._lock = threading.Lock()  # one sync at a time; readers only need `current`
        self._current: Checkout | None = None
        # Newest last; seeded from the `current` symlink so a restart keeps the previous tree.
        self._history: list[str] = _read_current_link(self.workdir)

    @property
    def current(self) -> Checkout | None:
        """The last successful sync, or None before the first one."""
        return self._current

    def sync(self) -> Checkout:
        """Fetch the branch head and make it the current checkout; raise GitError on failure.

        On failure the previous checkout stays current and untouched.
        """
        with self._lock:
            self._ensure_repo()
            revision = self._fetch()
            root = self._materialise(revision)
            previous = self._current.revision if self._current else None
            self._current = Checkout(revision, root, changed=revision != previous)
            self._remember(revision)
            self._swap_link(revision)
            self._prune()
            return self._current

    # -- git plumbing ----------------------------------------------------------------------

    def _run(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git with the bare repository as GIT_DIR; return stdout or raise GitError."""
        cmd = [self._git, "--git-dir", str(self._repo), *args]
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self.timeout, env=full_env, check=False
            )
        except subprocess.TimeoutExpired as e:
            raise GitError(f"git {args[0]} timed out after {self.timeout:g}s ({self.url})") from e
        except OSError as e:
            raise GitError(f"cannot run git ({self._git}): {e}") from e
        if done.returncode != 0:
            detail = done.stderr.strip() or f"exit code {done.returncode}"
            raise GitError(f"git {args[0]} failed for {self.url}: {detail}")
        return done.stdout

    def _ensure_repo(self) -> None:
        """Create the bare repository on first use (a crash after init just fetches again)."""
        if (self._repo / "HEAD").exists():
            return
        self._trees.mkdir(parents=True, exist_ok=True)
        self._run("init", "--bare", "--quiet")

    def _fetch(self) -> str:
        """Fetch the branch head into our own ref and return its commit SHA."""
        ref = f"refs/heads/{self.branch}"
        try:
            # Also rules out option and refspec tricks like "-x" or "a:b".
            self._run("check-ref-format", "--branch", self.branch)
        except GitError as e:
            raise GitError(f"invalid branch name {self.branch!r}") from e
        try:
            self._run(
                "fetch", "--quiet", "--no-tags", "--force", "--", self.url, f"+{ref}:{_HEAD_REF}"
            )
        except GitError as e:
            if "couldn't find remote ref" in str(e):
                raise GitError(f"branch {self.branch!r} not found in {self.url}") from e
            raise
        sha = self._run("rev-parse", "--verify", "--quiet", f"{_HEAD_REF}^{{commit}}").strip()
        if not _SHA.match(sha):
            raise GitError(f"unexpected revision {sha!r} for {self.branch!r} in {self.url}")
        return sha

    # -- trees -----------------------------------------------------------------------------

    def _materialise(self, revision: str) -> Path:
        """Return <trees>/<sha>/<path>, writing the tree first unless an earlier sync kept it."""
        self._check_path(revision)
        final = self._trees / revision
        if not final.is_dir():
            self._trees.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".tmp-{revision[:12]}-", dir=self._trees))
            try:
                staging.chmod(0o755)  # mkdtemp makes it 0700; readers may be other users
                self._checkout_into(revision, staging)
                os.rename(staging, final)  # atomic: readers see all of the tree or none
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return final / self.path if self.path != "." else final

    def _check_path(self, revision: str) -> None:
        """Fail before writing anything when `path` is not a directory in this revision."""
        if self.path == ".":
            return
        try:
            kind = self._run("cat-file", "-t", f"{revision}:{self.path}").strip()
        except GitError as e:
            raise GitError(f"path {self.path!r} does not exist at {revision[:12]}") from e
        if kind != "tree":
            raise GitError(f"path {self.path!r} at {revision[:12]} is a {kind}, not a directory")

    def _checkout_into(self, revision: str, target: Path) -> None:
        """Write the whole tree of `revision` into `target` through a throwaway index file.

        read-tree + checkout-index keeps symlinks and executable bits and, unlike `git archive`,
        ignores export-ignore attributes, so the tree is exactly what was committed.
        """
        env = {"GIT_INDEX_FILE": str(target / ".git-index"), "GIT_WORK_TREE": str(target)}
        self._run("read-tree", revision, env=env)
        self._run("checkout-index", "--all", "--force", env=env)
        (target / ".git-index").unlink()

    def _remember(self, revision: str) -> None:
        if revision in self._history:
            self._history.remove(revision)
        self._history.append(revision)

    def _swap_link(self, revision: str) -> None:
        """Point `current` at the new tree by renaming a fresh symlink over it (atomic)."""
        link = self.workdir / "current"
        staging = self.workdir / f".current-{os.getpid()}-{threading.get_ident()}"
        staging.unlink(missing_ok=True)
        staging.symlink_to(Path("trees") / revision, target_is_directory=True)
        os.replace(staging, link)

    def _prune(self) -> None:
        """Delete trees beyond the newest `keep`, and staging leftovers from a crash."""
        kept = set(self._history[-self.keep :])
        self._history = self._history[-self.keep :]
        for entry in self._trees.iterdir():
            if entry.name not in kept:
                shutil.rmtree(entry, ignore_errors=True)


def _clean_subpath(path: str) -> str:
    """Normalise the manifest directory; refuse anything that could leave the checkout."""
    pure = PurePosixPath(path.strip() or ".")
    if pure.is_absolute() or ".." in pure.parts:
        raise GitError(f"path {path!r} must be relative to the repository root, without '..'")
    return str(pure)


def _absolute_if_local(url: str) -> str:
    """Make a relative local path absolute, since git runs with --git-dir elsewhere."""
    if "://" not in url and not url.startswith("-") and Path(url).exists():
        return str(Path(url).resolve())
    return url


def _read_current_link(workdir: Path) -> list[str]:
    """The revision a previous process left `current` pointing at, if any."""
    try:
        name = Path(os.readlink(workdir / "current")).name
    except OSError:
        return []
    return [name] if _SHA.match(name) else []
