"""Policy checks for pull-request plans: rules a reviewer should not have to check by eye.

`plan --policy FILE` loads a policy with `load_policy`, evaluates it against the manifests and the
plan with `evaluate`, and folds the violations into the plan with `apply_policy`, so every
renderer shows them and the command exits 1. Pure: no AWS calls, no I/O besides reading the file.

A policy file is YAML; its top level is the rules, or it is the repository config
``.sagemaker-gitops.yaml`` whose ``policy:`` section holds them::

    minInstanceCount: {count: 2, when: {labels: {env: prod}}}
    requireRollbackAlarms: {when: {labels: {env: prod}, projects: [fraud]}}
    allowedInstanceTypes: {types: ["ml.m5.*", "ml.g5.xlarge"]}
    maxEndpointDeletes: {count: 1}

Each rule takes one object or a list of them (to use different thresholds per label selector).
There is no ``requireApproved`` rule: the controller refuses every version that is not Approved
for every endpoint already, so such a rule could never fail.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, ValidationError, field_validator
from yaml.nodes import Node, SequenceNode

from controller.core.plan.plans import EndpointPlan, Plan, Status
from controller.core.prune.pruning import few
from controller.errors import Diagnostic, ManifestError
from controller.manifests import yamlpos
from controller.manifests.base import Strict
from controller.manifests.loading import describe, render_path
from controller.manifests.models import EndpointManifest

REPO_CONFIG_NAMES = (".sagemaker-gitops.yaml", ".sagemaker-gitops.yml")
MAX_BYTES = 256 * 1024
_DROPPED_RULES = {
    "requireApproved": (
        "not a policy rule: the controller already refuses every version that is not Approved"
    ),
}


class Selector(Strict):
    """Which endpoints a rule applies to; an empty selector selects every endpoint."""

    labels: dict[str, str | list[str]] = {}
    """Every label must match: its value, or one of the values when a list is given."""
    projects: list[str] = []
    """The endpoint's project (`projects:` in .sagemaker-gitops.yaml) is one of these names or
    `*`/`?` globs; an endpoint without a project never matches a selector that names some."""

    def matches(self, labels: Mapping[str, str], project: str | None = None) -> bool:
        for key, wanted in self.labels.items():
            options = [wanted] if isinstance(wanted, str) else wanted
            if labels.get(key) not in options:
                return False
        if self.projects:
            return project is not None and any(
                fnmatch.fnmatchcase(project, p) for p in self.projects
            )
        return True

    def __str__(self) -> str:
        shown = {k: v if isinstance(v, str) else "|".join(v) for k, v in self.labels.items()}
        parts = [f"{k}={v}" for k, v in shown.items()]
        if self.projects:
            parts.append(f"project={'|'.join(self.projects)}")
        return ", ".join(parts)


class Rule(Strict):
    """Base of every rule: a name for messages and a selector."""

    name: ClassVar[str]
    when: Selector = Selector()
    """Endpoints the rule applies to (by metadata.labels); all endpoints when left out."""

    def scope(self) -> str:
        """`` (env=prod)`` for messages, so a reader knows why the rule applied."""
        return f" (for {self.when})" if self.when.labels or self.when.projects else ""


class EndpointRule(Rule):
    """A rule checked on one manifest at a time."""

    def check(self, manifest: EndpointManifest) -> Iterator[str]:
        raise NotImplementedError


class MinInstanceCount(EndpointRule):
    """Instance-based variants run at least `count` instances (serverless variants are exempt)."""

    name: ClassVar[str] = "minInstanceCount"
    count: int = Field(ge=1)
    """The smallest initialInstanceCount allowed (unset counts as 1)."""

    def check(self, manifest: EndpointManifest) -> Iterator[str]:
        for variant in manifest.spec.variants:
            have = variant.instance_count
            if have is not None and have < self.count:
                yield (
                    f"variant {variant.name} has initialInstanceCount {have}; "
                    f"at least {self.count} required{self.scope()}"
                )


class RequireRollbackAlarms(EndpointRule):
    """Updates can roll back on their own: deployment.autoRollbackConfiguration.alarms is set."""

    name: ClassVar[str] = "requireRollbackAlarms"

    def check(self, manifest: EndpointManifest) -> Iterator[str]:
        deployment = manifest.spec.deployment
        if deployment is None or deployment.auto_rollback_configuration is None:
            yield (
                "spec.deployment.autoRollbackConfiguration.alarms must name at least one "
                f"CloudWatch alarm{self.scope()}"
            )


class AllowedInstanceTypes(EndpointRule):
    """Instance-based variants use one of `types` (glob patterns such as ``ml.m5.*``)."""

    name: ClassVar[str] = "allowedInstanceTypes"
    types: list[str] = Field(min_length=1)
    """Allowed instance types; ``*`` and ``?`` are wildcards."""

    def check(self, manifest: EndpointManifest) -> Iterator[str]:
        for variant in manifest.spec.variants:
            kind = variant.instance_type
            if kind is not None and not any(fnmatch.fnmatchcase(kind, t) for t in self.types):
                allowed = ", ".join(self.types)
                yield (
                    f"variant {variant.name} uses {kind}; allowed instance types: "
                    f"{allowed}{self.scope()}"
                )


class MaxEndpointDeletes(Rule):
    """At most `count` endpoints are deleted by one plan: a guard against a mass prune."""

    name: ClassVar[str] = "maxEndpointDeletes"
    count: int = Field(ge=0)
    """The most endpoints one plan may delete."""

    def check_plan(self, plan: Plan) -> Iterator[str]:
        doomed = [
            e.name
            for e in plan.endpoints
            if e.status is Status.DELETE and self.when.matches(e.labels, e.project)
        ]
        if len(doomed) > self.count:
            yield (
                f"{len(doomed)} endpoints would be deleted ({few(sorted(doomed))}); "
                f"at most {self.count} allowed{self.scope()}"
            )


def _listify(value: Any) -> Any:
    """One rule object or a list; `true`/`false` switch parameterless rules on and off."""
    if value is None or value is False:
        return []
    if value is True:
        return [{}]
    return value if isinstance(value, list) else [value]


class PolicyRules(Strict):
    """Every rule of a policy; each is optional."""

    min_instance_count: list[MinInstanceCount] = []
    require_rollback_alarms: list[RequireRollbackAlarms] = []
    allowed_instance_types: list[AllowedInstanceTypes] = []
    max_endpoint_deletes: list[MaxEndpointDeletes] = []

    @field_validator("*", mode="before")
    @classmethod
    def _wrap(cls, value: Any) -> Any:
        return _listify(value)

    def endpoint_rules(self) -> list[EndpointRule]:
        return [
            *self.min_instance_count,
            *self.require_rollback_alarms,
            *self.allowed_instance_types,
        ]


@dataclass(frozen=True)
class Policy:
    """A loaded policy and the file it came from (named in plan-wide violations)."""

    rules: PolicyRules
    source: str


@dataclass(frozen=True)
class Violation:
    """One broken rule; `endpoint` is None for plan-wide rules."""

    rule: str
    message: str
    endpoint: str | None = None
    region: str | None = None  # the manifest's spec.region; None means the default region
    target: str | None = None  # the manifest's spec.target: the same name may be in two targets


def evaluate(policy: Policy, plan: Plan, manifests: Sequence[EndpointManifest]) -> list[Violation]:
    """Every violation, manifests first (in the given order), then plan-wide rules."""
    violations: list[Violation] = []
    for manifest in manifests:
        labels = manifest.metadata.labels
        project = _project(plan, manifest)
        for rule in policy.rules.endpoint_rules():
            if rule.when.matches(labels, project):
                spec = manifest.spec
                violations.extend(
                    Violation(rule.name, message, manifest.metadata.name, spec.region, spec.target)
                    for message in rule.check(manifest)
                )
    for plan_rule in policy.rules.max_endpoint_deletes:
        violations.extend(Violation(plan_rule.name, m) for m in plan_rule.check_plan(plan))
    return violations


def _project(plan: Plan, manifest: EndpointManifest) -> str | None:
    """The manifest's project, as its plan says (planning labels each endpoint)."""
    spec = manifest.spec
    probe = Violation("", "", manifest.metadata.name, spec.region, spec.target)
    return next((e.project for e in plan.endpoints if _is_target(e, probe)), None)


