"""Every manifest field reaches the request it belongs to, for every endpoint shape (issue 25).

Each field of the endpoint schema (a leaf of `EndpointSpec`, list items as `[]`) has a row: the
operation that carries it and the key it is sent under. Most rows follow from the field's path
(the API's names are the manifest's, PascalCase); `KEYS` and `OPERATIONS` list the exceptions.
The kitchen-sink manifests below set every field at least once, across every shape (instance
and serverless variants, shadow variants, registry, image and multi-container models, inference
components, autoscaling, both deployment policies); applying them and an edit that rolls each
one out, every row is checked against the requests the sandbox recorded. A field the table or
the manifests miss fails `test_every_manifest_field_has_a_row_and_a_value`: a new manifest field
cannot land without proof that it reaches AWS.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
import yaml
from pydantic import BaseModel

from controller.core.casing import pascal
from controller.manifests.models import EndpointSpec
from tests.e2e.conftest import IMAGE, ROLE, World

# -- the schema's leaves -------------------------------------------------------------------------


def _models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The models a field's type holds, each with "[]" when it is a list of them."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    if origin is list:
        return [("[]", model) for _, model in _models(get_args(annotation)[0])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    return []


def leaves(model: type[BaseModel], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        inner = _models(info.annotation)
        if not inner:
            found.add(path)
        for suffix, sub in inner:
            found |= leaves(sub, f"{path}{suffix}.")
    return found


# -- where each field goes -----------------------------------------------------------------------

# Chooses where and whether, not what: never part of a request.
CONTROLLER_ONLY = {
    "adopt": "lets the controller take over an endpoint; no API field",
    "suspend": "stops applying; no API field",
    "region": "picks the client's region",
    "target": "picks the account, role and region",
    "deployment.autoRollbackConfiguration.fromPipeline": (
        "names the pipeline whose stage's checks become alarms (PutMetricAlarm, named in "
        "UpdateEndpoint's AutoRollbackConfiguration: tests/e2e/test_rollback_alarms.py)"
    ),
}
# Fields a validate error refuses wherever the schema lets them appear (a test below proves
# each), so no request can carry them: prefix -> a manifest change that sets one, and the error.
REFUSED = {
    "shadowVariants[].autoscaling.": "autoscaling is for production variants",
    "shadowVariants[].managedInstanceScaling.": "managedInstanceScaling is for variants hosting",
    "inferenceComponents[].model.mode": "an inference component hosts one model",
    "inferenceComponents[].model.multiModelConfig.": "multiModelConfig needs mode: MultiModel",
}

# (pattern over the leaf path, operation): the first that matches.
OPERATIONS: list[tuple[str, str]] = [
    (r"\.autoscaling\.scheduled\[\]\.", "PutScheduledAction"),
    (r"\.autoscaling\.scaleOutFromZero\.(period|evaluationPeriods)$", "PutMetricAlarm"),
    (r"\.autoscaling\.(targetTracking|stepScaling|scaleOutFromZero)", "PutScalingPolicy"),
    (r"\.autoscaling\.", "RegisterScalableTarget"),
    (r"^inferenceComponents\[\]\.deployment\.", "UpdateInferenceComponent"),
    (r"^inferenceComponents\[\]\.model\.", "CreateModel"),
    (r"^inferenceComponents\[\]\.", "CreateInferenceComponent"),
    (r"^(variants|shadowVariants)\[\]\.model\.", "CreateModel"),
    (r"^(variants|shadowVariants)\[\]\.", "CreateEndpointConfig"),
    (r"^deployment\.", "UpdateEndpoint"),
    (r"^(vpcConfig\.|enableNetworkIsolation$|executionRoleArn$)", "CreateModel"),
    (r"^(dataCapture\.|asyncInference\.|kmsKeyId$)", "CreateEndpointConfig"),
    (r"^tags$", "CreateEndpoint"),
]

# Leaf (path suffix) -> the API key, where it is not the field name in PascalCase.
KEYS = {
    "variants[].name": "VariantName",
    "initialWeight": "InitialVariantWeight",
    "enableSsmAccess": "EnableSSMAccess",
    "model.inferenceExecutionMode": "Mode",
    "model.packageGroup": "ModelPackageName",
    "model.version": "ModelPackageName",
    "inferenceComponents[].name": "InferenceComponentName",
    "inferenceComponents[].variant": "VariantName",
    "inferenceComponents[].copies": "CopyCount",
    "compute.cpuCores": "NumberOfCpuCoresRequired",
    "compute.acceleratorDevices": "NumberOfAcceleratorDevicesRequired",
    "compute.minMemoryMb": "MinMemoryRequiredInMb",
    "compute.maxMemoryMb": "MaxMemoryRequiredInMb",
    "predefinedMetric": "PredefinedMetricType",
    "targetTracking[].name": "PolicyName",
    "stepScaling[].name": "PolicyName",
    "scheduled[].name": "ScheduledActionName",
    "scaleOutFromZero.copies": "ScalingAdjustment",
}


def operation_of(leaf: str) -> str | None:
    return next((op for pattern, op in OPERATIONS if re.search(pattern, leaf)), None)


def key_of(leaf: str) -> str:
    for suffix, key in KEYS.items():
        if leaf.endswith(suffix) or leaf.replace("shadowVariants", "variants").endswith(suffix):
            return key
    last = leaf.rsplit(".", 1)[-1].removesuffix("[]")
    return last[:1].upper() + last[1:]


# -- the kitchen sink ------------------------------------------------------------------------------

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
KMS = "arn:aws:kms:us-east-1:123456789012:key/fields"
VPC = {"securityGroupIds": ["sg-0f1e1d5"], "subnets": ["subnet-0f1e1d5", "subnet-0f1e1d6"]}
AUTH = {"repositoryCredentialsProviderArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}


def s3(uri: str, eula: bool = False) -> dict[str, Any]:
    source: dict[str, Any] = {"s3Uri": uri, "s3DataType": "S3Prefix", "compressionType": "None"}
    if eula:
        source["modelAccessConfig"] = {"acceptEula": True}
    return source


def container_options(tag: str) -> dict[str, Any]:
    return {
        "imageConfig": {"repositoryAccessMode": "Vpc", "repositoryAuthConfig": AUTH},
        "additionalModelDataSources": [
            {"channelName": f"draft-{tag}", "s3DataSource": s3(f"s3://models/{tag}/draft/", True)}
        ],
        "containerMetricsConfig": {
            "metricsEndpoints": [
                {"metricsEndpointPath": f"/m/{tag}", "metricPublishFrequencyInSeconds": 30}
            ]
        },
    }


HOSTING = {
    "instanceType": "ml.g5.2xlarge",
    "initialInstanceCount": 2,
    "volumeSizeInGB": 77,
    "inferenceAmiVersion": "al2-ami-sagemaker-inference-gpu-2",
    "routingConfig": {"routingStrategy": "RANDOM"},
    "enableSsmAccess": True,
    "containerStartupHealthCheckTimeoutInSeconds": 611,
    "modelDataDownloadTimeoutInSeconds": 622,
    "capacityReservationConfig": {
        "capacityReservationPreference": "capacity-reservations-only",
        "mlReservationArn": f"{ARN}:training-plan/gpu-plan",
    },
    "coreDumpConfig": {"destinationS3Uri": "s3://dumps/fields/", "kmsKeyId": KMS},
}


def multi_model(name: str, tag: str) -> dict[str, Any]:
    """An instance variant whose one container serves many models (a multi-model endpoint)."""
    model = {
        "image": IMAGE,
        "modelDataUrl": f"s3://models/{tag}/",
        "environment": {"SINK": tag},
        "mode": "MultiModel",
        "multiModelConfig": {"modelCacheSetting": "Disabled"},
        **container_options(tag),
    }
    return {"name": name, "initialWeight": 0.7, "model": model, **HOSTING}


def registry(name: str, tag: str) -> dict[str, Any]:
    model = {
        "packageGroup": "fraud-detector",
        "version": 2,
        "environment": {"SINK": tag},
        "inferenceSpecificationName": f"spec-{tag}",
    }
    return {"name": name, "model": model, **HOSTING}


def pipeline(name: str, tag: str) -> dict[str, Any]:
    first = {
        "image": IMAGE,
        "containerHostname": f"pre-{tag}",
        "modelDataSource": {"s3DataSource": s3(f"s3://models/{tag}/pre/", True)},
        "environment": {"SINK": tag},
        **container_options(tag),
    }
    second = {
        "image": IMAGE,
        "containerHostname": f"mme-{tag}",
        "modelDataUrl": f"s3://models/{tag}/many/",
        "mode": "MultiModel",
        "multiModelConfig": {"modelCacheSetting": "Enabled"},
    }
    model = {"inferenceExecutionMode": "Direct", "containers": [first, second]}
    return {"name": name, "model": model, **HOSTING}


def serverless(name: str, tag: str) -> dict[str, Any]:
    model = {
        "image": IMAGE,
        "modelDataSource": {"s3DataSource": s3(f"s3://models/{tag}/gated/", True)},
        "mode": "SingleModel",
        "containerMetricsConfig": {"metricsEndpoints": [{"metricsEndpointPath": f"/s/{tag}"}]},
    }
    capacity = {"memorySizeInMB": 3072, "maxConcurrency": 9, "provisionedConcurrency": 3}
    return {"name": name, "model": model, "serverless": capacity}


VARIANT_SCALING = {
    "minCapacity": 2,
    "maxCapacity": 7,
    "targetTracking": [
        {
            "name": "calls",
            "predefinedMetric": "SageMakerVariantInvocationsPerInstance",
            "targetValue": 701,
            "scaleInCooldown": 311,
            "scaleOutCooldown": 312,
            "disableScaleIn": True,
        },
        {
            "name": "lag",
            "customizedMetric": {
                "metricName": "ModelLatency",
                "namespace": "AWS/SageMaker",
                "statistic": "Average",
                "unit": "Microseconds",
                "dimensions": [{"name": "EndpointName", "value": "fields-a"}],
            },
            "targetValue": 200001,
        },
    ],
    "stepScaling": [
        {
            "name": "burst",
            "adjustmentType": "PercentChangeInCapacity",
            "minAdjustmentMagnitude": 2,
            "cooldown": 121,
            "metricAggregationType": "Maximum",
            "stepAdjustments": [
                {
                    "metricIntervalLowerBound": 0,
                    "metricIntervalUpperBound": 51,
                    "scalingAdjustment": 21,
                },
            ],
        }
    ],
    "scheduled": [
        {
            "name": "mornings",
            "schedule": "cron(0 7 * * ? *)",
            "timezone": "Europe/Paris",
            "minCapacity": 3,
            "maxCapacity": 6,
        }
    ],
}
ALARMS = {"alarms": [{"alarmName": "fields-5xx"}]}
CANARY = {
    "blueGreenUpdatePolicy": {
        "trafficRoutingConfiguration": {
            "type": "CANARY",
            "waitIntervalInSeconds": 301,
            "canarySize": {"type": "CAPACITY_PERCENT", "value": 11},
        },
        "terminationWaitInSeconds": 302,
        "maximumExecutionTimeoutInSeconds": 3601,
    },
    "autoRollbackConfiguration": ALARMS,
}
LINEAR = {
    "blueGreenUpdatePolicy": {
        "trafficRoutingConfiguration": {
            "type": "LINEAR",
            "waitIntervalInSeconds": 303,
            "linearStepSize": {"type": "INSTANCE_COUNT", "value": 1},
        }
    }
}
ROLLING = {
    "rollingUpdatePolicy": {
        "maximumBatchSize": {"type": "INSTANCE_COUNT", "value": 1},
        "waitIntervalInSeconds": 304,
        "maximumExecutionTimeoutInSeconds": 3602,
        "rollbackMaximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 33},
    }
}
SPEC = {
    "vpcConfig": VPC,
    "enableNetworkIsolation": True,
    "kmsKeyId": KMS,
    "tags": {"sink": "fields"},
    "dataCapture": {
        "enableCapture": True,
        "initialSamplingPercentage": 17,
        "destinationS3Uri": "s3://capture/fields/",
        "kmsKeyId": f"{KMS}-capture",
        "captureOptions": [{"captureMode": "InputAndOutput"}],
        "captureContentTypeHeader": {
            "csvContentTypes": ["text/csv"],
            "jsonContentTypes": ["application/jsonlines"],
        },
    },
}
ASYNC = {
    "clientConfig": {"maxConcurrentInvocationsPerInstance": 7},
    "outputConfig": {
        "s3OutputPath": "s3://results/fields/",
        "s3FailurePath": "s3://results/fields-failed/",
        "kmsKeyId": f"{KMS}-async",
        "notificationConfig": {
            "successTopic": "arn:aws:sns:us-east-1:123456789012:fields-ok",
            "errorTopic": "arn:aws:sns:us-east-1:123456789012:fields-failed",
            "includeInferenceResponseIn": ["ERROR_NOTIFICATION_TOPIC"],
        },
    },
}
COMPONENT_SCALING = {
    "minCapacity": 0,
    "maxCapacity": 5,
    "targetTracking": [
        {"predefinedMetric": "SageMakerInferenceComponentInvocationsPerCopy", "targetValue": 6},
        {
            "name": "gpu",
            "customizedMetric": {
                "metricName": "GPUUtilizationNormalized",
                "namespace": "/aws/sagemaker/InferenceComponents",
                "statistic": "Maximum",
                "unit": "Percent",
                "dimensions": [{"name": "InferenceComponentName", "value": "fields-llm"}],
            },
            "targetValue": 71,
            "scaleInCooldown": 321,
            "scaleOutCooldown": 322,
            "disableScaleIn": True,
        },
    ],
    "stepScaling": [
        {
            "name": "spike",
            "adjustmentType": "PercentChangeInCapacity",
            "minAdjustmentMagnitude": 3,
            "cooldown": 131,
            "metricAggregationType": "Minimum",
            "stepAdjustments": [
                {
                    "metricIntervalLowerBound": 1,
                    "metricIntervalUpperBound": 52,
                    "scalingAdjustment": 22,
                }
            ],
        }
    ],
    "scheduled": [
        {
            "name": "nights",
            "schedule": "cron(0 22 * * ? *)",
            "timezone": "Asia/Tokyo",
            "minCapacity": 0,
            "maxCapacity": 4,
        }
    ],
    "scaleOutFromZero": {"copies": 2, "period": 20, "evaluationPeriods": 2, "cooldown": 62},
}


def components() -> dict[str, Any]:
    hosting = {k: v for k, v in HOSTING.items() if k != "initialInstanceCount"}
    variant = {
        "name": "shared",
        **hosting,
        "instanceType": "ml.g5.48xlarge",
        "initialInstanceCount": 1,
        "managedInstanceScaling": {
            "status": "ENABLED",
            "minInstanceCount": 1,
            "maxInstanceCount": 4,
            "scaleInPolicy": {
                "strategy": "CONSOLIDATION",
                "maximumStepSize": 2,
                "cooldownInMinutes": 25,
            },
        },
    }
    gated = {
        "name": "fields-llm",
        "variant": "shared",
        "model": {
            "image": IMAGE,
            "modelDataSource": {"s3DataSource": s3("s3://models/llm/", True)},
            "environment": {"SINK": "llm"},
            **container_options("llm"),
        },
        "compute": {
            "cpuCores": 2.5,
            "acceleratorDevices": 1,
            "minMemoryMb": 2048,
            "maxMemoryMb": 4096,
        },
        "copies": 1,
        "startup": {
            "modelDataDownloadTimeoutInSeconds": 631,
            "containerStartupHealthCheckTimeoutInSeconds": 632,
        },
        "deployment": {
            "rollingUpdatePolicy": {
                "maximumBatchSize": {"type": "COPY_COUNT", "value": 1},
                "waitIntervalInSeconds": 305,
                "maximumExecutionTimeoutInSeconds": 3603,
                "rollbackMaximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 34},
            },
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "fields-llm-5xx"}]},
        },
        "autoscaling": COMPONENT_SCALING,
    }
    scorer = {
        "name": "fields-scorer",
        "variant": "shared",
        "model": {"packageGroup": "churn-xgb", "version": 2, "inferenceSpecificationName": "gpu"},
        "compute": {"cpuCores": 1, "minMemoryMb": 1024},
        "copies": 2,
    }
    tarball = {
        "name": "fields-tar",
        "variant": "shared",
        "model": {"image": IMAGE, "modelDataUrl": "s3://models/tar/model.tar.gz"},
        "compute": {"cpuCores": 1, "minMemoryMb": 1024},
    }
    spec = {
        "vpcConfig": VPC,
        "variants": [variant],
        "inferenceComponents": [gated, scorer, tarball],
    }
    return spec


def sinks() -> dict[str, dict[str, Any]]:
    """Endpoint name -> spec (without executionRoleArn): every field set at least once."""
    return {
        "fields-a": {
            **SPEC,
            "variants": [{**multi_model("main", "a"), "autoscaling": VARIANT_SCALING}],
            "shadowVariants": [registry("shadow", "a")],
            "deployment": CANARY,
        },
        "fields-b": {
            **SPEC,
            "variants": [registry("main", "b")],
            "shadowVariants": [pipeline("shadow", "b")],
            "deployment": ROLLING,
            "asyncInference": ASYNC,
        },
        "fields-c": {
            "variants": [pipeline("main", "c"), serverless("small", "c")],
            "vpcConfig": VPC,
            "deployment": LINEAR,
        },
        "fields-d": {
            "variants": [serverless("main", "d")],
            "shadowVariants": [{**serverless("shadow", "d"), "initialWeight": 0.3}],
        },
        "fields-e": {
            "vpcConfig": VPC,
            "variants": [registry("main", "e")],
            "shadowVariants": [multi_model("shadow", "e")],
        },
        "fields-ic": components(),
    }


def document(name: str, spec: dict[str, Any]) -> str:
    body = {
        "apiVersion": "sagemaker-gitops/v1",
        "kind": "Endpoint",
        "metadata": {"name": name},
        "spec": {"executionRoleArn": ROLE, **spec},
    }
    return yaml.safe_dump(body, sort_keys=False)


# -- reading values back ---------------------------------------------------------------------------


def values_at(tree: Any, path: list[str]) -> Iterator[Any]:
    """Every value at a leaf path (`a[].b`) in a manifest's spec."""
    if not path:
        yield tree
        return
    head, rest = path[0], path[1:]
    listed = head.endswith("[]")
    value = tree.get(head.removesuffix("[]")) if isinstance(tree, dict) else None
    if value is None:
        return
    for item in value if listed else [value]:
        yield from values_at(item, rest)


