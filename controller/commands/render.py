"""`sagemaker-gitops render -m DIR [--endpoint NAME] [--format yaml|json]`: the effective specs.

Prints every endpoint under DIR as the controller sees it once its templates are merged in
(what ``kustomize build`` is to Kustomize), so reviewers and scripts read the effective spec
instead of working the merge out by hand. Offline: no AWS calls. Templates themselves are not
printed (they are never deployed). Exit 0, or 1 when the manifests do not validate or NAME is
not an endpoint under DIR.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.errors import ControllerError

if TYPE_CHECKING:
    from controller.manifests.loading import LoadedManifest


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `render` subcommand to the CLI parser (called by `controller.cli`)."""
    parser = sub.add_parser(
        "render",
        help="print the endpoints with their templates merged in (offline)",
        description=(
            "Print every endpoint under DIR fully rendered: templates (spec.extends) merged "
            "in, as plan and apply see it. No AWS calls. Exit 0, or 1 on invalid manifests."
        ),
    )
    parser.add_argument(
        "-m", "--manifests", required=True, type=Path, metavar="DIR", help="manifest directory"
    )
    parser.add_argument(
        "--endpoint", default=None, metavar="NAME", help="print only the endpoint(s) of this name"
    )
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.manifests.loading import load_manifests  # pydantic: not for `--help`

    result = load_manifests([args.manifests], root=args.manifests)
    result.raise_for_errors()
    entries = sorted(result.manifests, key=lambda m: (m.manifest.metadata.name, m.source))
    if args.endpoint is not None:
        entries = [m for m in entries if m.manifest.metadata.name == args.endpoint]
        if not entries:
            raise ControllerError(_unknown(args.endpoint, result.manifests, args.manifests))
    if args.format == "json":
        documents = [_document(m) for m in entries]
        sys.stdout.write(json.dumps({"endpoints": documents}, indent=2) + "\n")
    else:
        sys.stdout.write(render_yaml(entries))
    return 0


def render_yaml(entries: list[LoadedManifest]) -> str:
    """A YAML stream, one document per endpoint, each headed by the files it comes from."""
    import yaml

    parts = []
    for entry in entries:
        files = ", ".join(entry.rendered_from or (entry.source,))
        body = yaml.safe_dump(_manifest(entry), sort_keys=False, allow_unicode=True)
        parts.append(f"# rendered from: {files}\n{body}")
    return "---\n".join(parts)


def _document(entry: LoadedManifest) -> dict[str, Any]:
    return {
        "name": entry.manifest.metadata.name,
        "manifest": entry.source,
        "rendered_from": list(entry.rendered_from or (entry.source,)),
        "rendered": _manifest(entry),
    }


def _manifest(entry: LoadedManifest) -> dict[str, Any]:
    """The manifest as written (fields left unset stay out), in the manifest's own key names."""
    dumped: dict[str, Any] = entry.manifest.model_dump(
        mode="json", by_alias=True, exclude_unset=True
    )
    return dumped


def _unknown(name: str, entries: list[LoadedManifest], root: Path) -> str:
    names = sorted({m.manifest.metadata.name for m in entries})
    hint = difflib.get_close_matches(name, names, n=1)
    guess = f"; did you mean {hint[0]}?" if hint else ""
    return f"no endpoint named {name!r} under {root}{guess}"
