"""Validated manifests and where they came from (`loading`'s results: one per endpoint, one
per pipeline).

Its own module so that rendering (`controller.manifests.templating`) and loading can both build
it without importing each other.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from controller.manifests.models import EndpointManifest
from controller.manifests.pipelines.model import PipelineManifest, StageAlarms
from controller.manifests.templating.layers import Rendering


@dataclass(frozen=True, slots=True)
class LoadedManifest:
    """A document that validated, and where it came from."""

    manifest: EndpointManifest
    source: str
    """Path relative to the manifest root, posix (e.g. ``prod/churn.yaml``)."""
    line: int
    """1-based line where the document's content starts."""
    document: int
    """0-based index of the document in its file."""
    shown: str = ""
    """The file as shown to a user (see `Diagnostic.file`); `source` when not known."""
    name_line: int = 0
    """1-based line of ``metadata.name``; `line` when not known."""
    rendering: Rendering | None = None
    """For an endpoint with `spec.extends`: the templates it was rendered through."""
    stage_alarms: StageAlarms | None = None
    """For an endpoint with `autoRollbackConfiguration.fromPipeline`: the stage whose checks
    its rollback alarms are generated from (set once the whole tree is loaded)."""

    @property
    def rendered_from(self) -> tuple[str, ...]:
        """Root-relative files the endpoint's values come from (its own first); empty when it
        extends no template."""
        return self.rendering.files if self.rendering is not None else ()


@dataclass(frozen=True)
class LoadedPipeline:
    """A `kind: Pipeline` document that validated, where it came from, and the lines of the
    fields checked against the rest of the tree (rendered path -> line)."""

    pipeline: PipelineManifest
    source: str
    shown: str
    line: int
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int:
        return self.lines.get(path, self.line)


def matches(
    entry: LoadedManifest,
    names: Collection[str] = (),
    targets: Collection[str | None] = (),
    labels: Mapping[str, str] | Collection[tuple[str, str]] = (),
) -> bool:
    """Whether an endpoint matches a selection: any of `names`, any of `targets`, all `labels`;
    a kind not given matches everything. `promote`'s selectors and a pipeline stage's share it."""
    manifest = entry.manifest
    if names and manifest.metadata.name not in names:
        return False
    if targets and manifest.spec.target not in targets:
        return False
    pairs = labels.items() if isinstance(labels, Mapping) else labels
    return all(manifest.metadata.labels.get(key) == value for key, value in pairs)
