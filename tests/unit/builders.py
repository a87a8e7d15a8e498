"""Concise builders for manifests, desired endpoints, live endpoints and observations.

Tests state only what they are about: `manifest(version=7)`, `desired(manifest(tags={...}))`,
`mirror(want)` (an account that already matches), `live(want, status="Updating")`.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.endpoint import desired as desired_mod
from controller.core.endpoint import diffs
from controller.core.livestate import LiveEndpoint, LiveVariant
from controller.core.packages import PackageVersion
from controller.manifests.models import EndpointManifest, RegistryModel

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
ACCOUNT_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
CONTROLLER = "default"
SOURCE = "prod/churn.yaml"
# Property tests are deterministic (same examples every run) and not timed per example.
PROPERTY = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
ALARMS = {"autoRollbackConfiguration": {"alarms": [{"alarmName": "churn-5xx"}]}}
CANARY = {
    "blueGreenUpdatePolicy": {
        "trafficRoutingConfiguration": {
            "type": "CANARY",
            "waitIntervalInSeconds": 60,
            "canarySize": {"type": "CAPACITY_PERCENT", "value": 10},
        }
    },
    **ALARMS,
}


def package_arn(group: str, version: int) -> str:
    return f"{ACCOUNT_PREFIX}:model-package/{group}/{version}"


def package(
    group: str = "churn-xgb", version: int = 7, approval: str = "Approved"
) -> PackageVersion:
    return PackageVersion(group, version, package_arn(group, version), approval, "2026-01-02")


def registry_variant(
    name: str = "primary",
    group: str = "churn-xgb",
    version: int = 7,
    instance_type: str = "ml.m5.xlarge",
    count: int | None = 2,
    weight: float = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    variant: dict[str, Any] = {
        "name": name,
        "model": {"packageGroup": group, "version": version},
        "instanceType": instance_type,
        "initialWeight": weight,
    }
    if count is not None:
        variant["initialInstanceCount"] = count
    return {**variant, **extra}


def byom_variant(
    name: str = "byom",
    image: str = IMAGE,
    model_data_url: str | None = "s3://bucket/prefix/model.tar.gz",
    environment: dict[str, str] | None = None,
    serverless: dict[str, int] | None = None,
    weight: float = 1.0,
    **extra: Any,
) -> dict[str, Any]:
    model: dict[str, Any] = {"image": image, "environment": environment or {}}
    if model_data_url:
        model["modelDataUrl"] = model_data_url
    variant: dict[str, Any] = {"name": name, "model": model, "initialWeight": weight}
    if serverless is not None:
        variant["serverless"] = serverless
    else:
        variant.setdefault("instanceType", "ml.m5.large")
    return {**variant, **extra}


def manifest_dict(
    name: str = "churn-prod",
    variants: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "sagemaker-gitops/v1",
        "kind": "Endpoint",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "executionRoleArn": ROLE,
            "variants": variants if variants is not None else [registry_variant()],
            **spec,
        },
    }


def manifest(
    name: str = "churn-prod",
    variants: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> EndpointManifest:
    """A validated manifest; keyword arguments are camelCase `spec` fields."""
    return EndpointManifest.model_validate(manifest_dict(name, variants, labels, **spec))


def packages_for(m: EndpointManifest) -> dict[str, PackageVersion]:
    """Resolve every registry variant as the registry would (Approved, ARN by group/version)."""
    out: dict[str, PackageVersion] = {}
    for v in m.spec.variants:
        if isinstance(v.model, RegistryModel):
            out[v.name] = package(v.model.package_group, v.model.version)
    for c in m.spec.inference_components:  # keyed by component, as planning resolves them
        if isinstance(c.model, RegistryModel):
            out[c.name] = package(c.model.package_group, c.model.version)
    return out


def desired(
    m: EndpointManifest | None = None,
    *,
    source: str = SOURCE,
    revision: str | None = "abc123",
    controller_id: str = CONTROLLER,
    region: str = "us-east-1",
) -> desired_mod.DesiredEndpoint:
    m = m if m is not None else manifest()
    key = f"{region}/{m.metadata.name}"
    return desired_mod.build(key, m, source, region, packages_for(m), controller_id, revision)


def endpoint_arn(name: str) -> str:
    return f"{ACCOUNT_PREFIX}:endpoint/{name}"


def live(
    want: desired_mod.DesiredEndpoint,
    *,
    status: str = "InService",
    config_name: str | None = None,
    failure_reason: str = "",
    weights: dict[str, tuple[float | None, int | None]] | None = None,
) -> LiveEndpoint:
    """The live endpoint `want` describes: its config name and its desired weights/counts."""
    current = weights if weights is not None else want.weights
    variants = tuple(
        LiveVariant(name, weight, count, serverless=count is None)
        for name, (weight, count) in current.items()
    )
    return LiveEndpoint(
        name=want.name,
        arn=endpoint_arn(want.name),
        status=status,
        config_name=config_name if config_name is not None else want.config_name,
        failure_reason=failure_reason,
        variants=variants,
    )


def mirror(want: desired_mod.DesiredEndpoint, **overrides: Any) -> diffs.Observed:
    """An account that already matches `want` exactly: InService, same config, same tags."""
    fields: dict[str, Any] = {
        "endpoint": live(want),
        "endpoint_tags": dict(want.tags),
        "config_exists": True,
        "resource_tags": {
            name: dict(want.tags) for name in [want.config_name, *(m.name for m in want.models)]
        },
    }
    fields.update(overrides)
    return diffs.Observed(**fields)


def rolled_out_from(
    old: desired_mod.DesiredEndpoint, new: desired_mod.DesiredEndpoint, **overrides: Any
) -> diffs.Observed:
    """An account serving `old` while the manifest now says `new` (what the reconciler reads)."""
    fields: dict[str, Any] = {
        "endpoint": live(old),
        "endpoint_tags": dict(old.tags),
        "live_terms": dict(old.terms),
        "missing_models": frozenset(m.name for m in new.models)
        - frozenset(m.name for m in old.models),
        "config_exists": new.config_name == old.config_name,
    }
    fields.update(overrides)
    return diffs.Observed(**fields)


def options(**kw: Any) -> diffs.DiffOptions:
    kw.setdefault("controller_id", CONTROLLER)
    return diffs.DiffOptions(**kw)


def without(tags: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in keys}


def unowned(tags: dict[str, str]) -> dict[str, str]:
    return without(tags, tagging.MANAGED_BY)


# AWS's DescribeEndpointConfig / DescribeModel answers for what `desired` asked to create.


def described_config(want: desired_mod.DesiredEndpoint) -> dict[str, Any]:
    config = copy.deepcopy(want.config_request)
    config["EndpointConfigArn"] = f"{ACCOUNT_PREFIX}:endpoint-config/{want.config_name}"
    config["CreationTime"] = "2026-01-02T00:00:00Z"
    return config


def described_models(want: desired_mod.DesiredEndpoint) -> dict[str, dict[str, Any] | None]:
    out: dict[str, dict[str, Any] | None] = {}
    for m in want.models:
        body = copy.deepcopy(m.request)
        body["ModelArn"] = f"{ACCOUNT_PREFIX}:model/{m.name}"
        out[m.name] = body
    return out


# -- random valid manifests (hypothesis) --------------------------------------------------------

variant_names = st.from_regex(r"[a-z](-?[a-z0-9]){0,6}", fullmatch=True)
instance_capacity = st.fixed_dictionaries(
    {"instanceType": st.sampled_from(["ml.m5.xlarge", "ml.c5.large", "ml.g5.2xlarge"])},
    optional={
        "initialInstanceCount": st.integers(1, 10),
        "volumeSizeInGB": st.integers(1, 512),
    },
)
serverless_capacity = st.fixed_dictionaries(
    {
        "serverless": st.fixed_dictionaries(
            {
                "memorySizeInMB": st.sampled_from([1024, 2048, 6144]),
                "maxConcurrency": st.integers(1, 200),
            }
        )
    }
)
environments = st.dictionaries(
    st.from_regex(r"[A-Z_][A-Z0-9_]{0,5}", fullmatch=True), st.text(max_size=8), max_size=2
)
models = st.one_of(
    st.fixed_dictionaries(
        {"packageGroup": st.sampled_from(["churn-xgb", "fraud"]), "version": st.integers(1, 99)},
        optional={"environment": environments},
    ),
    st.fixed_dictionaries(
        {"image": st.sampled_from(["123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1", "img"])},
        optional={"modelDataUrl": st.just("s3://b/m.tar.gz"), "environment": environments},
    ),
)


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(variant_names, min_size=1, max_size=3, unique=True))
    variants = [
        {
            "name": name,
            "model": draw(models),
            "initialWeight": draw(st.sampled_from([0.0, 0.5, 1.0, 3.0])),
            **draw(st.one_of(instance_capacity, serverless_capacity)),
        }
        for name in names
    ]
    variants[0]["initialWeight"] = 1.0  # at least one positive weight
    spec: dict[str, Any] = {
        "tags": draw(st.dictionaries(st.sampled_from(["team", "cost"]), st.text(max_size=5))),
        "labels": draw(st.sampled_from([{}, {"env": "prod"}])),
    }
    if draw(st.booleans()):
        spec["deployment"] = CANARY
    if draw(st.booleans()):
        spec["dataCapture"] = {
            "initialSamplingPercentage": draw(st.integers(0, 100)),
            "destinationS3Uri": "s3://bucket/capture",
            "captureOptions": [{"captureMode": "Input"}],
        }
    if draw(st.booleans()):
        spec["kmsKeyId"] = "alias/k"
    name = draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True))
    return {"name": name, "variants": variants, **spec}
