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

Being hidden (a leading dot), the directory walk never mistakes it for a manifest.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from controller.errors import Diagnostic
from controller.manifests import files, yamlpos
from controller.manifests.messages import diagnostic, render_path
from controller.manifests.models import REGION_PATTERN, EnvKey, Strict

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


@dataclass(frozen=True)
class LoadedConfig:
    """The config in force (defaults when there is no file) and where it came from."""

    config: RepoConfig = field(default_factory=RepoConfig)
    path: str | None = None
    """The file as shown to a user, or None when the defaults apply."""
    problems: tuple[Diagnostic, ...] = ()


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
    config, problems = _parse(text, shown)
    return LoadedConfig(config or RepoConfig(), shown, tuple(problems))


def _parse(text: str, shown: str) -> tuple[RepoConfig | None, list[Diagnostic]]:
    documents, yaml_problems = yamlpos.parse(text)
    problems = [Diagnostic(shown, p.line, render_path(p.loc), p.message) for p in yaml_problems]
    if len(documents) > 1:
        message = "the repo config is one YAML document"
        problems.append(Diagnostic(shown, documents[1].line, "", message))
    if problems or not documents:
        return None, problems
    document = documents[0]
    if not isinstance(document.data, dict):
        message = "the repo config must be a mapping (e.g. plan: {...})"
        return None, [Diagnostic(shown, document.line, "", message)]
    try:
        return RepoConfig.model_validate(document.data), []
    except ValidationError as e:
        return None, [diagnostic(error, document, shown, RepoConfig) for error in e.errors()]
