"""The committed JSON Schema matches the pydantic models and accepts the example manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.manifests import schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schemas" / "endpoint.schema.json"


def test_committed_schema_is_current() -> None:
    assert COMMITTED.is_file(), "schemas/endpoint.schema.json is missing; run `make schema`"
    assert COMMITTED.read_text(encoding="utf-8") == schema.generate(), (
        "schemas/endpoint.schema.json is out of date with controller/manifests/models.py; "
        "run `make schema`"
    )


def test_schema_shape() -> None:
    document = json.loads(schema.generate())
    assert document["$schema"] == schema.SCHEMA_DIALECT
    assert document["$id"] == schema.SCHEMA_ID
    assert document["required"] == ["apiVersion", "kind", "metadata", "spec"]
    assert document["additionalProperties"] is False
    variant = document["$defs"]["Variant"]["properties"]
    # camelCase aliases, as users write them, and descriptions from the field docstrings.
    assert "instanceType" in variant and "instance_type" not in variant
    assert variant["instanceType"]["anyOf"][0]["enum"][0].startswith("ml.")
    assert document["$defs"]["Serverless"]["properties"]["memorySizeInMB"]["description"]


def test_generate_is_stable() -> None:
    assert schema.generate() == schema.generate()
    assert schema.generate().endswith("}\n")


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "endpoint.schema.json"
    assert schema.main(["--check", str(out)]) == 1
    assert "run `make schema`" in capsys.readouterr().err
    assert schema.main([str(out)]) == 0
    assert schema.main(["--check", str(out)]) == 0
    out.write_text("{}\n")
    assert schema.main(["--check", str(out)]) == 1


def test_committed_target_schema_matches_the_models() -> None:
    committed = COMMITTED.parent / "target.schema.json"
    assert committed.read_text(encoding="utf-8") == schema.generate_target(), (
        "schemas/target.schema.json is stale; run `make schema`"
    )


def test_committed_repo_config_schema_matches_the_models() -> None:
    committed = COMMITTED.parent / "repo-config.schema.json"
    assert committed.read_text(encoding="utf-8") == schema.generate_repo_config(), (
        "schemas/repo-config.schema.json is stale; run `make schema`"
    )
    document = json.loads(committed.read_text(encoding="utf-8"))
    project = document["$defs"]["Project"]
    assert project["additionalProperties"] is False
    assert {"paths", "targets", "instanceTypes", "maxInstancesPerVariant", "prune"} <= set(
        project["properties"]
    )
