"""Validate the kustomize base in deploy/kubernetes without a cluster or a template engine.

Checks, each returning problems as ``file: message`` strings:

- every document against the Kubernetes OpenAPI schemas that kubernetes-validate ships (strict:
  unknown fields are errors). Kinds it has no schema for (CRDs such as the Prometheus Operator's
  ServiceMonitor) are reported as skipped, and the ServiceMonitor is instead checked against the
  Service it must select;
- kustomization.yaml lists exactly the manifests in its folder;
- the Deployment's arguments, with ``$(VAR)`` expanded from the ConfigMap as the kubelet does,
  parse with the real ``sagemaker-gitops`` argument parser, so a renamed flag fails here first.

Run: ``python -m tools.k8s_validate deploy/kubernetes`` (part of ``make lint-ship``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUSTOMIZATION = "kustomization.yaml"
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass(frozen=True)
class Document:
    path: Path
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))


def load(folder: Path) -> list[Document]:
    """Every YAML document of the base, kustomization.yaml excluded."""
    docs = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == KUSTOMIZATION:
            continue
        for body in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if body:
                docs.append(Document(path, body))
    return docs


def kustomization(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / KUSTOMIZATION).read_text(encoding="utf-8"))
    return data


def check_schemas(docs: Sequence[Document]) -> tuple[list[str], list[str]]:
    """(problems, skipped): strict validation against the newest bundled Kubernetes version."""
    version = kubernetes_validate.latest_version()
    problems, skipped = [], []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc.body, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            skipped.append(f"{doc.path}: no bundled schema for {doc.kind} (a CRD)")
        except kubernetes_validate.ValidationError as e:
            where = "/".join(str(p) for p in e.path)
            problems.append(f"{doc.path}: {doc.kind} {where}: {e.message}")
    return problems, skipped


def check_kustomization(folder: Path) -> list[str]:
    """The base lists every manifest in its folder, and only those."""
    listed = set(kustomization(folder).get("resources", []))
    present = {p.name for p in folder.glob("*.yaml")} - {KUSTOMIZATION}
    problems = [
        f"{folder / KUSTOMIZATION}: lists missing file {n}" for n in sorted(listed - present)
    ]
    problems += [f"{folder / n}: not listed in {KUSTOMIZATION}" for n in sorted(present - listed)]
    return problems


def _one(docs: Sequence[Document], kind: str) -> Document:
    found = [d for d in docs if d.kind == kind]
    if len(found) != 1:
        raise LookupError(f"expected one {kind}, found {len(found)}")
    return found[0]


def _common_labels(folder: Path) -> dict[str, str]:
    labels: dict[str, str] = {}
    for entry in kustomization(folder).get("labels", []):
        labels.update(entry.get("pairs", {}))
    return labels


def check_service_monitor(folder: Path, docs: Sequence[Document]) -> list[str]:
    """The ServiceMonitor selects the Service (with kustomize's labels) and names its port."""
    monitor, service = _one(docs, "ServiceMonitor"), _one(docs, "Service")
    labels = {**_common_labels(folder), **service.body["metadata"].get("labels", {})}
    wanted = monitor.body["spec"]["selector"].get("matchLabels", {})
    problems = [
        f"{monitor.path}: selector {key}={value} does not match the Service's labels"
        for key, value in wanted.items()
        if labels.get(key) != value
    ]
    ports = {p.get("name") for p in service.body["spec"]["ports"]}
    for endpoint in monitor.body["spec"]["endpoints"]:
        if endpoint.get("port") not in ports:
            problems.append(f"{monitor.path}: port {endpoint.get('port')!r} not on the Service")
    return problems


def container_args(docs: Sequence[Document]) -> tuple[Document, list[str]]:
    """The controller container's arguments with $(VAR) expanded from the ConfigMap and env."""
    deployment, config = _one(docs, "Deployment"), _one(docs, "ConfigMap")
    container = deployment.body["spec"]["template"]["spec"]["containers"][0]
    env = dict(config.body.get("data", {}))
    env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
    return deployment, [_VAR.sub(lambda m: env.get(m[1], m[0]), a) for a in container["args"]]


def check_arguments(docs: Sequence[Document]) -> list[str]:
    """The arguments parse with the CLI's own parser and every $(VAR) resolves."""
    from controller.cli import build_parser

    deployment, args = container_args(docs)
    problems = [
        f"{deployment.path}: argument {a!r}: $({m}) is not in the ConfigMap or env"
        for a in args
        for m in _VAR.findall(a)
    ]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            build_parser().parse_args(args)
        except SystemExit:
            message = stderr.getvalue().strip().splitlines()[-1]
            problems.append(f"{deployment.path}: args do not parse: {message}")
    return problems


def check(folder: Path) -> Iterator[str]:
    """Every problem in the base; skipped kinds are printed by main, not returned."""
    docs = load(folder)
    yield from check_schemas(docs)[0]
    yield from check_kustomization(folder)
    yield from check_service_monitor(folder, docs)
    yield from check_arguments(docs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.k8s_validate")
    parser.add_argument("folder", type=Path, help="a kustomize base of plain manifests")
    folder: Path = parser.parse_args(argv).folder
    for note in check_schemas(load(folder))[1]:
        print(f"skipped: {note}; checked against the Service instead")
    problems = list(check(folder))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"{folder}: valid (Kubernetes {kubernetes_validate.latest_version()} schemas)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
