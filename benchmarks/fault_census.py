"""Count every resource kind in a sandbox account against what a fleet's manifests say.

Each expected resource fills one *slot*: an endpoint, its EndpointConfig, the Model of each
variant or component, each component, scalable target, scaling policy, scheduled action and
alarm. Models and EndpointConfigs have content-hashed names, so their slot is the name without
its hash (`fp-07-primary-1a2b3c4d` -> `fp-07-primary`), and the right one is the one in use
that runs the manifest's registry version. Every other kind has a name the manifest decides.

- missing: a slot with no right resource (absent, or only one running an old version);
- duplicates: a slot's resources beyond one (a second config or Model of a live endpoint,
  e.g. a superseded one GC should have deleted with keep-history 0);
- orphans: a resource in no slot (a pruned endpoint's leftovers, anything unattributable).

Target-tracking alarms (`TargetTracking-<resource id>-AlarmHigh|Low-<uuid>`) are made and deleted
by Application Auto Scaling with their policy: two per target-tracking policy, attributed to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.fault_fleet import (
    COMPONENT_POLICY,
    FROM_ZERO_POLICY,
    SCHEDULED,
    VARIANT_POLICY,
    FleetEndpoint,
)

KINDS = (
    "endpoints",
    "endpoint_configs",
    "models",
    "inference_components",
    "scalable_targets",
    "scaling_policies",
    "scheduled_actions",
    "alarms",
)


@dataclass
class Verdict:
    """Per kind: live resources, and how many are missing, duplicated or orphaned."""

    live: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    orphans: dict[str, list[str]] = field(default_factory=dict)
    not_in_service: list[str] = field(default_factory=list)

    def count(self, what: str) -> int:
        found: dict[str, list[str]] = getattr(self, what)
        return sum(len(v) for v in found.values())

    @property
    def clean(self) -> bool:
        return not (
            self.count("missing")
            or self.count("duplicates")
            or self.count("orphans")
            or self.not_in_service
        )


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page[key])
    return items


@dataclass(frozen=True)
class Account:
    """Everything listed, once, by the clients a test or user would use (boto3)."""

    endpoints: Mapping[str, str]  # name -> status
    configs: Sequence[str]
    models: Sequence[str]
    components: Sequence[str]
    targets: Sequence[str]  # resource ids
    policies: Sequence[str]  # "<resource id> <policy name>"
    scheduled: Sequence[str]  # "<resource id> <action name>"
    alarms: Sequence[str]


def list_account(session: Any) -> Account:
    sm = session.client("sagemaker")
    aas = session.client("application-autoscaling")
    cw = session.client("cloudwatch")
    sagemaker = {"ServiceNamespace": "sagemaker"}
    return Account(
        endpoints={
            e["EndpointName"]: e["EndpointStatus"]
            for e in _pages(sm, "list_endpoints", "Endpoints", MaxResults=100)
        },
        configs=[
            c["EndpointConfigName"]
            for c in _pages(sm, "list_endpoint_configs", "EndpointConfigs", MaxResults=100)
        ],
        models=[m["ModelName"] for m in _pages(sm, "list_models", "Models", MaxResults=100)],
        components=[
            c["InferenceComponentName"]
            for c in _pages(sm, "list_inference_components", "InferenceComponents", MaxResults=100)
        ],
        targets=[
            t["ResourceId"]
            for t in _pages(aas, "describe_scalable_targets", "ScalableTargets", **sagemaker)
        ],
        policies=[
            f"{p['ResourceId']} {p['PolicyName']}"
            for p in _pages(aas, "describe_scaling_policies", "ScalingPolicies", **sagemaker)
        ],
        scheduled=[
            f"{a['ResourceId']} {a['ScheduledActionName']}"
            for a in _pages(aas, "describe_scheduled_actions", "ScheduledActions", **sagemaker)
        ],
        alarms=[a["AlarmName"] for a in _pages(cw, "describe_alarms", "MetricAlarms")],
    )


def _model_version(sm: Any, name: str) -> str:
    """`group/version` of a registry Model (its container's model package ARN's tail)."""
    found = sm.describe_model(ModelName=name)
    containers = found.get("Containers") or [found.get("PrimaryContainer", {})]
    arn = str(containers[0].get("ModelPackageName", ""))
    return "/".join(arn.rsplit("/", 2)[-2:])


def _right_ones(session: Any, fleet: Sequence[FleetEndpoint], account: Account) -> set[str]:
    """The configs and Models in use that run what the manifests say (described, not trusted)."""
    sm = session.client("sagemaker")
    right: set[str] = set()
    for endpoint in fleet:
        if endpoint.name not in account.endpoints:
            continue
        live = sm.describe_endpoint(EndpointName=endpoint.name)
        config = sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
        in_use: dict[str, str] = {}  # slot key -> Model name
        if endpoint.shape == "components":
            if [v["VariantName"] for v in config["ProductionVariants"]] == ["pool"]:
                right.add(config["EndpointConfigName"])
            for slot in endpoint.slots():
                if slot.key in account.components:
                    found = sm.describe_inference_component(InferenceComponentName=slot.key)
                    in_use[slot.key] = found["Specification"].get("ModelName", "")
        else:
            in_use = {v["VariantName"]: v["ModelName"] for v in config["ProductionVariants"]}
            if sorted(in_use) == sorted(s.key for s in endpoint.slots()):
                right.add(config["EndpointConfigName"])
        for slot in endpoint.slots():
            model = in_use.get(slot.key, "")
            if model and _model_version(sm, model) == f"{slot.group}/{slot.version}":
                right.add(model)
    return right


def _expected_names(fleet: Sequence[FleetEndpoint]) -> dict[str, set[str]]:
    """The slots of every kind the manifests name outright (not content-hashed)."""
    names: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for endpoint in fleet:
        names["endpoints"].add(endpoint.name)
        names["endpoint_configs"].add(endpoint.name)
        if endpoint.shape == "components":
            chat, embed = endpoint.slots()
            names["inference_components"] |= {chat.key, embed.key}
            names["models"] |= {f"{endpoint.name}-{chat.key}", f"{endpoint.name}-{embed.key}"}
            target = f"inference-component/{embed.key}"
            names["scalable_targets"].add(target)
            names["scaling_policies"] |= {
                f"{target} {COMPONENT_POLICY}",
                f"{target} {FROM_ZERO_POLICY}",
            }
            names["alarms"] |= {
                f"sagemaker-gitops-{embed.key}-scale-out-from-zero",
                f"TargetTracking-{target}-AlarmHigh",
                f"TargetTracking-{target}-AlarmLow",
            }
            continue
        names["models"] |= {f"{endpoint.name}-{s.key}" for s in endpoint.slots()}
        if endpoint.shape == "scaled":
            target = f"endpoint/{endpoint.name}/variant/primary"
            names["scalable_targets"].add(target)
            names["scaling_policies"].add(f"{target} {VARIANT_POLICY}")
            names["scheduled_actions"].add(f"{target} {SCHEDULED}")
            names["alarms"] |= {
                f"TargetTracking-{target}-AlarmHigh",
                f"TargetTracking-{target}-AlarmLow",
            }
    return names


def _slot(kind: str, name: str) -> str:
    """The slot a live resource fills: hashed names lose their hash, AAS alarms their uuid."""
    if kind in ("endpoint_configs", "models"):
        return name.rsplit("-", 1)[0]
    if kind == "alarms" and name.startswith("TargetTracking-"):
        return name.rsplit("-", 5)[0]  # drop "-<uuid>" (5 dash-separated parts), keep AlarmHigh
    return name


def census(session: Any, fleet: Sequence[FleetEndpoint]) -> Verdict:
    """List the account, then judge every kind against the manifests of `fleet`."""
    account = list_account(session)
    right = _right_ones(session, fleet, account)
    expected = _expected_names(fleet)
    live: dict[str, Iterable[str]] = {
        "endpoints": account.endpoints,
        "endpoint_configs": account.configs,
        "models": account.models,
        "inference_components": account.components,
        "scalable_targets": account.targets,
        "scaling_policies": account.policies,
        "scheduled_actions": account.scheduled,
        "alarms": account.alarms,
    }
    verdict = Verdict()
    verdict.not_in_service = sorted(
        name
        for name, status in account.endpoints.items()
        if name in expected["endpoints"] and status != "InService"
    )
    hashed = ("endpoint_configs", "models")
    for kind in KINDS:
        by_slot: dict[str, list[str]] = {}
        for name in live[kind]:
            by_slot.setdefault(_slot(kind, name), []).append(name)
        verdict.live[kind] = sum(len(v) for v in by_slot.values())
        verdict.expected[kind] = len(expected[kind])
        missing, duplicates, orphans = [], [], []
        for slot in sorted(expected[kind]):
            present = by_slot.get(slot, [])
            good = [n for n in present if n in right] if kind in hashed else present
            if not good:
                missing.append(slot)
            keep = good[:1] or present[:1]  # a wrong one alone is the slot's missing one
            duplicates += [n for n in present if n not in keep]
        for slot, names in sorted(by_slot.items()):
            if slot not in expected[kind]:
                orphans += names
        verdict.missing[kind], verdict.duplicates[kind] = missing, duplicates
        verdict.orphans[kind] = orphans
    return verdict
