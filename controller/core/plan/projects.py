"""The project of a planned endpoint, from the file it comes from (or was deployed from).

Kept out of planning so that the rule (the one of `controller.manifests.projects.policy`) is
applied the same way for present and removed endpoints.
"""

from __future__ import annotations

import dataclasses

from controller.core.plan.plans import EndpointPlan
from controller.manifests.projects.policy import project_of
from controller.manifests.repoconfig import RepoConfig


def with_project(plan: EndpointPlan, config: RepoConfig, source: str | None) -> EndpointPlan:
    """`plan` labelled with its project; unchanged without `projects:` or a known file."""
    name = project_name(config, source)
    return plan if name is None else dataclasses.replace(plan, project=name)


def project_name(config: RepoConfig, source: str | None) -> str | None:
    """The name of the project `source` belongs to; None without `projects:` or outside all."""
    project = project_of(config, source) if source else None
    return project.name if project is not None else None
