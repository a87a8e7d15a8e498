"""What the reconciler read about one endpoint, and the options a diff runs with.

Filled by `controller.reconcile.observing`; read by the pure diff modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controller.core.component.model import LiveComponent
from controller.core.livestate import LiveEndpoint
from controller.core.plan.plans import ResourceType
from controller.core.scaling.model import LiveAlarm, LiveTarget


@dataclass(frozen=True)
class Observed:
    """What the reconciler read about one endpoint."""

    endpoint: LiveEndpoint | None
    endpoint_tags: Mapping[str, str] | None = None  # None: not known (no such endpoint)
    live_terms: Mapping[str, Any] | None = None  # live config in manifest terms, on rollouts
    missing_models: frozenset[str] = frozenset()  # desired Models that do not exist yet
    config_exists: bool = False
    resource_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    superseded: tuple[tuple[ResourceType, str], ...] = ()  # owned history beyond what is kept
    read_error: str | None = None
    # variant -> its live scalable target, whoever registered it; tags are read only for targets
    # the plan may change (a target in sync with the manifest needs no ownership check).
    scaling: Mapping[str, LiveTarget] = field(default_factory=dict)
    # Inference components on the endpoint (one ListInferenceComponents, describes on change).
    components: tuple[LiveComponent, ...] = ()
    # Lower-cased component name -> its tags; absent: not in the owned index (not ours).
    component_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Component name -> its live Model described, read only when its specification changes.
    component_models: Mapping[str, Mapping[str, Any] | None] = field(default_factory=dict)
    # Lower-cased names of components whose copy count a scalable target owns.
    autoscaled: frozenset[str] = frozenset()
    # Lower-cased component name -> its copy-count scalable target / scale-out-from-zero alarm.
    component_scaling: Mapping[str, LiveTarget] = field(default_factory=dict)
    component_alarms: Mapping[str, LiveAlarm] = field(default_factory=dict)
    # Lower-cased name of an owned component gone from the manifest -> its Models that may be
    # deleted with it (--prune); see core/component/history.py.
    component_garbage: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Component name -> its history tag pruned of the Models in `superseded` (GC retags it).
    component_histories: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DiffOptions:
    controller_id: str = "default"
    recreate_failed: bool = False
    # This command already deleted a Failed endpoint (or component) of this key to recreate it:
    # a second Failed is reported, never recreated again (each cycle provisions instances).
    recreated_once: bool = False
    revision: str | None = None
    notes: Mapping[str, str] = field(default_factory=dict)  # change path -> reviewer note
    prune: bool = False  # owned inference components gone from the manifest are deleted
    # Changes are marked "pending" for the observed stamp (core/endpoint/observedstamp.py) only
    # by commands that see them settle (`apply --wait`, `run`), never by `apply --no-wait`.
    stamp_observed: bool = True
