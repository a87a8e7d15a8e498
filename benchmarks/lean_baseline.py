"""THE LEAN BASELINE: the fewest calls a sequential boto3 script needs to check a fleet.

A second baseline beside `baseline.py`, for the cold `plan` ratio (issue 24): what an engineer
who has already optimised writes. One ListModelPackages per group (cached across endpoints), then
per endpoint DescribeEndpoint, DescribeEndpointConfig and DescribeModel per variant, compared
with the manifest. No tags, no ownership, no autoscaling: it flatters the script, not us. At two
variants and five endpoints per group it makes 4.2 calls per endpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def plan(sm: Any, root: Path) -> dict[str, str]:
    """Endpoint name -> "in sync" / "changed" / "missing", one call at a time."""
    versions: dict[str, dict[int, str]] = {}  # group -> version -> package ARN
    verdicts: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        verdicts[manifest["metadata"]["name"]] = _plan_one(sm, manifest, versions)
    return verdicts


def _plan_one(sm: Any, manifest: dict[str, Any], versions: dict[str, dict[int, str]]) -> str:
    wanted = {}
    for variant in manifest["spec"]["variants"]:
        group, version = variant["model"]["packageGroup"], variant["model"]["version"]
        if group not in versions:
            listed = sm.list_model_packages(ModelPackageGroupName=group, MaxResults=100)
            versions[group] = {
                p["ModelPackageVersion"]: p["ModelPackageArn"]
                for p in listed["ModelPackageSummaryList"]
            }
        wanted[variant["name"]] = versions[group].get(version)
    try:
        endpoint = sm.describe_endpoint(EndpointName=manifest["metadata"]["name"])
    except sm.exceptions.ClientError:
        return "missing"
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    live = {}
    for variant in config["ProductionVariants"]:
        model = sm.describe_model(ModelName=variant["ModelName"])
        container = (model.get("Containers") or [model.get("PrimaryContainer", {})])[0]
        live[variant["VariantName"]] = container.get("ModelPackageName")
    return "in sync" if live == wanted else "changed"
