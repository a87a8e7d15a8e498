"""The prune scope of a run (commands/scoping.py): stable, credential-free, a valid tag value."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from controller.commands import scoping
from controller.core import tagging
from controller.errors import ControllerError

TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/org/ml-endpoints.git", "github.com/org/ml-endpoints"),
        (
            "https://x-access-token:ghs_secret@github.com/org/ml-endpoints",
            "github.com/org/ml-endpoints",
        ),
        ("git@github.com:org/ml-endpoints.git", "github.com/org/ml-endpoints"),
        ("ssh://git@github.com:22/org/ml-endpoints.git/", "github.com/org/ml-endpoints"),
        ("/srv/git/ml.git", "/srv/git/ml"),
        ("file:///srv/git/ml.git", "/srv/git/ml"),
    ],
)
def test_remotes_normalise_to_host_and_path(remote: str, expected: str) -> None:
    assert scoping.normalise_remote(remote) == expected


def test_a_git_checkout_scope_is_origin_plus_path(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    (repo / "endpoints" / "team-a").mkdir(parents=True)
    for argv in (["init", "-q"], ["remote", "add", "origin", "git@github.com:org/ml.git"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True)
    assert scoping.of_path(repo / "endpoints" / "team-a") == "github.com/org/ml:endpoints/team-a"
    assert scoping.of_path(repo) == "github.com/org/ml:."
    one = repo / "endpoints" / "team-a" / "churn.yaml"
    one.write_text("")
    assert scoping.of_path(one) == "github.com/org/ml:endpoints/team-a"  # its tree's scope
    (repo / "endpoints" / ".sagemaker-gitops.yaml").write_text("")  # the tree's root
    assert scoping.of_path(one) == "github.com/org/ml:endpoints"
    assert scoping.of_path(repo / "endpoints" / "team-a") == "github.com/org/ml:endpoints/team-a"
    # `run --repo URL --path P` computes the same value as a CI job applying P of a clone.
    assert scoping.of_repo("https://github.com/org/ml", "endpoints/team-a/") == (
        "github.com/org/ml:endpoints/team-a"
    )


def test_a_plain_directory_scope_is_its_absolute_path(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    assert scoping.of_path(folder) == folder.resolve().as_posix()
    (folder / "churn.yaml").write_text("")
    assert scoping.of_path(folder / "churn.yaml") == folder.resolve().as_posix()


def test_scopes_always_fit_a_tag_value() -> None:
    long = "x" * 300
    for raw in ["/tmp/a (copy)/#1", long, "ok:/a/b"]:
        value = scoping.stable(raw)
        assert len(value) <= tagging.MAX_VALUE and TAG_VALUE.match(value)
    assert scoping.stable(long + "a") != scoping.stable(long + "b")


@pytest.mark.parametrize("bad", ["", "a" * 257, "team#a", "x\ny"])
def test_a_bad_explicit_scope_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ControllerError, match="--scope"):
        scoping.explicit(bad)
    assert scoping.explicit("team-a/prod") == "team-a/prod"
