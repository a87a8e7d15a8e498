"""Limits read from the botocore SageMaker service model, the source of truth for names and ranges.

Reading them (rather than copying them) keeps the manifest schema in step with the API as botocore
is upgraded.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session


@cache
def _shapes(service: str = "sagemaker") -> dict[str, Any]:
    loader = botocore.session.get_session().get_component("data_loader")
    model: dict[str, Any] = loader.load_service_model(service, "service-2")
    shapes: dict[str, Any] = model["shapes"]
    return shapes


def shape(name: str, service: str = "sagemaker") -> dict[str, Any]:
    """The raw shape definition, e.g. ``{"type": "string", "max": 63, "pattern": ...}``."""
    definition: dict[str, Any] = _shapes(service)[name]
    return definition


def enum(name: str) -> tuple[str, ...]:
    """The allowed values of an enum shape, in the model's order."""
    return tuple(shape(name)["enum"])


def pattern(name: str, service: str = "sagemaker") -> str:
    """The shape's regular expression anchored for full matches (botocore's are unanchored)."""
    unanchored: str = shape(name, service)["pattern"]
    return "^(?:" + unanchored + ")$"
