"""Where each variant's pinned version is written: the site `promote` edits.

For a plain manifest that is the variant's (or inference component's) own `version:`; for an
endpoint rendered from templates it is the layer that wrote the value: the endpoint's own file
when it overrides the version, else the template's line, shared by every endpoint that takes the
version from there. Pure: works on loaded manifests, reads no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from controller.manifests import yamlpos
from controller.manifests.loading import LoadedManifest
from controller.manifests.models import RegistryModel


@dataclass
class Site:
    """One `version:` scalar pinning a group, and the endpoints whose version it sets."""

    source: str
    """The file, relative to the manifest root."""
    shown: str
    document: int
    loc: yamlpos.Loc
    current: int
    template: str | None
    """The template the line is in; None when in the endpoint's own document."""
    line: int | None
    """The line of a templated endpoint's site (a plain manifest's is found when the file is
    read)."""
    uses: list[tuple[LoadedManifest, str]] = field(default_factory=list)
    """(endpoint, variant) pairs that take their version from this line."""

    @property
    def endpoints(self) -> list[str]:
        return sorted({label(entry) for entry, _ in self.uses})


def label(entry: LoadedManifest) -> str:
    """An endpoint as messages name it: one name may be deployed to several places."""
    spec = entry.manifest.spec
    where = spec.target or spec.region
    return f"{entry.manifest.metadata.name} in {where}" if where else entry.manifest.metadata.name


def locate(loaded: Sequence[LoadedManifest], group: str) -> list[Site]:
    """Every site pinning `group` for `loaded`, in file and line order."""
    sites: dict[tuple[str, int, yamlpos.Loc], Site] = {}
    for entry in loaded:
        spec = entry.manifest.spec
        # Variants, and inference components: each pins its own version of a group.
        pinning = [("variants", i, v.name, v.model) for i, v in enumerate(spec.variants)]
        pinning += [
            ("inferenceComponents", i, c.name, c.model)
            for i, c in enumerate(spec.inference_components)
        ]
        for where, index, name, model in pinning:
            if not isinstance(model, RegistryModel) or model.package_group != group:
                continue
            loc: yamlpos.Loc = ("spec", where, index, "model", "version")
            source, shown, document = entry.source, entry.shown, entry.document
            template, line = None, None
            if entry.rendering is not None:
                layer, own = entry.rendering.origin(loc)
                source, shown, document = layer.source, layer.shown, layer.document.index
                template = layer.name if layer.kind != "endpoint" else None
                line, loc = layer.line(own), layer.written(own)
            key = (source, document, loc)
            site = sites.setdefault(
                key, Site(source, shown or source, document, loc, model.version, template, line)
            )
            site.uses.append((entry, name))
    return sorted(sites.values(), key=lambda s: (s.source, s.document, s.loc))


def spill(
    selected: Sequence[Site], everyone: Sequence[Site]
) -> dict[tuple[str, int, yamlpos.Loc], list[str]]:
    """For each selected site, the endpoints it would also move that are not selected."""
    chosen = {id(entry) for site in selected for entry, _ in site.uses}
    found: dict[tuple[str, int, yamlpos.Loc], list[str]] = {}
    keys = {(s.source, s.document, s.loc) for s in selected}
    for site in everyone:
        key = (site.source, site.document, site.loc)
        if key not in keys:
            continue
        others = sorted({label(e) for e, _ in site.uses if id(e) not in chosen})
        if others:
            found[key] = others
    return found
