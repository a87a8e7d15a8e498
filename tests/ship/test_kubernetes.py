"""deploy/kubernetes validates against the Kubernetes schemas and agrees with the CLI and itself."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from ship_helpers import REPO

pytest.importorskip("kubernetes_validate", reason="pip install -e '.[test]' installs it")
from tools import k8s_validate

BASE = REPO / "deploy" / "kubernetes"


def _docs() -> list[k8s_validate.Document]:
    return k8s_validate.load(BASE)


def _kind(kind: str) -> dict[str, Any]:
    return next(d.body for d in _docs() if d.kind == kind)


def test_every_document_matches_the_kubernetes_schemas() -> None:
    problems, skipped = k8s_validate.check_schemas(_docs())
    assert problems == []
    # Only the Prometheus Operator CRD has no bundled schema; it is checked against the Service.
    assert [s.split(":")[0] for s in skipped] == [str(BASE / "servicemonitor.yaml")]


def test_schema_validation_is_strict() -> None:
    deployment = next(d for d in _docs() if d.kind == "Deployment")
    body = copy.deepcopy(deployment.body)
    body["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    problems, _ = k8s_validate.check_schemas([k8s_validate.Document(deployment.path, body)])
    assert len(problems) == 1 and "readinesProbe" in problems[0]


def test_kustomization_lists_every_manifest() -> None:
    assert k8s_validate.check_kustomization(BASE) == []


def test_service_monitor_selects_the_service_port() -> None:
    assert k8s_validate.check_service_monitor(BASE, _docs()) == []


def test_container_arguments_parse_with_the_real_cli() -> None:
    assert k8s_validate.check_arguments(_docs()) == []
    _, args = k8s_validate.container_args(_docs())
    assert args[args.index("run") :][:2] == [
        "run",
        "--repo=git@github.com:example/ml-endpoints.git",
    ]
    assert "--http-host=0.0.0.0" in args
    assert any(a.startswith("--lease-table=sagemaker-gitops-") for a in args)


def test_a_renamed_flag_fails_the_argument_check(tmp_path: Path) -> None:
    for path in BASE.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (tmp_path / path.name).write_text(text.replace("--lease-table=", "--lease-tabel="))
    problems = k8s_validate.check_arguments(k8s_validate.load(tmp_path))
    assert len(problems) == 1 and "--lease-tabel" in problems[0]


def test_ha_probes_and_hardening() -> None:
    deployment = _kind("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    # Every writable path is an emptyDir: the checkout and /tmp.
    mounts = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert mounts == {"/var/lib/sagemaker-gitops", "/tmp"}
    assert "--workdir=/var/lib/sagemaker-gitops" in container["args"]
    # The drain budget leaves the standby running.
    assert _kind("PodDisruptionBudget")["spec"]["minAvailable"] == 1
    # IRSA: the role comes from the ServiceAccount the pod runs as.
    account = _kind("ServiceAccount")
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]


def test_grace_period_covers_the_shutdown_timeout() -> None:
    pod = _kind("Deployment")["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    given = [float(a.split("=", 1)[1]) for a in args if a.startswith("--shutdown-timeout=")]
    from controller.cli import build_parser

    default = build_parser().parse_args(["run", "-m", "."]).shutdown_timeout
    assert pod["terminationGracePeriodSeconds"] > (given[0] if given else default)


def test_resource_requests_cover_the_benchmark_rss() -> None:
    # docs/benchmarks.md: 103 MiB RSS at 1,000 endpoints after a full resync.
    resources = _kind("Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]
    mebibytes = {k: int(v["memory"].removesuffix("Mi")) for k, v in resources.items()}
    assert mebibytes["requests"] >= 103
    assert mebibytes["limits"] >= 2 * 103


def test_documents_are_plain_yaml() -> None:
    # No template syntax: what is committed is what kubectl applies.
    for path in BASE.glob("*.yaml"):
        assert "{{" not in path.read_text(encoding="utf-8"), path
        assert list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def test_the_sharded_overlay_patches_a_valid_deployment() -> None:
    overlay = BASE / "sharded"
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["resources"] == ["../"]
    (patch,) = kustomization["patches"]
    assert patch["target"]["kind"] == "Deployment"
    docs = _docs()
    deployment = next(d for d in docs if d.kind == "Deployment")
    body = copy.deepcopy(deployment.body)
    for op in yaml.safe_load((overlay / patch["path"]).read_text(encoding="utf-8")):
        *parents, last = op["path"].strip("/").split("/")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if op["op"] == "add" and last == "-":
            node.append(op["value"])
        else:
            assert op["op"] == "replace" and last in node
            node[last] = op["value"]
    patched = [
        k8s_validate.Document(deployment.path, body),
        *(d for d in docs if d.kind != "Deployment"),
    ]
    assert k8s_validate.check_schemas(patched)[0] == []
    assert k8s_validate.check_arguments(patched) == []
    _, args = k8s_validate.container_args(patched)
    assert body["spec"]["replicas"] == 3 and args[-1] == "--shard-by=location"
    assert any(a.startswith("--lease-table=") for a in args)  # the shard leases live there
