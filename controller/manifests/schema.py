"""The JSON Schema of endpoint manifests, generated from the pydantic models for editors.

`schemas/endpoint.schema.json` is committed so editors (yaml-language-server, IDEs) can use it
without installing the controller; a unit test fails when it drifts from the models. Regenerate
with ``make schema`` (``python -m controller.manifests.schema``); CI runs it with ``--check``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from controller.manifests.models import API_VERSION, EndpointManifest
from controller.manifests.pipelines.model import PipelineManifest
from controller.manifests.repoconfig import RepoConfig
from controller.manifests.targets import TargetManifest
from controller.manifests.templating import schema as templating_schema

DEFAULT_OUTPUT = Path("schemas/endpoint.schema.json")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A stable identifier, not a download location: editors map files to the schema by path.
SCHEMA_ID = "urn:sagemaker-gitops:schema:endpoint:v1"
# `kind: Target` documents (deployment targets) have a schema of their own.
TARGET_OUTPUT = Path("schemas/target.schema.json")
TARGET_SCHEMA_ID = "urn:sagemaker-gitops:schema:target:v1"
# `kind: EndpointTemplate` documents (partial endpoint specs).
TEMPLATE_OUTPUT = Path("schemas/endpoint-template.schema.json")
TEMPLATE_SCHEMA_ID = "urn:sagemaker-gitops:schema:endpoint-template:v1"
# `kind: EndpointSet` documents (one endpoint per entry).
SET_OUTPUT = Path("schemas/endpoint-set.schema.json")
SET_SCHEMA_ID = "urn:sagemaker-gitops:schema:endpoint-set:v1"
# `kind: Pipeline` documents (stages and their verification).
PIPELINE_OUTPUT = Path("schemas/pipeline.schema.json")
PIPELINE_SCHEMA_ID = "urn:sagemaker-gitops:schema:pipeline:v1"
# The repository config, `.sagemaker-gitops.yaml` (plan settings, prune regions, projects).
REPO_CONFIG_OUTPUT = Path("schemas/repo-config.schema.json")
REPO_CONFIG_SCHEMA_ID = "urn:sagemaker-gitops:schema:repo-config:v1"


def generate(
    model: type[BaseModel] = EndpointManifest, schema_id: str = SCHEMA_ID, kind: str = "Endpoint"
) -> str:
    """The schema as text: sorted keys and a fixed layout, so regenerating is byte-stable."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True)
    if model is EndpointManifest:  # an endpoint with spec.extends holds a partial spec
        schema = templating_schema.with_extends(schema)
    return _text(schema, schema_id, kind)


def generate_template() -> str:
    """The schema of `kind: EndpointTemplate` documents (partial specs)."""
    endpoint = EndpointManifest.model_json_schema(by_alias=True)
    return _text(
        templating_schema.template_schema(endpoint), TEMPLATE_SCHEMA_ID, "EndpointTemplate"
    )


def generate_set() -> str:
    """The schema of `kind: EndpointSet` documents."""
    endpoint = EndpointManifest.model_json_schema(by_alias=True)
    return _text(templating_schema.set_schema(endpoint), SET_SCHEMA_ID, "EndpointSet")


def _text(schema: dict[str, Any], schema_id: str, kind: str, title: str = "") -> str:
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = schema_id
    schema["title"] = title or f"sagemaker-gitops {kind} manifest ({API_VERSION})"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate_target() -> str:
    return generate(TargetManifest, TARGET_SCHEMA_ID, "Target")


def generate_pipeline() -> str:
    return generate(PipelineManifest, PIPELINE_SCHEMA_ID, "Pipeline")


def generate_repo_config() -> str:
    """The schema of `.sagemaker-gitops.yaml` (globs are checked by the loader, not here)."""
    title = f"sagemaker-gitops repository config .sagemaker-gitops.yaml ({API_VERSION})"
    return _text(RepoConfig.model_json_schema(by_alias=True), REPO_CONFIG_SCHEMA_ID, "", title)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schema, or with ``--check`` exit 1 when the committed file is stale."""
    parser = argparse.ArgumentParser(prog="python -m controller.manifests.schema")
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if OUTPUT is not up to date")
    args = parser.parse_args(argv)
    output: Path = args.output
    if output == DEFAULT_OUTPUT:  # the default run also keeps the Target schema current
        code = _write_or_check(TARGET_OUTPUT, generate_target(), args.check)
        code = code or _write_or_check(TEMPLATE_OUTPUT, generate_template(), args.check)
        code = code or _write_or_check(SET_OUTPUT, generate_set(), args.check)
        code = code or _write_or_check(PIPELINE_OUTPUT, generate_pipeline(), args.check)
        code = code or _write_or_check(REPO_CONFIG_OUTPUT, generate_repo_config(), args.check)
        return code or _write_or_check(output, generate(), args.check)
    return _write_or_check(output, generate(), args.check)


def _write_or_check(output: Path, text: str, check: bool) -> int:
    if check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            print(f"{output} is out of date; run `make schema`", file=sys.stderr)
            return 1
        print(f"{output} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
