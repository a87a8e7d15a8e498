"""Where an endpoint deploys: a region (ambient account) or a deployment target.

An endpoint's key is `<location>/<name>`. Without `spec.target` the location is the endpoint's
region, exactly as before targets existed; with it, the location is the target's name, so the
same endpoint name can live in two targets (two accounts, or two regions) and every cache keyed
by location is per target for free. Target names never look like regions (the schema refuses
it), so the two kinds of location cannot collide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if (
    TYPE_CHECKING
):  # a type only: `apply --help` loads this module and must not build pydantic models
    from controller.manifests.models import EndpointManifest


def location_of(manifest: EndpointManifest, default_region: Callable[[], str]) -> str:
    """The endpoint's location: its target's name, its region, or the default region."""
    spec = manifest.spec
    return spec.target or spec.region or default_region()
