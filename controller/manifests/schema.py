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

from controller.manifests.models import API_VERSION, EndpointManifest

DEFAULT_OUTPUT = Path("schemas/endpoint.schema.json")
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A stable identifier, not a download location: editors map files to the schema by path.
SCHEMA_ID = "urn:sagemaker-gitops:schema:endpoint:v1"


def generate() -> str:
    """The schema as text: sorted keys and a fixed layout, so regenerating is byte-stable."""
    schema: dict[str, Any] = EndpointManifest.model_json_schema(by_alias=True)
    schema["$schema"] = SCHEMA_DIALECT
    schema["$id"] = SCHEMA_ID
    schema["title"] = f"sagemaker-gitops Endpoint manifest ({API_VERSION})"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schema, or with ``--check`` exit 1 when the committed file is stale."""
    parser = argparse.ArgumentParser(prog="python -m controller.manifests.schema")
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="fail if OUTPUT is not up to date")
    args = parser.parse_args(argv)
    output: Path = args.output
    text = generate()
    if args.check:
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