def pairs(tree: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) anywhere in a request."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield key, value
            yield from pairs(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from pairs(item)


def matches(leaf: str) -> Callable[[Any, Any], bool]:
    """How a manifest value is found in the request: equal, with three exceptions."""
    if leaf.endswith(".packageGroup"):
        return lambda want, got: isinstance(got, str) and f"/{want}/" in got
    if leaf.endswith(".version"):
        return lambda want, got: isinstance(got, str) and got.endswith(f"/{want}")
    if leaf.endswith("].name") and "autoscaling" in leaf:
        return lambda want, got: isinstance(got, str) and got.endswith(str(want))
    if leaf in ("variants[].model.environment", "tags"):
        return lambda want, got: True  # checked below: dict and tag list shapes
    return lambda want, got: (
        got == want
        or (isinstance(want, int | float) and isinstance(got, int | float) and got == want)
        or got == pascal(want)
    )


def found(leaf: str, value: Any, requests: list[dict[str, Any]]) -> bool:
    if leaf == "tags":
        sent = {t["Key"]: t["Value"] for r in requests for t in r.get("Tags", [])}
        return value.items() <= sent.items()
    key, match = key_of(leaf), matches(leaf)
    return any(k == key and match(value, v) for r in requests for k, v in pairs(r))


# -- the tests -------------------------------------------------------------------------------------


def refused(leaf: str) -> bool:
    return any(leaf.startswith(prefix) for prefix in REFUSED)


def test_every_manifest_field_has_a_row_and_a_value() -> None:
    fields = leaves(EndpointSpec)
    specs = list(sinks().values())
    no_row = sorted(
        f for f in fields if f not in CONTROLLER_ONLY and not refused(f) and not operation_of(f)
    )
    unset = sorted(
        f
        for f in fields
        if f not in CONTROLLER_ONLY
        and not refused(f)
        and f != "executionRoleArn"
        and not any(True for spec in specs for _ in values_at(spec, f.split(".")))
    )
    assert no_row == [], f"fields with no request to land in: {no_row}"
    assert unset == [], f"fields the kitchen sink never sets: {unset}"
    assert len(fields) > 250  # the walk saw the whole schema, unions and lists included


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "fields-a",
            lambda s: s["shadowVariants"][0].update(
                autoscaling={"minCapacity": 1, "maxCapacity": 2}
            ),
            REFUSED["shadowVariants[].autoscaling."],
        ),
        (
            "fields-a",
            lambda s: s["shadowVariants"][0].update(
                managedInstanceScaling={"minInstanceCount": 1, "maxInstanceCount": 2}
            ),
            REFUSED["shadowVariants[].managedInstanceScaling."],
        ),
        (
            "fields-ic",
            lambda s: s["inferenceComponents"][2]["model"].update(mode="MultiModel"),
            REFUSED["inferenceComponents[].model.mode"],
        ),
        (
            "fields-ic",
            lambda s: s["inferenceComponents"][2]["model"].update(
                multiModelConfig={"modelCacheSetting": "Enabled"}
            ),
            REFUSED["inferenceComponents[].model.multiModelConfig."],
        ),
        (
            "fields-d",
            lambda s: s["variants"][0]["model"].update(
                mode="MultiModel", modelDataUrl="s3://m/", modelDataSource=None
            ),
            "Serverless Inference has no multi-model endpoints",
        ),
        (
            "fields-e",
            lambda s: s.pop("vpcConfig"),
            "repositoryAccessMode Vpc pulls the image through the VPC: set spec.vpcConfig",
        ),
        (
            "fields-d",
            lambda s: s["variants"][0]["model"]["modelDataSource"]["s3DataSource"].update(
                modelAccessConfig={"acceptEula": False}
            ),
            "acceptEula must be true",
        ),
    ],
)
def test_a_field_a_shape_cannot_honour_is_refused_by_validate(
    world: World, name: str, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    spec = sinks()[name]
    change(spec)
    if name == "fields-d":  # a None left by the change means "unset"
        model = spec["variants"][0]["model"]
        spec["variants"][0]["model"] = {k: v for k, v in model.items() if v is not None}
    world.write(f"{name}.yaml", document(name, spec))

    result = world.cli("validate", str(world.root))

    assert result.code == 1
    assert f"{name}.yaml:" in result.err and message in result.err, result.err


def test_every_field_reaches_its_request_in_every_shape(world: World) -> None:
    specs = sinks()
    for name, spec in specs.items():
        world.write(f"{name}.yaml", document(name, spec))
    created = world.apply()
    assert created.code == 0, created.err[-3000:]
    # A rollout of every endpoint (and of the gated component), so the deployment policies
    # reach UpdateEndpoint and UpdateInferenceComponent.
    for name, spec in specs.items():
        first = spec["variants"][0]
        if "model" in first:
            model = first["model"]
            (model["containers"][0] if "containers" in model else model)["environment"] = {
                "SINK": "rolled"
            }
        else:
            spec["inferenceComponents"][0]["model"]["environment"] = {"SINK": "rolled"}
        world.write(f"{name}.yaml", document(name, spec))
    rolled = world.apply()
    assert rolled.code == 0, rolled.err[-3000:]

    recorded = {op: world.recorded(op) for op in {op for _, op in OPERATIONS}}
    missing = []
    for leaf in sorted(leaves(EndpointSpec)):
        op = operation_of(leaf)
        if op is None or leaf in CONTROLLER_ONLY or refused(leaf):
            continue
        wanted = [v for spec in specs.values() for v in values_at(spec, leaf.split("."))]
        if leaf == "executionRoleArn":
            wanted = [ROLE]
        for value in wanted:
            if not found(leaf, value, recorded[op]):
                missing.append(f"{leaf} = {value!r} not in any {op} (as {key_of(leaf)})")
    assert missing == [], "\n".join(missing)
    assert world.mutations_during(lambda: world.apply()) == {}
    # The botocore model: every member of every structure these requests reach is set by some
    # manifest field, or docs/hosting.md says why not. A botocore upgrade that adds a member
    # fails here until it is supported or listed.
    not_covered, listed_but_sent = uncovered(recorded)
    assert not_covered == [], (
        f"botocore members neither in a request nor in the docs: {not_covered}"
    )
    assert listed_but_sent == [], f"listed as not supported, but sent: {listed_but_sent}"


# -- the botocore model's members ----------------------------------------------------------------

# Operation -> (service, input shape) of the requests the controller builds.
INPUTS = {
    "CreateModel": ("sagemaker", "CreateModelInput"),
    "CreateEndpointConfig": ("sagemaker", "CreateEndpointConfigInput"),
    "CreateEndpoint": ("sagemaker", "CreateEndpointInput"),
    "UpdateEndpoint": ("sagemaker", "UpdateEndpointInput"),
    "CreateInferenceComponent": ("sagemaker", "CreateInferenceComponentInput"),
    "UpdateInferenceComponent": ("sagemaker", "UpdateInferenceComponentInput"),
    "RegisterScalableTarget": ("application-autoscaling", "RegisterScalableTargetRequest"),
    "PutScalingPolicy": ("application-autoscaling", "PutScalingPolicyRequest"),
    "PutScheduledAction": ("application-autoscaling", "PutScheduledActionRequest"),
}
HOSTING_DOC = Path(__file__).resolve().parents[2] / "docs" / "hosting.md"


def _walk(shapes: dict[str, Any], name: str, value: Any, seen: dict[str, set[str]]) -> None:
    """Record which members of each structure shape `value` sets, recursively."""
    shape = shapes[name]
    if shape["type"] == "structure" and isinstance(value, dict):
        members = seen.setdefault(name, set())
        for key, item in value.items():
            members.add(key)
            if key in shape["members"]:
                _walk(shapes, shape["members"][key]["shape"], item, seen)
    elif shape["type"] == "list" and isinstance(value, list):
        for item in value:
            _walk(shapes, shape["member"]["shape"], item, seen)


def unsupported_in_docs() -> set[str]:
    """`Shape.Member` names listed under "Not supported, and why" in docs/hosting.md."""
    text = HOSTING_DOC.read_text()
    section = text.split("## Not supported, and why", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Za-z0-9]+\.[A-Z][A-Za-z0-9]+)`", section))


def uncovered(recorded: dict[str, list[dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """(members of every structure the requests reach that nothing sets and the docs do not
    list, listed members that are sent after all)."""
    from controller.manifests.botocore_model import live_shapes

    listed, missing, stale = unsupported_in_docs(), [], []
    for op, (service, shape) in INPUTS.items():
        shapes = live_shapes(service)
        seen: dict[str, set[str]] = {}
        for request in recorded.get(op, []):
            _walk(shapes, shape, request, seen)
        for structure, members in seen.items():
            for member in shapes[structure]["members"]:
                name = f"{structure}.{member}"
                if member not in members and name not in listed:
                    missing.append(name)
                if member in members and name in listed:
                    stale.append(name)
    return sorted(set(missing)), sorted(set(stale))


EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


def test_the_gated_llm_and_multi_model_examples_deploy_as_written(world: World) -> None:
    for name in ("gated-llm-components.yaml", "multi-model.yaml"):
        world.write(name, (EXAMPLES / name).read_text())

    plan = world.plan()
    applied = world.apply()

    assert applied.code == 0, applied.err[-2000:]
    license_note = "accepts the end-user license of the model data (modelAccessConfig.acceptEula)"
    assert f"{license_note} of inferenceComponents[llama-3-8b-chat].model" in plan.out
    models = {m["ModelName"]: m for m in world.recorded("CreateModel")}
    [llama] = [m for n, m in models.items() if n.startswith("llama-chat-llama-3-8b-chat-")]
    source = llama["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]
    assert source["ModelAccessConfig"] == {"AcceptEula": True}
    assert llama["EnableNetworkIsolation"] is True and "VpcConfig" in llama
    [scoring] = [m for n, m in models.items() if n.startswith("per-customer-scoring-main-")]
    assert scoring["PrimaryContainer"]["Mode"] == "MultiModel"
    assert scoring["PrimaryContainer"]["ImageConfig"]["RepositoryAccessMode"] == "Vpc"
    assert world.mutations_during(lambda: world.apply()) == {}


def test_managed_instance_scaling_can_be_disabled_and_the_count_is_then_reconciled(
    world: World,
) -> None:
    spec = components()
    spec["inferenceComponents"] = spec["inferenceComponents"][1:]  # no autoscaled component
    spec["variants"][0]["managedInstanceScaling"] = {"status": "DISABLED"}
    world.write("fields-ic.yaml", document("fields-ic", spec))
    assert world.apply().code == 0
    spec["variants"][0]["initialInstanceCount"] = 2
    world.write("fields-ic.yaml", document("fields-ic", spec))

    changed = world.mutations_during(lambda: world.apply())

    [config] = world.recorded("CreateEndpointConfig")
    assert config["ProductionVariants"][0]["ManagedInstanceScaling"] == {"Status": "DISABLED"}
    # SageMaker does not scale this variant: the manifest's count is applied in place.
    assert changed.get("UpdateEndpointWeightsAndCapacities") == 1  # and the spec-hash tag
    assert "UpdateEndpoint" not in changed
    [variant] = world.endpoint("fields-ic")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 2
