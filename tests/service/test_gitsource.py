"""GitSource against real local repositories: a bare origin and a scratch clone pushing to it."""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

import pytest

from controller.service.inputs.gitsource import Checkout, GitError, GitSource

GIT_ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


class Origin:
    """A bare repository plus a working clone used to push commits to it."""

    def __init__(self, root: Path) -> None:
        self.bare = root / "origin.git"
        self.work = root / "scratch"
        root.mkdir(parents=True, exist_ok=True)
        git(root, "init", "--quiet", "--bare", str(self.bare))
        git(root, "init", "--quiet", str(self.work))

    def commit(self, files: dict[str, str | None], branch: str = "main") -> str:
        """Write (or with None delete) files, commit, push to `branch`; return the SHA."""
        for name, text in files.items():
            path = self.work / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", "change")
        git(self.work, "push", "--quiet", "--force", str(self.bare), f"HEAD:refs/heads/{branch}")
        return git(self.bare, "rev-parse", f"refs/heads/{branch}")


def snapshot(root: Path) -> dict[str, str]:
    """Every regular file under root with its content, by relative path."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    repo = Origin(tmp_path / "remote")
    repo.commit({"manifests/a.yaml": "rev: 1\n", "README.md": "hello\n"})
    return repo


def source(origin: Origin, tmp_path: Path, branch: str = "main", path: str = ".") -> GitSource:
    return GitSource(str(origin.bare), branch=branch, path=path, workdir=tmp_path / "work")


def test_first_sync_clones_and_returns_branch_head(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path)
    assert src.current is None
    checkout = src.sync()
    assert checkout.revision == git(origin.bare, "rev-parse", "main")
    assert checkout.changed
    assert snapshot(checkout.root) == {"README.md": "hello\n", "manifests/a.yaml": "rev: 1\n"}
    assert src.current == checkout
    assert (tmp_path / "work" / "current").resolve() == checkout.root.resolve()


def test_path_selects_manifest_directory(origin: Origin, tmp_path: Path) -> None:
    checkout = source(origin, tmp_path, path="./manifests/").sync()
    assert checkout.root == tmp_path / "work" / "trees" / checkout.revision / "manifests"
    assert snapshot(checkout.root) == {"a.yaml": "rev: 1\n"}


def test_file_url_works(origin: Origin, tmp_path: Path) -> None:
    checkout = GitSource(origin.bare.as_uri(), workdir=tmp_path / "work").sync()
    assert checkout.revision == git(origin.bare, "rev-parse", "main")


def test_relative_local_path_works(
    origin: Origin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(origin.bare.parent)
    checkout = GitSource("origin.git", workdir=tmp_path / "work").sync()
    assert checkout.revision == git(origin.bare, "rev-parse", "main")


def test_new_commit_is_seen_and_no_commit_is_unchanged(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path, path="manifests")
    first = src.sync()
    again = src.sync()
    assert again == Checkout(first.revision, first.root, changed=False)

    new_sha = origin.commit({"manifests/a.yaml": "rev: 2\n", "manifests/b.yaml": "new\n"})
    second = src.sync()
    assert second.changed and second.revision == new_sha != first.revision
    assert snapshot(second.root) == {"a.yaml": "rev: 2\n", "b.yaml": "new\n"}
    assert src.sync().changed is False


def test_old_checkout_stays_intact_after_new_sync(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path)
    old = src.sync()
    before = snapshot(old.root)
    origin.commit({"manifests/a.yaml": "rev: 2\n", "README.md": None})
    new = src.sync()
    assert new.root != old.root
    assert snapshot(old.root) == before  # an in-progress reconcile keeps its whole tree
    assert "README.md" not in snapshot(new.root)
    leftovers = [p.name for p in (tmp_path / "work" / "trees").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_readers_never_see_a_partial_tree(origin: Origin, tmp_path: Path) -> None:
    """While commits land and sync runs, every tree a reader finds is one whole commit."""
    files = [f"gen/f{i}.yaml" for i in range(20)]
    origin.commit({name: "gen: 0\n" for name in files})
    src = GitSource(str(origin.bare), workdir=tmp_path / "work", keep=50)
    src.sync()
    problems: list[str] = []
    done = threading.Event()

    def read() -> None:
        for _ in range(5000):  # bounded; stops early when the writer is done
            if done.is_set():
                return
            # Through the symlink a reader must resolve it once, then read from the real tree.
            link = (tmp_path / "work" / "current").resolve()
            for root in (src.current.root if src.current else None, link):
                tree = snapshot(root / "gen") if root else {}
                if len(tree) != len(files) or len(set(tree.values())) != 1:
                    problems.append(f"{root}: {tree}")

    reader = threading.Thread(target=read)
    reader.start()
    for gen in range(1, 6):
        origin.commit({name: f"gen: {gen}\n" for name in files})
        src.sync()
    done.set()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert problems == []


def test_old_trees_are_pruned_beyond_two(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path)
    roots = [src.sync().root]
    for gen in (2, 3):
        origin.commit({"manifests/a.yaml": f"rev: {gen}\n"})
        roots.append(src.sync().root)
    assert not roots[0].exists()
    assert roots[1].is_dir() and roots[2].is_dir()
    assert sorted(p.name for p in (tmp_path / "work" / "trees").iterdir()) == sorted(
        r.name for r in roots[1:]
    )


def test_restart_reuses_workdir_and_keeps_previous_tree(origin: Origin, tmp_path: Path) -> None:
    first = source(origin, tmp_path).sync()
    origin.commit({"manifests/a.yaml": "rev: 2\n"})
    restarted = source(origin, tmp_path)
    checkout = restarted.sync()
    assert checkout.changed  # first sync of this process: the runner reconciles on start
    assert checkout.revision != first.revision
    assert first.root.is_dir()  # the previous process's tree is the "previous" one


def test_reverting_to_a_kept_revision_reuses_its_tree(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path)
    first = src.sync()
    origin.commit({"manifests/a.yaml": "rev: 2\n"})
    src.sync()
    git(origin.work, "reset", "--quiet", "--hard", first.revision)
    git(origin.work, "push", "--quiet", "--force", str(origin.bare), "HEAD:refs/heads/main")
    back = src.sync()
    assert back.revision == first.revision and back.changed
    assert snapshot(back.root) == snapshot(first.root)


def test_other_branch(origin: Origin, tmp_path: Path) -> None:
    sha = origin.commit({"manifests/a.yaml": "staging\n"}, branch="staging")
    checkout = source(origin, tmp_path, branch="staging").sync()
    assert checkout.revision == sha
    assert (checkout.root / "manifests" / "a.yaml").read_text() == "staging\n"


def test_unreachable_repository_is_a_git_error(tmp_path: Path) -> None:
    src = GitSource(str(tmp_path / "nowhere.git"), workdir=tmp_path / "work")
    with pytest.raises(GitError, match=re.escape("nowhere.git")):
        src.sync()
    assert src.current is None


def test_missing_branch_is_a_git_error(origin: Origin, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="branch 'nope' not found"):
        source(origin, tmp_path, branch="nope").sync()


@pytest.mark.parametrize("branch", ["a:b", "bad..name", "-x", ""])
def test_invalid_branch_name_is_a_git_error(origin: Origin, tmp_path: Path, branch: str) -> None:
    with pytest.raises(GitError, match="invalid branch name"):
        source(origin, tmp_path, branch=branch).sync()


def test_missing_path_is_a_git_error_and_keeps_current(origin: Origin, tmp_path: Path) -> None:
    src = source(origin, tmp_path, path="manifests")
    good = src.sync()
    origin.commit({"manifests/a.yaml": None, "other/x.yaml": "x\n"})
    with pytest.raises(GitError, match="path 'manifests' does not exist"):
        src.sync()
    assert src.current == good and snapshot(good.root) == {"a.yaml": "rev: 1\n"}


def test_path_that_is_a_file_is_a_git_error(origin: Origin, tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a directory"):
        source(origin, tmp_path, path="README.md").sync()


@pytest.mark.parametrize("path", ["/etc", "../up", "manifests/../../x"])
def test_path_outside_the_repository_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(GitError, match="relative"):
        GitSource("unused", path=path, workdir=tmp_path / "work")


def test_missing_git_executable_is_a_git_error(origin: Origin, tmp_path: Path) -> None:
    src = GitSource(str(origin.bare), workdir=tmp_path / "work", git=str(tmp_path / "no-git"))
    with pytest.raises(GitError, match="cannot run git"):
        src.sync()


def test_refused_http_url_is_a_git_error(tmp_path: Path) -> None:
    """Nothing listens on loopback port 9: the error names the URL instead of hanging."""
    src = GitSource("http://127.0.0.1:9/repo.git", workdir=tmp_path / "work", timeout=20)
    with pytest.raises(GitError, match=re.escape("127.0.0.1:9")):
        src.sync()