def apply_policy(plan: Plan, policy: Policy, manifests: Sequence[EndpointManifest]) -> Plan:
    """`plan` with every violation recorded: endpoint ones as endpoint errors, others plan-wide.

    An endpoint with a violation gets status ERROR, so `Plan.has_errors` is true and the plan
    command exits 1. A violation whose endpoint is not in the plan is kept as a plan-wide error
    rather than dropped: a policy check must never pass by losing its finding.
    """
    found = evaluate(policy, plan, manifests)
    endpoints = list(plan.endpoints)
    extra: list[Diagnostic] = []
    for violation in found:
        text = f"policy {violation.rule}: {violation.message}"
        targets = [i for i, e in enumerate(endpoints) if _is_target(e, violation)]
        for index in targets:
            endpoint = endpoints[index]
            endpoints[index] = dataclasses.replace(
                endpoint, status=Status.ERROR, errors=(*endpoint.errors, text)
            )
        if not targets:
            message = (
                f"{violation.endpoint}: {violation.message}"
                if violation.endpoint
                else violation.message
            )
            extra.append(Diagnostic(policy.source, None, f"policy.{violation.rule}", message))
    return dataclasses.replace(plan, endpoints=tuple(endpoints), errors=(*plan.errors, *extra))


def _is_target(endpoint: EndpointPlan, violation: Violation) -> bool:
    if violation.endpoint is None or endpoint.name != violation.endpoint:
        return False
    if endpoint.target != violation.target:
        return False
    return violation.region is None or endpoint.region == violation.region


