""".pre-commit-hooks.yaml is a valid pre-commit manifest whose hook validates manifests."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ship_helpers import BIN, REPO

clientlib = pytest.importorskip("pre_commit.clientlib", reason="pip install -e '.[test]'")
identify = pytest.importorskip("identify.identify")

Hook = dict[str, Any]
HOOKS = REPO / ".pre-commit-hooks.yaml"
EXAMPLES = sorted((REPO / "manifests" / "endpoints").glob("*.yaml"))
SCHEMA_COMMENT = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def hook() -> Hook:
    hooks = clientlib.load_manifest(str(HOOKS))  # pre-commit's own schema check
    assert [h["id"] for h in hooks] == ["sagemaker-gitops-validate"]
    hook: Hook = hooks[0]
    return hook


def _selected(hook: Hook, relative: str) -> bool:
    """pre-commit's file selection: `files`/`exclude` regexes, then `types` by identify's tags."""
    if not re.search(hook["files"], relative) or re.search(hook["exclude"], relative):
        return False
    return set(hook["types"]) <= identify.tags_from_path(str(REPO / relative))


def _run_entry(hook: Hook, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """Run the hook as pre-commit does: entry + args + the selected file names, in the repo root."""
    command = [*shlex.split(hook["entry"]), *hook["args"], *map(str, files)]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_hook_shape(hook: Hook) -> None:
    assert hook["language"] == "python"
    assert "yaml" in hook["types"]
    assert hook["pass_filenames"] is True
    assert hook["require_serial"] is True


def test_hook_selects_the_example_manifests(hook: Hook) -> None:
    for path in EXAMPLES:
        assert _selected(hook, str(path.relative_to(REPO))), path
    assert not _selected(hook, ".github/workflows/plan.yml")
    assert not _selected(hook, "README.md")


def test_hook_entry_accepts_the_examples(hook: Hook) -> None:
    done = _run_entry(hook, [p.relative_to(REPO) for p in EXAMPLES])
    assert done.returncode == 0, done.stdout + done.stderr


def test_hook_entry_rejects_a_broken_manifest(hook: Hook, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = EXAMPLES[0].read_text(encoding="utf-8").replace("kind: Endpoint", "kind: Endpiont")
    broken.write_text(text, encoding="utf-8")
    done = _run_entry(hook, [broken])
    assert done.returncode == 1
    assert re.search(rf"{re.escape(str(broken))}:\d+: kind: ", done.stderr), done.stderr


def test_examples_point_editors_at_the_schema() -> None:
    for path in EXAMPLES:
        found = SCHEMA_COMMENT.search(path.read_text(encoding="utf-8"))
        assert found, f"{path}: no yaml-language-server $schema comment"
        assert (path.parent / found[1]).resolve() == REPO / "schemas" / "endpoint.schema.json"


def test_entry_is_the_installed_console_script(hook: Hook) -> None:
    # language: python installs this repository, whose console script is the entry's program.
    program = shlex.split(hook["entry"])[0]
    assert (Path(sys.executable).parent / program).exists()
