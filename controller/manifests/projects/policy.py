"""The one check of manifests against ``projects:`` and ``targets.paths`` (docs/projects.md).

Pure: no files, no AWS, no clock. Loading calls it for every command (`validate`, `plan`,
`apply`, `status`, `run`), so the rules cannot differ between a PR check and a deploy. What it
refuses is reported with file, line and path and left out of the load, as a manifest that failed
to load is: never deployed, and (the load being incomplete) never a reason to prune.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller.errors import Diagnostic
from controller.manifests.loaded import LoadedManifest
from controller.manifests.messages import render_path
from controller.manifests.models import EndpointSpec, Variant
from controller.manifests.projects import cost, globs
from controller.manifests.projects.settings import Prices, Project
from controller.manifests.repoconfig import CONFIG_NAME, LoadedConfig, RepoConfig

NO_PROJECTS = (
    f"no projects in {CONFIG_NAME}: every manifest may deploy anything, anywhere "
    "(docs/projects.md; --require-projects makes this an error)"
)


@dataclass(frozen=True)
class TargetDecl:
    """Where one `kind: Target` is declared."""

    name: str
    source: str
    """Root-relative posix path."""
    shown: str
    line: int


@dataclass(frozen=True)
class Endpoint:
    """An endpoint to check, with the lines its errors point at."""

    loaded: LoadedManifest
    lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each field of `checked_fields` (rendered path -> line); the name's line when
    missing (a value written by a template)."""


def checked_fields(spec: EndpointSpec) -> list[tuple[str | int, ...]]:
    """The fields whose values `check` may refuse, so loading can note their lines."""
    found: list[tuple[str | int, ...]] = [("spec", "region")]
    for group, variants in (("variants", spec.variants), ("shadowVariants", spec.shadow_variants)):
        for index, _ in enumerate(variants):
            at = ("spec", group, index)
            found += [(*at, "instanceType"), (*at, "initialInstanceCount")]
            found += [(*at, "autoscaling", "maxCapacity")]
            found += [(*at, "managedInstanceScaling", "maxInstanceCount")]
    return found


@dataclass
class Verdict:
    """What the check allows; everything refused has a diagnostic."""

    refused: set[int] = field(default_factory=set)
    """`id()` of each refused `Endpoint`."""
    projects: dict[str, str] = field(default_factory=dict)
    """Project name by root-relative manifest file."""
    diagnostics: list[Diagnostic] = field(default_factory=list)


def enforced(config: LoadedConfig) -> bool:
    """Whether projects (and the targets.paths that come with them) are in force."""
    return config.config.projects is not None or config.config.targets is not None


def placed_targets(config: LoadedConfig, targets: Sequence[TargetDecl]) -> list[Diagnostic]:
    """One error per Target declared outside `targets.paths` (with projects or targets.paths
    set; with projects but no targets section no file may declare one). Run before duplicate
    names are counted, so a copy in a team folder cannot take the real target down."""
    if not enforced(config):
        return []
    settings = config.config.targets
    allowed = settings.paths if settings is not None else []
    where = ", ".join(allowed) or f"none declared in {CONFIG_NAME}"
    return [
        Diagnostic(
            t.shown,
            t.line,
            "kind",
            f"target {t.name!r} is declared outside targets.paths ({where}); it is not used",
        )
        for t in targets
        if not any(globs.path_matches(p, t.source) for p in allowed)
    ]


def unknown_project_targets(config: LoadedConfig, defined: set[str]) -> list[Diagnostic]:
    """Errors in the config for target names (not globs) no allowed Target declares."""
    problems = []
    shown = config.path or CONFIG_NAME
    for index, project in enumerate(config.config.projects or ()):
        for position, name in enumerate(project.targets):
            if globs.is_glob(name) or name in defined:
                continue
            loc = ("projects", index, "targets", position)
            message = f"project {project.name!r} names unknown target {name!r}"
            problems.append(Diagnostic(shown, config.line_of(loc), render_path(loc), message))
    return problems


def check(config: LoadedConfig, endpoints: Sequence[Endpoint]) -> Verdict:
    """Each endpoint against its project's rules; see the module docstring."""
    verdict = Verdict()
    projects = config.config.projects
    if projects is None:
        return verdict
    members: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        loaded = endpoint.loaded
        found = [p for p in projects if any(globs.path_matches(g, loaded.source) for g in p.paths)]
        if len(found) != 1:
            _refuse(verdict, endpoint, "metadata.name", _membership(loaded, found, projects))
            continue
        project = found[0]
        verdict.projects[loaded.source] = project.name
        members.setdefault(project.name, []).append(endpoint)
        for path, message in _broken_rules(project, endpoint.loaded):
            _refuse(verdict, endpoint, path, message)
    for project in projects:
        declared = members.get(project.name, [])
        if project.max_endpoints is not None and len(declared) > project.max_endpoints:
            message = (
                f"project {project.name!r} declares {len(declared)} endpoints, more than its "
                f"maxEndpoints {project.max_endpoints}"
            )
            for endpoint in declared:
                _refuse(verdict, endpoint, "metadata.name", message)
        if project.max_hourly_cost is not None and config.config.prices is not None:
            _cap_cost(verdict, project, declared, config.config.prices)
    return verdict


