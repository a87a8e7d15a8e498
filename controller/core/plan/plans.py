"""The plan: pure data describing what apply would do, and why.

Built by `diffs`, rendered by `rendering` (text, markdown, json) and executed by `applying`.
Renderers read only the display fields; apply reads only `Action.request`, so what is shown can
never steer what is done.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from controller.errors import Diagnostic

FORMAT_VERSION = 1


class Op(StrEnum):
    """What an action does to one resource."""

    CREATE = "create"  # a new resource
    # UpdateEndpoint / UpdateEndpointWeightsAndCapacities on a live endpoint,
    # UpdateInferenceComponent / UpdateInferenceComponentRuntimeConfig on a live component,
    # or an autoscaling upsert
    UPDATE = "update"
    DELETE = "delete"  # removes a resource the controller owns
    TAG = "tag"  # AddTags/DeleteTags only; the resource itself is unchanged


class ResourceType(StrEnum):
    """SageMaker resource kinds, in the order they are created."""

    MODEL = "Model"  # a container + model data, immutable
    ENDPOINT_CONFIG = "EndpointConfig"  # variants and capacity, immutable
    ENDPOINT = "Endpoint"  # the serving endpoint, points at one EndpointConfig
    # Application Auto Scaling of a variant's instance count (docs/autoscaling.md).
    SCALABLE_TARGET = "ScalableTarget"  # endpoint/<e>/variant/<v>, tagged with ownership
    SCALING_POLICY = "ScalingPolicy"  # target tracking or step scaling on a target
    SCHEDULED_ACTION = "ScheduledAction"  # a scheduled capacity range on a target
    INFERENCE_COMPONENT = "InferenceComponent"  # a model hosted on an endpoint, mutable
    # CloudWatch alarm on NoCapacityInvocationFailures running a component's scale-out-from-zero
    # step policy; named sagemaker-gitops-*, tagged with ownership.
    ALARM = "Alarm"
    # CloudWatch alarm generated from a pipeline stage's check, named in the endpoint's
    # DeploymentConfig.AutoRollbackConfiguration (autoRollbackConfiguration.fromPipeline).
    ROLLBACK_ALARM = "RollbackAlarm"


class Reason(StrEnum):
    """Why an action is planned (Terraform's action reasons, in our terms)."""

    NEW_ENDPOINT = "NewEndpoint"  # no endpoint of this name exists yet
    VERSION_CHANGED = "VersionChanged"  # a registry version changed: new Model(s) and config
    CONFIG_IMMUTABLE = "ConfigImmutable"  # another config field changed: a new config is needed
    WEIGHTS_ONLY = "WeightsOnly"  # only weights / instance counts: no new config
    TAGS_ONLY = "TagsOnly"  # only tags changed
    DRIFT = "Drift"  # the account was changed outside the controller
    # spec.adopt: an unowned endpoint is taken over, or one of another scope (manifest tree)
    ADOPT = "Adopt"
    RECREATE_FAILED = "RecreateFailed"  # a Failed endpoint is deleted and created again
    MANIFEST_REMOVED = "ManifestRemoved"  # owned endpoint whose manifest is gone (--prune)
    SUPERSEDED = "Superseded"  # old owned Model/EndpointConfig beyond the rollback history
    AUTOSCALING = "Autoscaling"  # variants[].autoscaling differs from the live scalable target
    # A scaled variant is removed or changes instance type: SageMaker refuses the UpdateEndpoint
    # while it is registered, so autoscaling is deregistered first and registered again later.
    SCALED_VARIANT_REPLACED = "ScaledVariantReplaced"
    NEW_COMPONENT = "NewComponent"  # an inference component added to the manifest
    COMPONENT_CHANGED = "ComponentChanged"  # container, compute or startup of a component
    COPIES_ONLY = "CopiesOnly"  # only a component's copy count: no rollout
    COMPONENT_REMOVED = "ComponentRemoved"  # an owned component gone from the manifest (--prune)
    # A rollout names (or stops naming) an alarm generated from a pipeline stage's checks.
    ROLLBACK_ALARMS = "RollbackAlarms"


class Status(StrEnum):
    """Per-endpoint plan status; the JSON summary counts these."""

    CREATE = "create"  # the endpoint will be created
    UPDATE = "update"  # the endpoint exists and will change
    DELETE = "delete"  # the endpoint will be deleted (--prune)
    UNCHANGED = "unchanged"  # nothing to do
    ERROR = "error"  # cannot be planned or applied; see errors


class Health(StrEnum):
    """Endpoint health, from its EndpointStatus (gitops-engine's health mapping)."""

    HEALTHY = "Healthy"  # InService
    PROGRESSING = "Progressing"  # Creating, Updating, SystemUpdating, RollingBack, Deleting
    DEGRADED = "Degraded"  # Failed, UpdateRollbackFailed, OutOfService
    MISSING = "Missing"  # no such endpoint
    UNKNOWN = "Unknown"  # could not be read


@dataclass(frozen=True)
class FieldChange:
    """One field, in manifest terms (``variants[primary].model.version``)."""

    path: str
    before: Any
    after: Any
    # Context for reviewers, e.g. "Approved 2026-11-20 by alice"; never used by apply.
    note: str = ""


@dataclass(frozen=True)
class Action:
    """One API-level step. `request` is the exact call apply makes; the rest is for people."""

    op: Op
    type: ResourceType
    name: str
    reason: Reason
    changes: tuple[FieldChange, ...] = ()
    # The boto3 operation (snake_case) and its keyword arguments.
    call: str = ""
    request: dict[str, Any] = field(default_factory=dict, compare=False)
    # Tag edits for Op.TAG: keys to set and keys to remove.
    tags_set: dict[str, str] = field(default_factory=dict)
    tags_removed: tuple[str, ...] = ()
    # For UPDATE actions that also retag the endpoint first (bookkeeping, attempted config).
    resource_arn: str = ""


class ComponentPlan(StrEnum):
    """What the plan does with one inference component (its row in every renderer)."""

    CREATE = "create"
    UPDATE = "update"  # a rolling update of its model, compute or startup
    COPIES = "copies"  # only its copy count changes
    TAG = "tag"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    WAITING = "waiting"  # changes wait for the endpoint (or the component) to be InService
    KEPT = "kept"  # owned but gone from the manifest, kept without --prune
    UNMANAGED = "unmanaged"  # on the endpoint but not ours: never touched
    ERROR = "error"  # failed, failed rollout, name taken: reported, not retried


@dataclass(frozen=True)
class ComponentRow:
    """One inference component of an endpoint, as the plan and `status` show it."""

    name: str
    variant: str
    plan: ComponentPlan
    status: str = "Missing"  # InferenceComponentStatus, or Missing
    model: str = ""  # "llm-a v3" or the image URI (desired; the live one for unmanaged rows)
    copies: int | None = None  # the manifest's copy count
    desired_copies: int | None = None  # live DesiredCopyCount
    current_copies: int | None = None  # live CurrentCopyCount
    autoscaled: bool = False  # a scalable target owns the copy count
    message: str = ""  # failure reason, why waiting or why untouched


@dataclass(frozen=True)
class HourlyCost:
    """The most an endpoint may cost per hour (each variant at the most instances it may reach),
    at the repository's price table."""

    before: float | None  # the live endpoint: 0 when there is none, None when not known
    after: float  # as the manifest says
    currency: str


@dataclass(frozen=True)
class EndpointPlan:
    """Everything planned for one endpoint."""

    name: str
    manifest: str | None  # manifest path relative to the manifest root; None when removed
    region: str
    status: Status
    health: Health = Health.UNKNOWN
    actions: tuple[Action, ...] = ()
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    # Why the actions will not be applied now (suspended, endpoint busy); None means go.
    held: str | None = None
    # The models this endpoint serves, for display: variant name -> "group v7" or image URI.
    models: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    # The git revision recorded on the live endpoint (its last applied change), when known.
    revision: str | None = None
    # Why the status is ERROR, as a PascalCase condition reason (NotOwned, RolloutFailed, ...).
    error_reason: str = ""
    # Inference components of the endpoint, in manifest order then the live-only ones.
    components: tuple[ComponentRow, ...] = ()
    # The deployment target (spec.target) and its account; None for region-only endpoints.
    target: str | None = None
    account: str | None = None
    # The live endpoint is ours and its spec-hash tag is this manifest's: the manifest as it is
    # now was applied before, so weights, capacity, tags or scaling that differ were changed
    # outside the controller, and putting them back is a drift repair, not a rollout (the
    # service announces it as DriftHealed, also after a restart that forgot the rollout).
    deployed: bool = False
    # Files a rendered endpoint's values come from, its own first then its templates'; empty
    # for an endpoint that extends no template.
    rendered_from: tuple[str, ...] = ()
    # The project (`projects:` of the repo config) the manifest file belongs to, when declared.
    project: str | None = None
    # Autoscaling a later pass of the same apply sets up once the endpoint (or a new component)
    # is InService (`core.deferred`): shown to reviewers, never executed from this plan.
    deferred: tuple[Action, ...] = ()
    # The most it may cost per hour, live and as the manifest says (with `prices:` in the repo
    # config; core/plan/costs.py).
    cost: HourlyCost | None = None
    # (endpoint ARN, LastModifiedTime) to record in the `sagemaker-gitops/observed` tag after a
    # reconcile that found the endpoint settled and in sync (core/endpoint/observedstamp.py);
    # bookkeeping `apply` and `run` write, never an action shown in a plan.
    stamp: tuple[str, str] | None = None

    @property
    def has_changes(self) -> bool:
        """Whether this pass makes a call (`deferred` actions wait for a later pass)."""
        return bool(self.actions)


@dataclass(frozen=True)
class Plan:
    """A whole dry run: one entry per endpoint plus manifest errors."""

    endpoints: tuple[EndpointPlan, ...]
    errors: tuple[Diagnostic, ...] = ()
    # The AWS account the plan was made against, when known (shown in PR comments).
    account: str | None = None
    # What a change of the repository config (.sagemaker-gitops.yaml) changes, one line each;
    # shown first, as high risk: it decides what every team may deploy.
    config_changes: tuple[str, ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(e.status.value for e in self.endpoints)
        return {s.value: counts.get(s.value, 0) for s in Status}

    @property
    def has_changes(self) -> bool:
        return any(e.has_changes for e in self.endpoints)

    @property
    def held_back(self) -> tuple[EndpointPlan, ...]:
        """Removed endpoints whose delete a prune guard holds back.

        They are pending changes, not "no changes": the account still differs from git, so
        `plan --detailed-exitcode` exits 2 and `apply` does not exit 0 while any is left.
        """
        return tuple(e for e in self.endpoints if e.manifest is None and e.held)

    @property
    def is_pending(self) -> bool:
        """Anything left between the account and the manifests: actions (deferred ones too) or
        held-back deletes."""
        return self.has_changes or any(e.deferred for e in self.endpoints) or bool(self.held_back)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(e.status is Status.ERROR for e in self.endpoints)

    def endpoint(self, name: str) -> EndpointPlan | None:
        return next((e for e in self.endpoints if e.name == name), None)
