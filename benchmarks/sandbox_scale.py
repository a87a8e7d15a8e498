"""How the sandbox copes with 1,000 and 3,000 endpoints: prints its own figures, asserts nothing.

Run: `.venv/bin/python benchmarks/sandbox_scale.py [COUNT ...]` (default: 1000 3000). For each
COUNT it creates COUNT endpoints (each with its own model and config, all tagged as one
controller's), then times the reads a controller's pass makes: ListEndpoints (all pages, and
the change-detection query with LastModifiedTimeAfter), one GetResources sweep and
DescribeEndpoint per endpoint. The per-page GetResources cost at the start and the end of the
sweep shows whether paging is linear (equal) or quadratic (the last pages slower). Other
benchmarks use the sandbox as their AWS; these numbers say how much of their time it takes.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from controller.sandbox import Sandbox

OWNER = {"Key": "sagemaker-gitops/managed-by", "Value": "bench"}
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    try:
        result = action()
    except Exception as error:  # a "before" build may not serve a call at all: say so
        print(f"{label:<52} failed: {type(error).__name__}: {str(error)[:60]}")
        return None
    print(f"{label:<52} {time.perf_counter() - started:8.3f} s")
    return result


def create_one(sm: Any, i: int) -> None:
    name = f"ep-{i:04d}"
    sm.create_model(
        ModelName=f"{name}-m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
        Tags=[OWNER],
    )
    variant = {
        "VariantName": "primary",
        "ModelName": f"{name}-m",
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 1,
    }
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-c", ProductionVariants=[variant], Tags=[OWNER]
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-c", Tags=[OWNER])


def create(sm: Any, count: int) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: create_one(sm, i), range(count)))


def list_all(sm: Any, **filters: Any) -> int:
    pages = sm.get_paginator("list_endpoints").paginate(
        PaginationConfig={"PageSize": 100}, **filters
    )
    return sum(len(page["Endpoints"]) for page in pages)


def owned(tagging: Any) -> tuple[int, list[float]]:
    """Resources found, and the wall time of each page."""
    filters = [{"Key": OWNER["Key"], "Values": [OWNER["Value"]]}]
    found, times, token = 0, [], ""
    for _ in range(10_000):  # bounded: at most 1,000,000 resources
        started = time.perf_counter()
        page = tagging.get_resources(
            TagFilters=filters, ResourcesPerPage=100, PaginationToken=token
        )
        times.append(time.perf_counter() - started)
        found += len(page["ResourceTagMappingList"])
        token = page.get("PaginationToken") or ""
        if not token:
            break
    return found, times


def per_call_ms(sm: Any, count: int) -> tuple[float, float]:
    single: list[float] = []
    for i in range(0, count, max(1, count // 200)):
        started = time.perf_counter()
        sm.describe_endpoint(EndpointName=f"ep-{i:04d}")
        single.append(time.perf_counter() - started)
    single.sort()
    return statistics.median(single) * 1000, single[int(len(single) * 0.95)] * 1000


def run(count: int) -> None:
    print(f"--- {count} endpoints ---")
    started = time.perf_counter()
    with Sandbox() as sandbox:
        print(f"{'start sandbox':<52} {time.perf_counter() - started:8.3f} s")
        kwargs: dict[str, Any] = {
            "endpoint_url": sandbox.url,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "config": Config(max_pool_connections=8),
        }
        sm = boto3.client("sagemaker", **kwargs)
        tagging = boto3.client("resourcegroupstaggingapi", **kwargs)
        timed(f"create {count} models+configs+endpoints (4 threads)", lambda: create(sm, count))
        since = datetime.now(UTC)
        sm.update_endpoint_weights_and_capacities(
            EndpointName="ep-0000",
            DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 2.0}],
        )
        listed = timed("ListEndpoints, all pages (100/page)", lambda: list_all(sm))
        changed = timed(
            "ListEndpoints LastModifiedTimeAfter (1 changed)",
            lambda: list_all(sm, LastModifiedTimeAfter=since),
        )
        sweep = timed("GetResources managed-by, all pages (100/page)", lambda: owned(tagging))
        if sweep is not None:
            pages = sweep[1]
            head, tail = pages[: max(1, len(pages) // 10)], pages[-max(1, len(pages) // 10) :]
            print(
                f"{'GetResources per page, first / last tenth':<52} "
                f"{statistics.mean(head) * 1000:6.1f} ms / {statistics.mean(tail) * 1000:.1f} ms"
            )
        timed(
            f"DescribeEndpoint x{count}",
            lambda: [sm.describe_endpoint(EndpointName=f"ep-{i:04d}") for i in range(count)],
        )
        median, p95 = per_call_ms(sm, count)
        print(f"{'DescribeEndpoint median / p95':<52} {median:6.1f} ms / {p95:.1f} ms")
        print(
            f"listed {listed} endpoints, {changed} changed, "
            f"GetResources found {sweep[0] if sweep else '-'} owned resources"
        )


def main(counts: list[int]) -> None:
    for count in counts:
        run(count)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 3000])
