"""The editor schemas for templates and for endpoints that extend one (partial specs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from controller.manifests import schema

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "examples" / "templated"


def errors(text: str, document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(text))
    return sorted(e.message for e in validator.iter_errors(document))


def test_committed_template_schema_is_current() -> None:
    committed = REPO / "schemas" / "endpoint-template.schema.json"
    assert committed.read_text(encoding="utf-8") == schema.generate_template(), (
        "schemas/endpoint-template.schema.json is stale; run `make schema`"
    )


def test_the_example_validates_against_the_schemas() -> None:
    template = yaml.safe_load((EXAMPLE / "churn.template.yaml").read_text())
    assert errors(schema.generate_template(), template) == []
    for name in ("staging.yaml", "prod-us-east-1.yaml", "prod-us-west-2.yaml"):
        assert errors(schema.generate(), yaml.safe_load((EXAMPLE / name).read_text())) == []


def test_a_partial_spec_still_checks_names_and_types() -> None:
    override = yaml.safe_load((EXAMPLE / "prod-us-east-1.yaml").read_text())
    override["spec"]["variants"][0]["instanceTyp"] = "ml.m5.large"
    assert errors(schema.generate(), override) != []
    nameless = yaml.safe_load((EXAMPLE / "prod-us-east-1.yaml").read_text())
    del nameless["spec"]["variants"][0]["name"]
    assert "'name' is a required property" in errors(schema.generate(), nameless)


def test_without_extends_an_endpoint_must_be_complete() -> None:
    override = yaml.safe_load((EXAMPLE / "prod-us-east-1.yaml").read_text())
    del override["spec"]["extends"]
    assert "'executionRoleArn' is a required property" in errors(schema.generate(), override)


def test_committed_set_schema_is_current_and_accepts_a_set() -> None:
    committed = REPO / "schemas" / "endpoint-set.schema.json"
    assert committed.read_text(encoding="utf-8") == schema.generate_set(), (
        "schemas/endpoint-set.schema.json is stale; run `make schema`"
    )
    document = {
        "apiVersion": "sagemaker-gitops/v1",
        "kind": "EndpointSet",
        "metadata": {"name": "churn-regions"},
        "spec": {
            "name": "churn-{region}",
            "template": {"spec": {"extends": "churn"}},
            "entries": [
                {"region": "us-east-1"},
                {
                    "target": "prod",
                    "spec": {"variants": [{"name": "primary", "initialInstanceCount": 2}]},
                },
            ],
        },
    }
    assert errors(schema.generate_set(), document) == []
    document["spec"]["entries"][1]["spec"]["variants"][0]["instanceTyp"] = "ml.m5.large"
    assert errors(schema.generate_set(), document) != []
