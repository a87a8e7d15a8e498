"""apply_endpoint's tolerance rules, with a fake SageMaker client at our boundary."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from controller.aws.applying import apply_endpoint
from controller.core.plan.plans import Action, EndpointPlan, Op, Reason, ResourceType, Status
from controller.errors import Conflict, ControllerError, NotFound


class FakeSageMaker:
    """Records calls; raises the scripted SageMaker errors for an operation, in order."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = failures
        self.calls: list[str] = []

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> dict[str, Any]:
            self.calls.append(operation)
            queue = self.failures.get(operation, [])
            if queue:
                message = queue.pop(0)
                error = {"Error": {"Code": "ValidationException", "Message": message}}
                raise ClientError(error, operation)
            return {}

        return call


def plan(*actions: Action) -> EndpointPlan:
    return EndpointPlan("e", "e.yaml", "us-east-1", Status.CREATE, actions=actions)


def create_endpoint() -> Action:
    request = {"EndpointName": "e", "EndpointConfigName": "e-1"}
    return Action(
        Op.CREATE,
        ResourceType.ENDPOINT,
        "e",
        Reason.NEW_ENDPOINT,
        call="create_endpoint",
        request=request,
    )


def test_create_endpoint_waits_out_a_config_not_yet_visible() -> None:
    missing = 'Could not find endpoint configuration "arn:...:endpoint-config/e-1".'
    client = FakeSageMaker({"create_endpoint": [missing, missing]})
    slept: list[float] = []

    changes = apply_endpoint(client, plan(create_endpoint()), sleep=slept.append)

    assert [c.result for c in changes] == ["created"]
    assert client.calls == ["create_endpoint"] * 3
    assert slept == [0.5, 1.0]


def test_create_endpoint_gives_up_after_a_bounded_number_of_tries() -> None:
    missing = 'Could not find endpoint configuration "arn:...:endpoint-config/e-1".'
    client = FakeSageMaker({"create_endpoint": [missing] * 10})

    with pytest.raises(NotFound):
        apply_endpoint(client, plan(create_endpoint()), sleep=lambda _: None)
    assert len(client.calls) == 5


def test_an_existing_content_hashed_resource_counts_as_created() -> None:
    exists = 'Cannot create already existing model "arn:...:model/e-m-1".'
    client = FakeSageMaker({"create_model": [exists]})
    action = Action(
        Op.CREATE,
        ResourceType.MODEL,
        "e-m-1",
        Reason.NEW_ENDPOINT,
        call="create_model",
        request={"ModelName": "e-m-1"},
    )

    changes = apply_endpoint(client, plan(action))

    assert [c.result for c in changes] == ["unchanged"]


def test_deleting_what_is_already_gone_is_not_an_error() -> None:
    gone = 'Could not find model "arn:...:model/old".'
    client = FakeSageMaker({"delete_model": [gone]})
    action = Action(
        Op.DELETE,
        ResourceType.MODEL,
        "old",
        Reason.SUPERSEDED,
        call="delete_model",
        request={"ModelName": "old"},
    )

    assert [c.result for c in apply_endpoint(client, plan(action))] == ["unchanged"]


def test_an_update_of_a_busy_endpoint_is_a_conflict() -> None:
    busy = 'Cannot update in-progress endpoint "arn:...:endpoint/e".'
    client = FakeSageMaker({"update_endpoint": [busy]})
    action = Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        "e",
        Reason.VERSION_CHANGED,
        call="update_endpoint",
        request={"EndpointName": "e"},
        tags_set={"sagemaker-gitops/attempted-config": "e-2"},
        resource_arn="arn:aws:sagemaker:us-east-1:1:endpoint/e",
    )

    with pytest.raises(Conflict):
        apply_endpoint(client, plan(action))
    assert client.calls == ["add_tags", "update_endpoint"]  # the attempt is tagged first


def test_tags_set_by_an_update_reach_the_cached_index() -> None:
    from controller.core.livestate import Inventory, Owned

    inventory = Inventory()
    arn = "arn:aws:sagemaker:us-east-1:1:endpoint/e"
    inventory.put(Owned("endpoint", "e", arn, {"sagemaker-gitops/endpoint": "e", "team": "a"}))
    action = Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        "e",
        Reason.VERSION_CHANGED,
        call="update_endpoint",
        request={"EndpointName": "e"},
        tags_set={"sagemaker-gitops/attempted-config": "e-2"},
        tags_removed=("team",),
        resource_arn=arn,
    )

    apply_endpoint(FakeSageMaker({}), plan(action), inventory)

    cached = inventory.get("endpoint", "e")
    assert cached is not None
    # The next pass reads the attempt from here; without it a failed rollout would be retried.
    assert cached.tags == {
        "sagemaker-gitops/endpoint": "e",
        "sagemaker-gitops/attempted-config": "e-2",
    }


def test_a_failed_update_leaves_its_tags_to_list_tags_not_the_cached_index() -> None:
    """The update tags first; if the call then fails (or got no answer), the tags may be written.
    A cached index still naming the old attempted config kept the superseded config out of GC
    for the rest of the command: the entry goes, and the next pass asks ListTags."""
    from controller.core.livestate import Inventory, Owned

    inventory = Inventory()
    arn = "arn:aws:sagemaker:us-east-1:1:endpoint/e"
    old = {"sagemaker-gitops/endpoint": "e", "sagemaker-gitops/attempted-config": "e-1"}
    inventory.put(Owned("endpoint", "e", arn, old))
    action = Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        "e",
        Reason.VERSION_CHANGED,
        call="update_endpoint",
        request={"EndpointName": "e"},
        tags_set={"sagemaker-gitops/attempted-config": "e-2"},
        resource_arn=arn,
    )
    client = FakeSageMaker({"update_endpoint": ["An internal error occurred."]})

    with pytest.raises(ControllerError):
        apply_endpoint(client, plan(action), inventory)

    assert client.calls == ["add_tags", "update_endpoint"]
    assert inventory.get("endpoint", "e") is None


def test_a_write_without_an_answer_is_the_endpoints_failure_not_a_botocore_error() -> None:
    """botocore does not repeat UpdateEndpoint after a dropped connection (it may have acted);
    the error reaches the reconciler as NoAnswer, which re-reads, instead of ending the command."""
    from botocore.exceptions import ConnectionClosedError

    from controller.errors import NoAnswer

    class Dropping:
        def update_endpoint(self, **_: Any) -> None:
            raise ConnectionClosedError(endpoint_url="http://127.0.0.1:1/")

    action = Action(
        Op.UPDATE,
        ResourceType.ENDPOINT,
        "e",
        Reason.VERSION_CHANGED,
        call="update_endpoint",
        request={"EndpointName": "e"},
    )
    with pytest.raises(NoAnswer, match=r"update_endpoint: no answer .* it may have taken effect"):
        apply_endpoint(Dropping(), plan(action))
