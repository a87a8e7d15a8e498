"""docs/reference/ is generated from the code; these fail when a field or flag was added without
running `make docs`, and check the generators cover everything they claim to."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from ship_helpers import REPO

from controller.cli import COMMANDS
from controller.manifests.models import EndpointManifest
from tools import cli_reference, gendocs, manifest_reference


def test_committed_references_are_current() -> None:
    assert gendocs.stale() == [], "docs/reference is out of date; run `make docs`"


def test_stale_detects_a_hand_edit(tmp_path: Path) -> None:
    for relative, render in gendocs.GENERATED.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(), encoding="utf-8")
    assert gendocs.stale(tmp_path) == []
    cli = tmp_path / "docs/reference/cli.md"
    cli.write_text(cli.read_text(encoding="utf-8").replace("--lease-table", "--lease"))
    assert gendocs.stale(tmp_path) == ["docs/reference/cli.md"]


def _models(model: type) -> set[type]:
    """Every pydantic model reachable from `model`'s fields."""
    seen: set[type] = set()
    todo = [model]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for field in current.model_fields.values():
            for arg in _flatten(field.annotation):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    todo.append(arg)
    return seen


def _flatten(annotation: object) -> list[object]:
    args = getattr(annotation, "__args__", ())
    out: list[object] = [annotation]
    for arg in args:
        out += _flatten(getattr(arg, "__origin__", None) or arg)
        out += _flatten(arg)
    return out


def test_manifest_reference_documents_every_field_of_every_model() -> None:
    text = manifest_reference.render()
    for model in _models(EndpointManifest):
        assert f"\n## {model.__name__}\n" in text, model.__name__
        for name, field in model.model_fields.items():
            alias = field.alias or name
            assert f"| `{alias}` |" in text, f"{model.__name__}.{alias}"


def test_manifest_reference_carries_constraints_and_rules() -> None:
    text = manifest_reference.render()
    assert "multiple of 1024" in text  # Serverless.memorySizeInMB
    assert "one of `ALL_AT_ONCE`, `CANARY`, `LINEAR`" in text
    assert "set exactly one of instanceType or serverless" in text  # a model validator
    assert "- `tags`: tag key … uses a reserved prefix …" in text  # a validator on a field
    assert "- `instanceType`: unknown instance type …" in text  # one inside `X | None`
    assert "`spec.variants[].model`" in text  # where RegistryModel appears


def test_cli_reference_documents_every_command_and_flag() -> None:
    text = cli_reference.render()
    parser = cli_reference._parser()
    found = {name: sub for name, _, sub in cli_reference.commands(parser)}
    assert list(found) == list(COMMANDS)
    for name, sub in found.items():
        assert f"\n## {name}\n" in text
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for flag in action.option_strings:
                assert f"`{flag}`" in text, f"{name} {flag}"


def test_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("SAGEMAKER_GITOPS_ID", "team-a")
    assert cli_reference.render() == (REPO / "docs/reference/cli.md").read_text(encoding="utf-8")
