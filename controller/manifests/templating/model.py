"""The shape of a `kind: EndpointTemplate` document.

A template holds a partial endpoint spec: every field is optional, since an endpoint extending
it (or a template further down the chain) fills in the rest; the spec is checked once rendered
into each endpoint, where every error is traced back to the line that wrote it. Its own name
and `extends` are checked here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controller.manifests.base import Strict
from controller.manifests.models import EndpointName

TEMPLATE_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
"""As an endpoint name: a template is often named after the endpoint it describes."""


class TemplateMetadata(Strict):
    """Identity of the template."""

    name: str = Field(pattern=TEMPLATE_NAME_PATTERN)
    """The name endpoints (and other templates) give in `spec.extends`; never rendered into an
    endpoint."""
    labels: dict[str, str] = {}
    """Labels every endpoint extending the template gets (its own labels win)."""


class TemplateSpec(Strict):
    """A partial endpoint spec: any field of an Endpoint's spec, plus `extends`."""

    model_config = {**Strict.model_config, "extra": "allow"}
    extends: EndpointName | None = None
    """Another template this one builds on (chains are allowed, cycles are errors)."""


class TemplateManifest(Strict):
    """One endpoint template document (never deployed by itself)."""

    api_version: Literal["sagemaker-gitops/v1"]
    """Always sagemaker-gitops/v1."""
    kind: Literal["EndpointTemplate"]
    """Always EndpointTemplate."""
    metadata: TemplateMetadata
    """Name and labels."""
    spec: TemplateSpec
    """The partial spec."""

    def part(self, raw_spec: dict[str, Any]) -> dict[str, Any]:
        """What the template contributes to a merge (see `layers.Layer.part`)."""
        spec = {k: v for k, v in raw_spec.items() if k != "extends"}
        labels = (
            {"metadata": {"labels": dict(self.metadata.labels)}} if self.metadata.labels else {}
        )
        return {**labels, "spec": spec}
