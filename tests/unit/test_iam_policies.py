"""The IAM policies in iam/: well-formed, plan's is read-only, the controller's covers its calls.

The coverage check is a static scan of `controller/` (the sandbox and the sandbox-only demo
excluded) for boto3 client calls: ``client.describe_endpoint(...)``, ``get_paginator("...")``,
``get_waiter("...")``, and the calls a plan names for apply, ``Action(call="create_endpoint")``.
Every operation found must be granted by iam/controller-policy.json, so a new call without a
grant fails here instead of with AccessDenied in a user's account.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from controller.aws.iam import (
    grants,
    operation_names,
    operation_to_iam_action,
    statements,
    waiter_operations,
)
from controller.errors import ControllerError

REPO = Path(__file__).resolve().parents[2]
CONTROLLER = REPO / "controller"
EXCLUDED = (
    CONTROLLER / "sandbox",
    CONTROLLER / "commands" / "demo" / "flow.py",
    CONTROLLER / "commands" / "demo" / "promoting.py",  # registers a version in the sandbox
)
SERVICES = (
    "sagemaker",
    "resourcegroupstaggingapi",
    "sts",
    "dynamodb",
    "application-autoscaling",
    "cloudwatch",
)
READ_PREFIXES = ("Describe", "List", "Get")
# Operation names that are also methods of everyday Python objects (`pattern.search(...)`); they
# count only when called on something that looks like a client.
_PYTHON_METHODS = {
    m for kind in (str, bytes, dict, list, set, re.Pattern, re.Match, Path) for m in dir(kind)
}
_CLIENTISH = re.compile(r"client|sagemaker|\bsm\b|tagging|dynamodb|sts|autoscaling|cloudwatch")


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REPO / "iam" / name).read_text())
    return document


def _actions(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in statements(document):
        action = statement["Action"]
        found.extend(action if isinstance(action, list) else [action])
    return found


@pytest.mark.parametrize("name", ["plan-readonly-policy.json", "controller-policy.json"])
def test_valid_policy_document(name: str) -> None:
    document = _load(name)
    assert document["Version"] == "2012-10-17"
    sids = [s.get("Sid") for s in statements(document)]
    assert len(sids) == len(set(sids)), "statement ids must be unique"
    for statement in statements(document):
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert statement["Effect"] == "Allow"
        assert statement["Resource"], "every statement names its resources"
        for action in _actions({"Statement": [statement]}):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"no wildcards: {action}"
        for condition in statement.get("Condition", {}).values():
            assert isinstance(condition, dict) and condition


def test_plan_policy_is_read_only() -> None:
    for action in _actions(_load("plan-readonly-policy.json")):
        assert action.split(":", 1)[1].startswith(READ_PREFIXES), action


def test_plan_policy_is_contained_in_controller_policy() -> None:
    controller = _load("controller-policy.json")
    for action in _actions(_load("plan-readonly-policy.json")):
        assert grants(controller, action), action


def test_mutations_are_conditioned_on_ownership_tags() -> None:
    for statement in statements(_load("controller-policy.json")):
        actions = _actions({"Statement": [statement]})
        writes = [
            a
            for a in actions
            if a.startswith("sagemaker:") and not a.split(":")[1].startswith(READ_PREFIXES)
        ]
        if writes == ["sagemaker:UpdateModelPackage"]:
            # The one write outside what the controller owns: a stage's verdict on a registry
            # version (verify --record), allowed only as a ModelLifeCycle change.
            assert statement["Condition"] == {"Null": {"sagemaker:ModelLifeCycle:stage": "false"}}
            continue
        if writes:
            keys = {k for c in statement["Condition"].values() for k in c}
            assert keys & {
                "aws:ResourceTag/sagemaker-gitops/managed-by",
                "aws:RequestTag/sagemaker-gitops/managed-by",
            }, statement["Sid"]


def _receiver(call: ast.Call) -> str:
    assert isinstance(call.func, ast.Attribute)
    return ast.unparse(call.func.value)


def _modules(tree: ast.Module) -> set[str]:
    """Names bound by `import x` in a file: `re.search(...)` is never an AWS call."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _called_operations(path: Path) -> set[tuple[str, str]]:
    """(service, operation) for each boto3 call in one file; every service that has the name."""
    tree = ast.parse(path.read_text())
    modules = _modules(tree)
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found.update(_planned_calls(node))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, receiver = node.func.attr, _receiver(node)
        if receiver in modules:
            continue
        if name in ("get_paginator", "get_waiter") and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                for service in SERVICES:
                    waiters = waiter_operations(service) if name == "get_waiter" else {}
                    operation = waiters.get(argument.value, argument.value)
                    if operation in operation_names(service) or operation in waiters.values():
                        found.add((service, operation))
            continue
        if name in _PYTHON_METHODS and not _CLIENTISH.search(receiver):
            continue
        found.update((s, name) for s in SERVICES if name in operation_names(s))
    return found


