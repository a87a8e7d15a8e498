"""`run -m DIR` records the tree's git revision on every reload without a git call per edit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controller.commands import run as run_command


def _git(folder: Path, *argv: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
        check=True,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = run_command.git_revision

    def counted(path: Path) -> str | None:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(run_command, "git_revision", counted)
    return calls


def test_no_git_call_outside_a_repository(tmp_path: Path, asked: list[Path]) -> None:
    head = run_command._HeadRevision()
    assert [head(tmp_path), head(tmp_path)] == [None, None]
    assert asked == []


def test_git_is_asked_again_only_when_head_moved(tmp_path: Path, asked: list[Path]) -> None:
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.yaml").write_text("x: 1\n")
    _git(tmp_path, "add", "a.yaml")
    _git(tmp_path, "commit", "-q", "-m", "one")
    head = run_command._HeadRevision()
    first = head(tmp_path)
    assert first is not None and head(tmp_path) == first and len(asked) == 1
    (tmp_path / "a.yaml").write_text("x: 2\n")  # an edit without a commit: same revision
    assert head(tmp_path) == first and len(asked) == 1
    _git(tmp_path, "commit", "-q", "-am", "two")
    second = head(tmp_path)
    assert second not in (None, first) and len(asked) == 2
