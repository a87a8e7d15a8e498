"""Which manifest files a git checkout says changed: `apply`'s changed-first hint.

Finding the one changed endpoint of a large fleet from AWS alone costs reading every endpoint's
tags up to it (the tagging API cannot filter on "spec hash differs"). A git checkout knows the
changed files without any AWS call: what HEAD changed against its first parent (what a CI job
after a merge sees) or against `--changed-since REV` (the last deployed revision), plus what is
uncommitted. `apply` reconciles the endpoints of those files first.

A hint only orders work, it never decides: every endpoint is still reconciled, nothing is
skipped or pruned because of it, and outside a git repository, or when git fails, there is no
hint and `apply` behaves as without it. Three git calls at most (four with `--changed-since`),
each bounded in time by `scoping.git`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.commands.scoping import git
from controller.errors import ControllerError

if TYPE_CHECKING:
    from controller.core.snapshots import Snapshot


def changed_paths(root: Path, since: str | None = None) -> frozenset[str]:
    """Paths under the manifest root `root` (relative to it, posix) changed by HEAD against its
    first parent, or against `since`, plus uncommitted and untracked ones. Empty outside git.

    `since` that git does not know as a commit is an error (a CI system passing a wrong
    revision should hear so), unlike everything else here, which only drops the hint.
    """
    if not root.exists():
        return frozenset()  # loading says so
    folder = root if root.is_dir() else root.parent
    return _changed(folder, _base(folder, since))


def _base(folder: Path, since: str | None) -> str:
    return "HEAD^1" if since is None else verified(folder, since)


def _changed(folder: Path, base: str) -> frozenset[str]:
    # `--relative`: paths relative to `folder`, and only those under it (as the loader names
    # them). `-z`: names exactly as stored, unquoted. `--no-renames`: a renamed file's new path
    # is listed (its old one maps to no manifest).
    diff = ("diff", "--name-only", "-z", "--relative", "--no-renames")
    outputs = (
        git(folder, *diff, base, "HEAD", "--"),  # committed (fails on a root commit: no hint)
        git(folder, *diff, "HEAD", "--"),  # staged and unstaged
        git(folder, "ls-files", "-z", "--others", "--exclude-standard"),  # untracked
    )
    return frozenset(path for out in outputs if out for path in split_nul(out))


def verified(folder: Path, since: str) -> str:
    """The commit `since` names in the repository of `folder`, or a usage error."""
    # `--end-of-options`: a revision that looks like an option is still read as a revision.
    sha = git(folder, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}")
    if sha is not None:
        return sha
    if git(folder, "rev-parse", "--is-inside-work-tree") is None:
        raise ControllerError(f"--changed-since {since!r}: {folder} is not in a git work tree")
    raise ControllerError(
        f"--changed-since {since!r}: not a commit of the git repository at {folder} "
        "(a shallow clone may need `git fetch --deepen` or fetch-depth: 0)"
    )


def split_nul(output: str) -> list[str]:
    """`git ... -z` output: NUL-terminated names."""
    return [name for name in output.split("\0") if name]


def hinted_keys(snapshot: Snapshot, paths: Collection[str]) -> list[str]:
    """The endpoints defined in `paths` (manifest-root-relative), sorted: every document of a
    multi-document file, and every endpoint rendered through a template in one of them; nothing
    for a deleted file, a renamed file's old path, a file that failed to load or a file that is
    not a manifest."""
    if not paths:
        return []
    return sorted(
        key
        for key, entry in snapshot.entries.items()
        if entry.source in paths or any(path in paths for path in entry.rendered_from)
    )


def config_changes(root: Path, since: str | None = None) -> list[str]:
    """What the change of the manifest root's repository config says, one line per change,
    when git says the file changed (see `changed_paths`); [] when it did not, or outside git."""
    from controller.manifests.projects.configchanges import summarize
    from controller.manifests.repoconfig import CONFIG_NAME

    if not root.exists():
        return []
    folder = root if root.is_dir() else root.parent
    base = _base(folder, since)
    if CONFIG_NAME not in _changed(folder, base):
        return []
    # The file at the base (None: it did not exist there) against the working tree's.
    before = git(folder, "show", f"{base}:./{CONFIG_NAME}")
    return summarize(_parsed(before), _parsed(_read(folder / CONFIG_NAME)))


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _parsed(text: str | None) -> Any:
    """The YAML, or a marker that it did not parse (a broken file is refused by loading)."""
    import yaml

    if text is None:
        return None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {"(unparsable)": text}
