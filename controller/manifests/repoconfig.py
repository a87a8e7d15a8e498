"""The repository config file: settings that belong to a manifest tree rather than to a run.

``.sagemaker-gitops.yaml`` at the manifest root (the directory given with ``-m``, or the common
directory of the paths given to ``validate``). It is optional; each top-level key is a section
owned by one part of the controller, so a new setting joins as a new section (or a field of one)
without touching the others. Unknown keys are errors, as in manifests, so a typo never silently
means "use the default". The file is read with the same rules as manifests
(`controller.manifests.files`) and its problems are diagnostics with file, line and path.

    apiVersion: sagemaker-gitops/v1      # optional
    plan:
      nonSensitiveEnvironmentKeys: [LOG_LEVEL, MODEL_SERVER_WORKERS]
    prune:
      regions: [us-east-1, eu-west-1]
    targets:
      paths: ["platform/targets/**"]
    projects:
      - name: fraud
        paths: ["teams/fraud/**"]
        targets: [staging, prod-us-east-1]

`targets` and `projects` are enforced by `controller.manifests.projects.policy`
(docs/projects.md). The file is read only at the manifest root; a file that does not load stops
every command before its first AWS call (`LoadedConfig.problems`), since one typo must never
switch every restriction off.

Being hidden (a leading dot), the directory walk never mistakes it for a manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from controller.errors import Diagnostic
from controller.manifests import files, yamlpos
from controller.manifests.messages import diagnostic, render_path
from controller.manifests.models import REGION_PATTERN, EnvKey, Strict
from controller.manifests.projects.settings import Prices, Project, TargetsSettings

CONFIG_NAME = ".sagemaker-gitops.yaml"


class PlanSettings(Strict):
    """How plans are shown."""

    non_sensitive_environment_keys: list[EnvKey] = Field(default=[], max_length=1000)
    """Container environment keys whose values plans may show. Every other environment value
    is masked in every plan format: a plan shows that it changed, never the value."""


class PruneSettings(Strict):
    """Where `--prune` looks for owned endpoints whose manifests are gone."""

    regions: list[Annotated[str, Field(pattern=REGION_PATTERN)]] = Field(default=[], max_length=50)
    """Regions always scanned for removed endpoints, beside the default region and every region a
    manifest names. A region reached only through `spec.region` drops out of the scan when its
    last manifest is deleted, so that endpoint would never be pruned: listing the region here (in
    git, beside the manifests) keeps it scanned, in CI and in `run` alike, without a
    `--prune-region` flag on every command line."""


class RepoConfig(Strict):
    """The whole file; every section is optional."""

    api_version: Literal["sagemaker-gitops/v1"] = "sagemaker-gitops/v1"
    """Always sagemaker-gitops/v1 (optional)."""
    plan: PlanSettings = PlanSettings()
    """Plan display settings."""
    prune: PruneSettings = PruneSettings()
    """Removal settings."""
    targets: TargetsSettings | None = None
    """Where `kind: Target` may be declared (enforced when `projects` is set)."""
    policy: dict[str, Any] | None = None
    """Rules for `plan --policy .sagemaker-gitops.yaml` (docs/ci.md); checked by that option,
    which owns their shape."""
    projects: list[Project] | None = Field(default=None, max_length=1000)
    """Teams' manifests and what they may deploy (docs/projects.md); leave out for no
    restrictions."""
    prices: Prices | None = None
    """Hourly prices per instance type, for projects' maxHourlyCost and the cost in plans."""

    @model_validator(mode="after")
    def _caps_need_prices(self) -> RepoConfig:
        capped = [p.name for p in self.projects or () if p.max_hourly_cost is not None]
        if capped and self.prices is None:
            raise ValueError(
                f"maxHourlyCost of project(s) {', '.join(capped)} needs prices.hourly (the "
                "price table, per instance type)"
            )
        return self

    @field_validator("projects")
    @classmethod
    def _unique_names(cls, projects: list[Project] | None) -> list[Project] | None:
        seen: set[str] = set()
        for project in projects or ():
            if project.name in seen:
                raise ValueError(f"project {project.name!r} is declared twice")
            seen.add(project.name)
        return projects


@dataclass(frozen=True)
class LoadedConfig:
    """The config in force (defaults when there is no file) and where it came from."""

    config: RepoConfig = field(default_factory=RepoConfig)
    path: str | None = None
    """The file as shown to a user, or None when the defaults apply."""
    problems: tuple[Diagnostic, ...] = ()
    node: Any = None
    """The parsed YAML node, so later checks (unknown targets) can name a line."""

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        return yamlpos.line_of(self.node, loc) if self.node is not None else None


def load_repo_config(root: Path) -> LoadedConfig:
    """Read ``root/.sagemaker-gitops.yaml`` if it exists; never raises for bad input."""
    path = root / CONFIG_NAME
    if not os.path.lexists(path):
        return LoadedConfig()
    if path.is_dir():
        problem = Diagnostic(files.shown_path(path), None, "", "is a directory, not a file")
        return LoadedConfig(problems=(problem,))
    found = files.discover([path], root)
    if found.problems or not found.files:
        return LoadedConfig(problems=tuple(found.problems))
    shown = found.files[0].shown
    text = files.read_text(path, shown)
    if isinstance(text, Diagnostic):
        return LoadedConfig(path=shown, problems=(text,))
    config, problems, node = _parse(text, shown)
    return LoadedConfig(config or RepoConfig(), shown, tuple(problems), node)


def _parse(text: str, shown: str) -> tuple[RepoConfig | None, list[Diagnostic], Any]:
    documents, yaml_problems = yamlpos.parse(text)
    problems = [Diagnostic(shown, p.line, render_path(p.loc), p.message) for p in yaml_problems]
    if len(documents) > 1:
        message = "the repo config is one YAML document"
        problems.append(Diagnostic(shown, documents[1].line, "", message))
    if problems or not documents:
        return None, problems, None
    document = documents[0]
    if not isinstance(document.data, dict):
        message = "the repo config must be a mapping (e.g. plan: {...})"
        return None, [Diagnostic(shown, document.line, "", message)], None
    try:
        return RepoConfig.model_validate(document.data), [], document.node
    except ValidationError as e:
        errors = [diagnostic(error, document, shown, RepoConfig) for error in e.errors()]
        return None, errors, None
