"""Builders for endpoints that host inference components, and the request-recording route."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from sandbox_helpers import IMAGE, ROLE, make_model

from controller.sandbox import Sandbox

SCALING = {
    "Status": "ENABLED",
    "MinInstanceCount": 1,
    "MaxInstanceCount": 4,
    "ScaleInPolicy": {"Strategy": "IDLE_RELEASE"},
}
ROUTING = {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
COMPUTE = {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 1024}


def ic_variant(name: str = "shared", instance_type: str = "ml.g5.12xlarge") -> dict[str, Any]:
    """A production variant without a model: it hosts inference components."""
    return {
        "VariantName": name,
        "InstanceType": instance_type,
        "InitialInstanceCount": 1,
        "ManagedInstanceScaling": SCALING,
        "RoutingConfig": ROUTING,
    }


def make_ic_endpoint(sm: Any, name: str, variants: list[dict[str, Any]] | None = None) -> None:
    """Config `{name}-c1` (model-less variants, config-level role) + endpoint `name`."""
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-c1",
        ExecutionRoleArn=ROLE,
        ProductionVariants=variants or [ic_variant()],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c1")


def model_spec(model: str, **extra: Any) -> dict[str, Any]:
    return {"ModelName": model, "ComputeResourceRequirements": COMPUTE, **extra}


def make_component(
    sm: Any,
    name: str,
    endpoint: str,
    copies: int = 1,
    env: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Model `{name}-m1` and inference component `name` on `endpoint`'s `shared` variant."""
    make_model(sm, f"{name}-m1", env=env)
    params = {
        "InferenceComponentName": name,
        "EndpointName": endpoint,
        "VariantName": "shared",
        "Specification": model_spec(f"{name}-m1"),
        "RuntimeConfig": {"CopyCount": copies},
        **extra,
    }
    sm.create_inference_component(**params)
    return params


def container_spec(image: str = IMAGE) -> dict[str, Any]:
    return {
        "Container": {
            "Image": image,
            "ArtifactUrl": "s3://models/llm/model.tar.gz",
            "Environment": {"MAX_TOKENS": "512"},
        },
        "ComputeResourceRequirements": COMPUTE,
        "StartupParameters": {
            "ModelDataDownloadTimeoutInSeconds": 600,
            "ContainerStartupHealthCheckTimeoutInSeconds": 300,
        },
    }


def recorded(sandbox: Sandbox, operation: str | None = None) -> Any:
    """GET /_sandbox/requests: the parameters of served requests, by operation."""
    query = f"?operation={operation}" if operation else ""
    with urllib.request.urlopen(f"{sandbox.url}/_sandbox/requests{query}", timeout=5) as reply:
        body = json.loads(reply.read())["requests"]
    return body[operation] if operation else body


def clear_recorded(sandbox: Sandbox) -> None:
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/requests", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as reply:
        reply.read()
