"""The demo's pipeline part, as `make demo` runs it (no transition time): every step ends with
the exit code the demo shows, so the walkthrough in the README cannot rot unnoticed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from controller.cli import main
from controller.commands.demo.flow import _approve_next, _run_steps
from controller.commands.demo.promoting import service_story
from controller.commands.demo.stages import stages_story
from controller.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_walks_v2_to_prod_and_stops_v3_at_staging(
    tmp_path: Path, monkeypatch: Any
) -> None:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    said: list[str] = []
    with Sandbox(transition_seconds=0.0, seed=REPO / "manifests/seed.yaml") as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        assert _approve_next(sandbox, "churn-xgb") == 3  # as the demo's first part does

        def steps(todo: Any) -> bool:
            return _run_steps(todo, cli=main, say=said.append)

        code = stages_story(
            REPO / "manifests/examples/stages", tmp_path, sandbox, steps, said.append, 13
        )
        calls = sandbox.calls()
        # The coda: `run --promote` walks v4 through both stages by itself.
        coda = (
            service_story(tmp_path / "stages", tmp_path, sandbox, said.append, 27)
            if not code
            else 1
        )

    assert code == 0, "\n".join(said[-6:])
    staging = (tmp_path / "stages/staging.yaml").read_text()
    prod = (tmp_path / "stages/prod.yaml").read_text()
    assert "version: 2}" in staging and "version: 2}" in prod  # v3 rolled back; prod never saw it
    assert calls["UpdateModelPackage"] == 3  # the demo's approval, then two verdicts
    assert coda == 0, "\n".join(said[-8:])
    told = "\n".join(said)
    assert "promote(staging): churn-xgb v2 -> v4" in told
    assert "promote(prod): churn-xgb v2 -> v4" in told
    assert "  prod     v4" in told