def _cap_cost(verdict: Verdict, project: Project, declared: list[Endpoint], prices: Prices) -> None:
    """The project's endpoints together within its maxHourlyCost; an instance type the table
    cannot price refuses its endpoint (a cap that cannot be checked must not pass)."""
    assert project.max_hourly_cost is not None
    costs = [(e, cost.endpoint_cost(e.loaded.manifest.spec, prices.hourly)) for e in declared]
    for endpoint, found in costs:
        if found.unpriced:
            message = (
                f"no price for {', '.join(found.unpriced)} in prices.hourly, and project "
                f"{project.name!r} has a maxHourlyCost"
            )
            _refuse(verdict, endpoint, "spec.variants", message)
    total = sum(found.hourly for _, found in costs)
    if total <= project.max_hourly_cost:
        return
    ranked = sorted(costs, key=lambda item: -item[1].hourly)
    terms = ", ".join(
        f"{e.loaded.manifest.metadata.name} {found.hourly:,.2f}" for e, found in ranked[:5]
    )
    more = f" and {len(ranked) - 5} more" if len(ranked) > 5 else ""
    message = (
        f"project {project.name!r} may cost {cost.money(total, prices.currency)} at most "
        f"({terms}{more}), over its maxHourlyCost "
        f"{cost.money(project.max_hourly_cost, prices.currency)}"
    )
    for endpoint, _ in costs:
        _refuse(verdict, endpoint, "metadata.name", message)


def project_of(config: RepoConfig, source: str) -> Project | None:
    """The project of a root-relative manifest file, when exactly one project's paths match."""
    found = [
        p for p in config.projects or () if any(globs.path_matches(g, source) for g in p.paths)
    ]
    return found[0] if len(found) == 1 else None


def prune_holds(config: RepoConfig, sources: Mapping[str, str | None]) -> dict[str, str]:
    """Why each removed endpoint (key -> the manifest file it was deployed from) must not be
    pruned: its project says `prune: false`."""
    held: dict[str, str] = {}
    for key, source in sources.items():
        project = project_of(config, source) if source else None
        if project is not None and not project.prune:
            held[key] = f"project {project.name!r} has prune: false"
    return held


def _membership(loaded: LoadedManifest, found: list[Project], projects: list[Project]) -> str:
    if found:
        names = ", ".join(p.name for p in found)
        return f"{loaded.source} is in the paths of several projects ({names}); it must be in one"
    names = ", ".join(p.name for p in projects) or "none"
    return f"{loaded.source} is in no project's paths (projects: {names}); it is not deployed"


def _broken_rules(project: Project, loaded: LoadedManifest) -> list[tuple[str, str]]:
    name = project.name
    spec = loaded.manifest.spec
    endpoint = loaded.manifest.metadata.name
    problems: list[tuple[str, str]] = []
    if project.name_prefix and not endpoint.lower().startswith(project.name_prefix.lower()):
        problems.append(
            (
                "metadata.name",
                f"project {name!r} may only own endpoints named {project.name_prefix}*",
            )
        )
    if spec.target is not None:
        if not any(globs.name_matches(g, spec.target) for g in project.targets):
            allowed = ", ".join(project.targets) or "none"
            problems.append(
                (
                    "spec.target",
                    f"project {name!r} may not use target {spec.target!r} (targets: {allowed})",
                )
            )
    elif spec.region is None or spec.region not in project.regions:
        allowed = ", ".join(project.regions) or "none; use spec.target"
        where = f"region {spec.region!r}" if spec.region else "the default region"
        problems.append(
            ("spec.region", f"project {name!r} may not deploy to {where} (regions: {allowed})")
        )
    for group, variants in (("variants", spec.variants), ("shadowVariants", spec.shadow_variants)):
        for index, variant in enumerate(variants):
            at = f"spec.{group}[{index}]"
            types = project.instance_types
            kind = variant.instance_type
            if kind and types is not None and not any(globs.name_matches(g, kind) for g in types):
                allowed = ", ".join(types) or "none"
                message = f"project {name!r} may not use {kind} (instanceTypes: {allowed})"
                problems.append((f"{at}.instanceType", message))
            limit = project.max_instances_per_variant
            for field_name, count in _counts(variant):
                if limit is not None and count > limit:
                    problems.append(
                        (
                            f"{at}.{field_name}",
                            f"{count} instances is over the maxInstancesPerVariant {limit} "
                            f"of project {name!r}",
                        )
                    )
    for file in loaded.rendered_from[1:]:  # a shared template: at the root or in the project
        if "/" not in file or any(globs.path_matches(g, file) for g in project.paths):
            continue
        problems.append(
            (
                "spec.extends",
                f"template file {file} is outside the paths of project {name!r} and not "
                "at the manifest root",
            )
        )
    return problems


def _counts(variant: Variant) -> list[tuple[str, int]]:
    """Every instance count a variant may reach: what it starts with and what scaling allows."""
    found: list[tuple[str, int]] = []
    if variant.initial_instance_count is not None:
        found.append(("initialInstanceCount", variant.initial_instance_count))
    if variant.autoscaling is not None:
        found.append(("autoscaling.maxCapacity", variant.autoscaling.max_capacity))
    managed = variant.managed_instance_scaling
    if managed is not None and managed.max_instance_count is not None:
        found.append(("managedInstanceScaling.maxInstanceCount", managed.max_instance_count))
    return found


def _refuse(verdict: Verdict, endpoint: Endpoint, path: str, message: str) -> None:
    loaded = endpoint.loaded
    line = endpoint.lines.get(path) or loaded.name_line or loaded.line
    verdict.refused.add(id(endpoint))
    verdict.diagnostics.append(Diagnostic(loaded.shown or loaded.source, line, path, message))
