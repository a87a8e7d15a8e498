"""How the sandbox copes with 1,000 endpoints: prints timings, asserts nothing.

Run: `.venv/bin/python benchmarks/sandbox_scale.py [COUNT]`. Creates COUNT endpoints (each with
its own model and config, all tagged as one controller's), then times the reads a controller's
no-op pass makes: ListEndpoints (all pages), DescribeEndpoint, one GetResources sweep.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3

from controller.sandbox import Sandbox

OWNER = {"Key": "sagemaker-gitops/managed-by", "Value": "bench"}


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"{label:<48} {time.perf_counter() - started:8.3f} s")
    return result


def create(sm: Any, count: int) -> None:
    for i in range(count):
        name = f"ep-{i:04d}"
        sm.create_model(
            ModelName=f"{name}-m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
            Tags=[OWNER],
        )
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-c",
            ProductionVariants=[
                {
                    "VariantName": "primary",
                    "ModelName": f"{name}-m",
                    "InstanceType": "ml.m5.xlarge",
                    "InitialInstanceCount": 1,
                }
            ],
            Tags=[OWNER],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c", Tags=[OWNER])


def list_all(sm: Any) -> int:
    pages = sm.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100})
    return sum(len(page["Endpoints"]) for page in pages)


def owned(tagging: Any) -> int:
    filters = [{"Key": OWNER["Key"], "Values": [OWNER["Value"]]}]
    pages = tagging.get_paginator("get_resources").paginate(
        TagFilters=filters, ResourcesPerPage=100
    )
    return sum(len(page["ResourceTagMappingList"]) for page in pages)


def main(count: int) -> None:
    started = time.perf_counter()
    with Sandbox() as sandbox:
        print(f"{'start sandbox':<48} {time.perf_counter() - started:8.3f} s")
        kwargs: dict[str, Any] = {
            "endpoint_url": sandbox.url,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        sm = boto3.client("sagemaker", **kwargs)
        tagging = boto3.client("resourcegroupstaggingapi", **kwargs)
        timed(f"create {count} models+configs+endpoints", lambda: create(sm, count))
        listed = timed("ListEndpoints, all pages (100/page)", lambda: list_all(sm))
        found = timed("GetResources managed-by, all pages (100/page)", lambda: owned(tagging))
        single: list[float] = []
        for i in range(0, count, max(1, count // 200)):
            t0 = time.perf_counter()
            sm.describe_endpoint(EndpointName=f"ep-{i:04d}")
            single.append(time.perf_counter() - t0)
        timed(
            f"DescribeEndpoint x{count}",
            lambda: [sm.describe_endpoint(EndpointName=f"ep-{i:04d}") for i in range(count)],
        )
        print(
            f"{'DescribeEndpoint median / p95':<48} {statistics.median(single) * 1000:6.1f} ms "
            f"/ {sorted(single)[int(len(single) * 0.95)] * 1000:.1f} ms"
        )
        print(f"listed {listed} endpoints, GetResources found {found} owned resources")
        print(f"calls: {sum(v for v in sandbox.calls().values())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
