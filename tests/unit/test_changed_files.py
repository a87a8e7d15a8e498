"""`apply`'s changed-files hint: git's changed paths mapped to the endpoints they define.

The mapping is pure (a snapshot and a set of manifest-root-relative paths); `changed_paths` asks
git in a throwaway repository: committed (HEAD against its first parent or a given revision),
uncommitted and untracked files, relative to the manifest root, renames as their new path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controller.commands.changed_files import changed_paths, hinted_keys, split_nul
from controller.core.snapshots import Snapshot
from controller.errors import ControllerError
from controller.manifests.loading import load_manifests
from tests.unit.builders import ROLE


def document(name: str, region: str | None = None) -> str:
    where = f"\n  region: {region}" if region else ""
    return f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: {name}
spec:{where}
  executionRoleArn: {ROLE}
  variants:
    - name: primary
      model: {{packageGroup: churn-xgb, version: 1}}
      instanceType: ml.m5.xlarge
      initialInstanceCount: 1
"""


def snapshot_of(root: Path) -> Snapshot:
    return Snapshot.build(load_manifests([root], root=root), None, lambda: "us-east-1")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo" / "endpoints"
    (root / "team").mkdir(parents=True)
    (root / "a.yaml").write_text(document("a"))
    (root / "team" / "b.yaml").write_text(document("b", "eu-west-1"))
    # Two documents in one file: both endpoints are named by a change to it.
    (root / "team" / "pair.yaml").write_text(document("c") + "---\n" + document("d"))
    (root / "broken.yaml").write_text("apiVersion: sagemaker-gitops/v1\nkind: Endpoint\n")
    (root / "README.md").write_text("not a manifest\n")
    return root


def test_paths_map_to_the_endpoints_they_define(tree: Path) -> None:
    snapshot = snapshot_of(tree)
    assert hinted_keys(snapshot, {"team/pair.yaml"}) == ["us-east-1/c", "us-east-1/d"]
    assert hinted_keys(snapshot, {"team/b.yaml", "a.yaml"}) == ["eu-west-1/b", "us-east-1/a"]
    # A deleted file, a renamed file's old path, a file that failed to load, a file that is not
    # a manifest and a path outside the root name nothing.
    gone = {"old-name.yaml", "deleted.yaml", "broken.yaml", "README.md", "../other/a.yaml"}
    assert hinted_keys(snapshot, gone) == []
    assert hinted_keys(snapshot, set()) == []


def test_nul_separated_names_are_kept_exactly() -> None:
    assert split_nul("a b.yaml\0team/\u00e9.yaml\0") == ["a b.yaml", "team/\u00e9.yaml"]
    assert split_nul("") == []


def git(repo: Path, *argv: str) -> str:
    who = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    done = subprocess.run(
        ["git", "-C", str(repo), *who, *argv], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def test_git_names_committed_uncommitted_and_untracked_changes(tree: Path) -> None:
    repo = tree.parent
    (repo / "elsewhere.yaml").write_text(document("x"))  # outside the manifest root
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    first = git(repo, "rev-parse", "HEAD")
    assert changed_paths(tree) == frozenset()  # a root commit has no parent to compare with

    (tree / "a.yaml").write_text(document("a") + "  # edited\n")
    git(repo, "mv", "endpoints/team/b.yaml", "endpoints/team/b2.yaml")
    git(repo, "rm", "-q", "endpoints/broken.yaml")
    (repo / "elsewhere.yaml").write_text(document("x") + "# edited\n")
    git(repo, "commit", "-qam", "second")
    assert changed_paths(tree) == {"a.yaml", "team/b.yaml", "team/b2.yaml", "broken.yaml"}

    (tree / "team" / "pair.yaml").write_text(document("c"))  # uncommitted
    (tree / "new.yaml").write_text(document("n"))  # untracked
    (tree / "team" / "new2.yaml").write_text(document("n2"))  # untracked, in a folder
    expected = {"a.yaml", "team/b.yaml", "team/b2.yaml", "broken.yaml", "team/pair.yaml"}
    assert changed_paths(tree) == expected | {"new.yaml", "team/new2.yaml"}
    # Against the last deployed revision; the renamed file's new path maps to its endpoint.
    assert changed_paths(tree, first) == expected | {"new.yaml", "team/new2.yaml"}
    assert hinted_keys(snapshot_of(tree), changed_paths(tree, first)) == [
        "eu-west-1/b",
        "us-east-1/a",
        "us-east-1/c",
        "us-east-1/n",
        "us-east-1/n2",
    ]
    # One file as -m: the paths are relative to its folder, as the loader names them.
    assert "a.yaml" in changed_paths(tree / "a.yaml")


def test_outside_git_there_is_no_hint(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(document("a"))
    assert changed_paths(tmp_path) == frozenset()
    assert changed_paths(tmp_path / "missing") == frozenset()


def test_an_unknown_changed_since_revision_is_refused(tree: Path, tmp_path: Path) -> None:
    git(tree.parent, "init", "-q")
    git(tree.parent, "add", "-A")
    git(tree.parent, "commit", "-qm", "first")
    for rev in ("nope", "HEAD~3", "--all", "0" * 40):
        with pytest.raises(ControllerError, match="not a commit of the git repository at"):
            changed_paths(tree, rev)
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(ControllerError, match="is not in a git work tree"):
        changed_paths(outside, "HEAD")
