"""End-to-end fixtures: the real CLI against a sandbox on a free loopback port.

The CLI runs in-process (`controller.cli.main`) so a test costs milliseconds, with the sandbox's
endpoint and dummy credentials in the environment exactly as a user would set them; a few tests
also run it as a subprocess to check exit codes and output as a shell sees them.
"""

from __future__ import annotations

import json
import os
import textwrap
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from controller.cli import main

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
MUTATING_PREFIXES = ("Create", "Update", "Delete", "Add", "Put", "Register", "Deregister")


@dataclass
class Result:
    code: int
    out: str
    err: str


class World:
    """A sandbox, a manifest directory and the CLI, with helpers to inspect the account."""

    def __init__(self, sandbox: Any, root: Path, capsys: Any) -> None:
        self.sandbox = sandbox
        self.root = root
        self._capsys = capsys
        self.sm = boto3.client(
            "sagemaker",
            endpoint_url=sandbox.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def sandbox_client(self, service: str) -> Any:
        """A boto3 client for another service the sandbox serves (Application Auto Scaling)."""
        return boto3.client(
            service,
            endpoint_url=self.sandbox.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    def cli(self, *argv: str) -> Result:
        self._capsys.readouterr()
        code = main(list(argv))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def plan(self, *extra: str) -> Result:
        return self.cli("plan", "-m", str(self.root), *extra)

    def apply(self, *extra: str) -> Result:
        return self.cli("apply", "-m", str(self.root), "--poll-interval", "0.05", *extra)

    def calls(self) -> dict[str, int]:
        return dict(self.sandbox.calls())

    def calls_during(self, fn: Any) -> dict[str, int]:
        """Every operation the sandbox served while `fn` ran, by name."""
        before = self.calls()
        fn()
        return {
            op: n - before.get(op, 0) for op, n in self.calls().items() if n != before.get(op, 0)
        }

    def recorded(self, operation: str) -> list[dict[str, Any]]:
        """Parameters of the `operation` requests the sandbox served (GET /_sandbox/requests)."""
        url = f"{self.sandbox.url}/_sandbox/requests?operation={operation}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            requests: list[dict[str, Any]] = json.loads(reply.read())["requests"][operation]
        return requests

    def mutations_during(self, fn: Any) -> dict[str, int]:
        """The mutating operations the sandbox served while `fn` ran."""
        before = self.calls()
        fn()
        after = self.calls()
        return {
            op: n - before.get(op, 0)
            for op, n in after.items()
            if op.startswith(MUTATING_PREFIXES) and n - before.get(op, 0)
        }

    def endpoint(self, name: str) -> dict[str, Any]:
        return dict(self.sm.describe_endpoint(EndpointName=name))

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.sm.list_tags(ResourceArn=arn)["Tags"]}

    def names(self, kind: str) -> list[str]:
        if kind == "model":
            return sorted(m["ModelName"] for m in self.sm.list_models(MaxResults=100)["Models"])
        if kind == "config":
            configs = self.sm.list_endpoint_configs(MaxResults=100)["EndpointConfigs"]
            return sorted(c["EndpointConfigName"] for c in configs)
        return sorted(
            e["EndpointName"] for e in self.sm.list_endpoints(MaxResults=100)["Endpoints"]
        )


@contextmanager
def sandbox_world(
    tmp_path: Path, capsys: Any, monkeypatch: Any, seed: Any, **options: Any
) -> Iterator[World]:
    """A sandbox of its own with `seed` (endpoints change state at once), the CLI's
    environment pointed at it and nothing else of AWS's, and an empty manifest directory."""
    from controller.sandbox import Sandbox

    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    with Sandbox(transition_seconds=0.0, seed=seed, **options) as sandbox:
        for key, value in sandbox.env().items():
            monkeypatch.setenv(key, value)
        root = tmp_path / "manifests"
        root.mkdir()
        yield World(sandbox, root, capsys)


@pytest.fixture
def world(seeded_sandbox: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> Iterator[World]:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in seeded_sandbox.env().items():
        monkeypatch.setenv(key, value)
    root = tmp_path / "manifests"
    root.mkdir()
    yield World(seeded_sandbox, root, capsys)


def header(name: str) -> str:
    """A manifest's first lines, up to its `variants:` key (unindented, for f-strings)."""
    return f"""apiVersion: sagemaker-gitops/v1
kind: Endpoint
metadata:
  name: {name}
spec:
  executionRoleArn: {ROLE}
  variants:"""


def registry_manifest(
    name: str = "churn",
    version: int = 1,
    group: str = "churn-xgb",
    extra_spec: str = "",
    variant_extra: str = "",
) -> str:
    return f"""
        apiVersion: sagemaker-gitops/v1
        kind: Endpoint
        metadata:
          name: {name}
          labels: {{env: test}}
        spec:
          executionRoleArn: {ROLE}
          variants:
            - name: primary
              model: {{packageGroup: {group}, version: {version}}}
              instanceType: ml.m5.xlarge
              initialInstanceCount: 1{variant_extra}
        {extra_spec}
        """


def byom_manifest(name: str = "kmeans", env: str = "LOG_LEVEL: info", weight: float = 1) -> str:
    return f"""
        apiVersion: sagemaker-gitops/v1
        kind: Endpoint
        metadata:
          name: {name}
        spec:
          executionRoleArn: {ROLE}
          variants:
            - name: main
              model:
                image: {IMAGE}
                modelDataUrl: s3://models/kmeans/model.tar.gz
                environment: {{{env}}}
              serverless: {{memorySizeInMB: 2048, maxConcurrency: 5}}
              initialWeight: {weight}
        """
