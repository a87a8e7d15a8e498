"""actionlint over .github/workflows (syntax, expressions, shell in run: steps, action inputs)."""

from __future__ import annotations

from pathlib import Path

from ship_helpers import REPO, run, tool

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))


def test_there_are_workflows() -> None:
    assert WORKFLOWS, "no workflow files under .github/workflows"


def test_actionlint_clean() -> None:
    done = run(tool("actionlint"), "-no-color", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    # The lint is live: an unknown context and a missing runs-on are findings.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    steps:\n      - run: echo ${{ nope.value }}\n",
        encoding="utf-8",
    )
    done = run(tool("actionlint"), "-no-color", str(bad))
    assert done.returncode == 1
    assert "runs-on" in done.stdout
    assert "nope" in done.stdout
