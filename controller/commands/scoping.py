"""The prune scope of a run: which manifest tree it speaks for, as a stable tag value.

The one place a scope is computed (a future "projects" feature makes it a project's). Rule
(docs/reliability.md): `--scope NAME` when given; else the scope of the manifest tree `-m`
names. A directory is its own tree; a file belongs to the tree of its nearest ancestor folder
holding `.sagemaker-gitops.yaml` (up to the git work tree's top), else of its own folder, so
`apply -m dir/one.yaml` keeps the scope `apply -m dir` wrote. When the tree is inside a git work
tree its scope is `<origin>:<path>`, where <origin> is the `origin` remote normalised to
`host/owner/repo` (no scheme, credentials or `.git`, so https and ssh clones agree; the top-level
folder's name when there is no remote) and <path> the tree relative to the repository root (`.`
for the root); else the tree made absolute. `run --repo URL --path P` gives `<URL
normalised>:<P>`, the same value a CI job applying that path of a clone computes.

A file is only part of its tree, so a run on one file never counts a neighbour as removed
(`pruning.PruneGuards.whole_tree`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from controller.core import tagging
from controller.core.naming import content_hash
from controller.core.tagging import NOT_ALLOWED
from controller.errors import ControllerError

_SCP = re.compile(r"^(?:[^@/]+@)?([^:/]+):(.+)$")  # git@github.com:org/repo.git


def explicit(name: str) -> str:
    """Validate `--scope NAME`: a usage error, never a rejected AddTags later."""
    if not name or len(name) > tagging.MAX_VALUE or NOT_ALLOWED.search(name):
        raise ControllerError(
            f"--scope {name!r}: use 1-{tagging.MAX_VALUE} letters, digits, spaces "
            "or _ . : / = + - @"
        )
    return name


def of_path(path: Path) -> str:
    """The scope of a manifest directory or file, by the rule in the module docstring."""
    target = path.resolve()
    folder = target if target.is_dir() else target.parent
    top = git(folder, "rev-parse", "--show-toplevel")
    tree = folder if target.is_dir() else tree_of(folder, Path(top).resolve() if top else None)
    if top is None:
        return stable(tree.as_posix())
    relative = tree.relative_to(Path(top).resolve()).as_posix() or "."
    origin = git(folder, "config", "--get", "remote.origin.url")
    return stable(f"{normalise_remote(origin) if origin else Path(top).name}:{relative}")


def tree_of(folder: Path, top: Path | None) -> Path:
    """The manifest tree a file in `folder` belongs to: the nearest folder up to `top` (the git
    work tree's top; only `folder` itself outside git) holding the repository config file."""
    from controller.manifests.repoconfig import CONFIG_NAME  # `--help` imports no manifests

    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_NAME).is_file():
            return candidate
        if top is None or candidate == top:
            break
    return folder


def of_repo(url: str, path: str) -> str:
    """The scope of `run --repo URL --path P`."""
    inner = PurePosixPath(path.strip("/") or ".").as_posix()
    return stable(f"{normalise_remote(url)}:{inner}")


def normalise_remote(url: str) -> str:
    """`https://user:tok@github.com/org/repo.git`, `git@github.com:org/repo`: `github.com/org/repo`.

    Credentials never reach the tag, and https and ssh clones of one repository agree.
    """
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host = parts.hostname or ""
        where = f"{host}{parts.path}" if host else parts.path
    elif (scp := _SCP.match(url)) and not url.startswith(("/", ".")):
        where = f"{scp.group(1)}/{scp.group(2)}"
    else:
        where = url
    return where.rstrip("/").removesuffix(".git").rstrip("/")


def stable(value: str) -> str:
    """Fit a scope into a tag value: disallowed characters become `_`; a long value keeps its
    tail (the most specific part) and a hash of the whole, so two long scopes never collide."""
    clean = NOT_ALLOWED.sub("_", value)
    if len(clean) <= tagging.MAX_VALUE:
        return clean
    digest = content_hash(value, length=12)
    return f"{digest}:{clean[-(tagging.MAX_VALUE - len(digest) - 1) :]}"


def git(folder: Path, *argv: str) -> str | None:
    """The trimmed output of `git -C folder ARGV...`; None when git fails or says nothing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *argv],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None
