"""Limits read from the botocore service models (SageMaker, Application Auto Scaling): the truth
for names and ranges.

Reading them (rather than copying them) keeps the manifest schema in step with the API as botocore
is upgraded. Parsing a whole service model costs about half a second, paid by every command
(`--help` and `validate` too) because the schema is built at import. So the few shapes the schema
reads are kept in `sagemaker_shapes.json` (keyed `service/shape`), stamped with the botocore
version they came from: it is used only when the installed botocore has that same version, and any
other botocore (or a shape missing from it) reads the live model.
`python -m controller.manifests.botocore_model` rewrites it; a unit test fails when it no longer
matches the installed botocore.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CACHE = Path(__file__).with_name("sagemaker_shapes.json")
SAGEMAKER = "sagemaker"
AUTOSCALING = "application-autoscaling"


def botocore_version() -> str:
    import botocore  # the package root is light; botocore.session is what costs

    return str(botocore.__version__)


@cache
def live_shapes(service: str = SAGEMAKER) -> dict[str, Any]:
    """Every shape of the installed botocore's model of `service` (the slow, authoritative read)."""
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    model: dict[str, Any] = loader.load_service_model(service, "service-2")
    shapes: dict[str, Any] = model["shapes"]
    return shapes


@cache
def _cached_shapes() -> dict[str, Any]:
    try:
        document = json.loads(CACHE.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("botocore") != botocore_version():
        return {}
    shapes = document.get("shapes")
    return shapes if isinstance(shapes, dict) else {}


RECORDED: set[tuple[str, str]] | None = None  # set by the writer: every (service, shape) read


def shape(name: str, service: str = SAGEMAKER) -> dict[str, Any]:
    """The raw shape definition, e.g. ``{"type": "string", "max": 63, "pattern": ...}``."""
    if RECORDED is not None:
        RECORDED.add((service, name))
        return dict(live_shapes(service)[name])
    definition: dict[str, Any] = (
        _cached_shapes().get(f"{service}/{name}") or live_shapes(service)[name]
    )
    return definition


def enum(name: str, service: str = SAGEMAKER) -> tuple[str, ...]:
    """The allowed values of an enum shape, in the model's order."""
    return tuple(shape(name, service)["enum"])


def pattern(name: str, service: str = SAGEMAKER) -> str:
    """The shape's regular expression anchored for full matches (botocore's are unanchored)."""
    unanchored: str = shape(name, service)["pattern"]
    return "^(?:" + unanchored + ")$"


def write_cache() -> None:
    """Rewrite the cache file: build the schema (in a fresh process) recording the shapes it
    reads, then keep those shapes of the live models."""
    global RECORDED
    RECORDED = set()
    import controller.manifests.models
    import controller.manifests.targets  # noqa: F401

    shapes = {f"{service}/{name}": live_shapes(service)[name] for service, name in RECORDED}
    document = {"botocore": botocore_version(), "shapes": shapes}
    CACHE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {CACHE}: {len(shapes)} shapes of botocore {botocore_version()}")


if __name__ == "__main__":
    # Run as `python -m`, this file is __main__: record through the module the schema imports.
    import importlib

    importlib.import_module("controller.manifests.botocore_model").write_cache()