# Loading.


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file; every problem is a ManifestError with file and line."""
    shown = str(path)
    text = _read(path, shown)
    documents, problems = yamlpos.parse(text)
    if problems:
        raise ManifestError(
            [Diagnostic(shown, p.line, render_path(p.loc), p.message) for p in problems]
        )
    if len(documents) != 1:
        what = "is empty" if not documents else f"has {len(documents)} YAML documents"
        raise ManifestError([Diagnostic(shown, None, "", f"policy file {what}; expected one")])
    document = documents[0]
    data, prefix = _rules_section(document, path, shown)
    try:
        rules = PolicyRules.model_validate(data)
    except ValidationError as e:
        raise ManifestError(
            [_diagnostic(error, document.node, prefix, shown) for error in e.errors()]
        ) from e
    return Policy(rules=rules, source=shown)


def _read(path: Path, shown: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ManifestError(
            [Diagnostic(shown, None, "", f"cannot read policy file: {e.strerror or e}")]
        ) from e
    if len(raw) > MAX_BYTES:
        raise ManifestError([Diagnostic(shown, None, "", "policy file is larger than 256 KiB")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError([Diagnostic(shown, None, "", "policy file is not UTF-8 text")]) from e


def _rules_section(document: yamlpos.Document, path: Path, shown: str) -> tuple[Any, yamlpos.Loc]:
    """The rules mapping and where it sits: the whole file, or the repo config's ``policy:``."""
    data = document.data
    if not isinstance(data, dict):
        raise ManifestError(
            [Diagnostic(shown, document.line, "", "a policy must be a mapping of rules")]
        )
    if path.name not in REPO_CONFIG_NAMES and "policy" not in data:
        return data, ()
    if "policy" not in data:
        message = "repository config has no policy: section"
        raise ManifestError([Diagnostic(shown, document.line, "policy", message)])
    section = data["policy"]
    if not isinstance(section, dict):
        line = yamlpos.line_of(document.node, ("policy",))
        raise ManifestError(
            [Diagnostic(shown, line, "policy", "policy: must be a mapping of rules")]
        )
    return section, ("policy",)


def _diagnostic(error: Any, root: Node, prefix: yamlpos.Loc, shown: str) -> Diagnostic:
    loc = _as_written(root, (*prefix, *error["loc"]))
    line = yamlpos.line_of(root, loc)
    if error["type"] == "extra_forbidden":
        message = _unknown(loc, prefix)
    else:
        message = describe(error, tuple(error["loc"]))
    return Diagnostic(shown, line, render_path(loc), message)


def _unknown(loc: yamlpos.Loc, prefix: yamlpos.Loc) -> str:
    key = str(loc[-1])
    if len(loc) == len(prefix) + 1:
        if key in _DROPPED_RULES:
            return _DROPPED_RULES[key]
        known = ", ".join(f.alias or n for n, f in PolicyRules.model_fields.items())
        return f"unknown rule (known rules: {known})"
    return "unknown field"


def _as_written(root: Node, loc: tuple[Any, ...]) -> yamlpos.Loc:
    """`loc` as the user wrote it: without the list index pydantic adds to a single rule object."""
    node: Node | None = root
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, int) and node is not None and not isinstance(node, SequenceNode):
            continue
        out.append(part)
        node = yamlpos.child(node, part) if node is not None else None
    return tuple(out)