def _planned_calls(call: ast.Call) -> set[tuple[str, str]]:
    """Operations named in a plan, ``Action(call="create_endpoint", ...)``: apply makes them."""
    found: set[tuple[str, str]] = set()
    for keyword in call.keywords:
        value = keyword.value
        if (
            keyword.arg == "call"
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            found.update((s, value.value) for s in SERVICES if value.value in operation_names(s))
    return found


def controller_calls() -> dict[str, set[tuple[str, str]]]:
    """Operation name -> the (service, file) pairs where it is called."""
    calls: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(CONTROLLER.rglob("*.py")):
        if any(path == e or e in path.parents for e in EXCLUDED):
            continue
        for service, operation in _called_operations(path):
            calls.setdefault(operation, set()).add((service, str(path.relative_to(REPO))))
    return calls


def test_scan_finds_the_known_calls() -> None:
    """Guards the scanner itself: a scan that finds nothing would make the next test vacuous."""
    calls = controller_calls()
    assert {"describe_model_package", "list_model_packages", "get_resources"} <= set(calls)
    assert {"create_endpoint", "update_endpoint"} <= set(calls)  # from Action(call=...)
    assert "search" not in calls or all("risk.py" not in f for _, f in calls["search"])


def test_controller_policy_grants_every_call() -> None:
    controller = _load("controller-policy.json")
    missing = []
    for operation, where in sorted(controller_calls().items()):
        actions = {operation_to_iam_action(service, operation) for service, _ in where}
        # A name several services share (rare) needs a grant from one of them.
        if not any(grants(controller, action) for action in actions):
            files = ", ".join(sorted(f for _, f in where))
            missing.append(f"{' or '.join(sorted(actions))} (called in {files})")
    assert not missing, "iam/controller-policy.json lacks:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("sagemaker", "describe_endpoint", "sagemaker:DescribeEndpoint"),
        (
            "sagemaker",
            "UpdateEndpointWeightsAndCapacities",
            "sagemaker:UpdateEndpointWeightsAndCapacities",
        ),
        ("sagemaker", "list_tags", "sagemaker:ListTags"),
        ("resourcegroupstaggingapi", "get_resources", "tag:GetResources"),
        ("sts", "GetCallerIdentity", "sts:GetCallerIdentity"),
        ("dynamodb", "update_item", "dynamodb:UpdateItem"),
    ],
)
def test_operation_to_iam_action(service: str, operation: str, action: str) -> None:
    assert operation_to_iam_action(service, operation) == action


@pytest.mark.parametrize(
    ("service", "operation"), [("sagemaker", "describe_endpointz"), ("s3x", "get")]
)
def test_operation_to_iam_action_refuses_unknown(service: str, operation: str) -> None:
    with pytest.raises(ControllerError):
        operation_to_iam_action(service, operation)


def test_grants_matches_wildcards_case_insensitively_and_honours_deny() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sts:*"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sagemaker:DescribeModel", "Resource": "*"},
        ]
    }
    assert grants(document, "sagemaker:describeendpoint")
    assert grants(document, "sts:GetCallerIdentity")
    assert not grants(document, "sagemaker:DescribeModel")
    assert not grants(document, "sagemaker:DeleteEndpoint")


def test_scanner_on_a_sample(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import re\n"
        "PATTERN = re.compile('x')\n"
        "def f(clients, client, text):\n"
        "    clients.sagemaker().create_endpoint(EndpointName='a', EndpointConfigName='b')\n"
        "    client.get_paginator('list_model_packages')\n"
        "    client.get_waiter('endpoint_in_service')\n"
        "    re.search('x', text)\n"
        "    PATTERN.search(text)\n"
        "    {}.update(a=1)\n"
        "    Action(op='create', call='create_model')\n"
    )
    assert _called_operations(sample) == {
        ("sagemaker", "create_endpoint"),
        ("sagemaker", "list_model_packages"),
        ("sagemaker", "DescribeEndpoint"),
        ("sagemaker", "create_model"),
    }
