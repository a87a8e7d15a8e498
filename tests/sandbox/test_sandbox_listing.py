"""ListEndpoints as a controller uses it for change detection, and LastModifiedTime upkeep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sandbox_helpers import (
    ManualClock,
    assumed_client,
    client,
    error_of,
    make_config,
    make_endpoint,
    make_model,
)

from controller.sandbox import Sandbox


def names(page: dict[str, Any]) -> list[str]:
    return [e["EndpointName"] for e in page["Endpoints"]]


def modified(sm: Any, name: str) -> datetime:
    return sm.describe_endpoint(EndpointName=name)["LastModifiedTime"]  # type: ignore[no-any-return]


@pytest.fixture
def fleet(slow_sandbox: Sandbox, clock: ManualClock) -> Any:
    """Twelve InService endpoints, one created per (fake) second: ep-00 oldest."""
    sm = client(slow_sandbox)
    for i in range(12):
        make_endpoint(sm, f"ep-{i:02d}")
        clock.advance(1)
    clock.advance(10)
    return sm


def test_defaults_are_ten_results_newest_first(fleet: Any) -> None:
    page = fleet.list_endpoints()
    assert names(page) == [f"ep-{i:02d}" for i in range(11, 1, -1)]
    assert set(page["Endpoints"][0]) == {
        "EndpointName",
        "EndpointArn",
        "CreationTime",
        "LastModifiedTime",
        "EndpointStatus",
    }
    rest = fleet.list_endpoints(NextToken=page["NextToken"])
    assert names(rest) == ["ep-01", "ep-00"]
    assert "NextToken" not in rest


@pytest.mark.parametrize("sort_by", ["Name", "CreationTime", "Status"])
@pytest.mark.parametrize("order", ["Ascending", "Descending"])
def test_every_sort_pages_each_endpoint_exactly_once(fleet: Any, sort_by: str, order: str) -> None:
    seen: list[str] = []
    kwargs: dict[str, Any] = {"SortBy": sort_by, "SortOrder": order, "MaxResults": 5}
    for _ in range(10):
        page = fleet.list_endpoints(**kwargs)
        seen.extend(names(page))
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == [f"ep-{i:02d}" for i in range(12)]
    if sort_by == "Name":
        assert seen == sorted(seen, reverse=order == "Descending")


def test_deleting_between_pages_neither_repeats_nor_skips(fleet: Any, clock: ManualClock) -> None:
    first = fleet.list_endpoints(SortBy="Name", SortOrder="Ascending", MaxResults=4)
    assert names(first) == ["ep-00", "ep-01", "ep-02", "ep-03"]
    fleet.delete_endpoint(EndpointName="ep-01")
    fleet.delete_endpoint(EndpointName="ep-05")
    clock.advance(10)
    second = fleet.list_endpoints(
        SortBy="Name", SortOrder="Ascending", MaxResults=4, NextToken=first["NextToken"]
    )
    assert names(second) == ["ep-04", "ep-06", "ep-07", "ep-08"]


def test_name_and_status_filters(fleet: Any, clock: ManualClock) -> None:
    make_config(fleet, "ep-03-c2", "ep-03-m1")
    fleet.update_endpoint(EndpointName="ep-03", EndpointConfigName="ep-03-c2")
    assert names(fleet.list_endpoints(StatusEquals="Updating")) == ["ep-03"]
    assert names(fleet.list_endpoints(NameContains="p-1", SortBy="Name")) == [
        "ep-11",
        "ep-10",
    ]
    clock.advance(10)
    assert fleet.list_endpoints(StatusEquals="Updating")["Endpoints"] == []


def test_last_modified_time_moves_on_every_change(fleet: Any, clock: ManualClock) -> None:
    start = clock.now
    created = fleet.describe_endpoint(EndpointName="ep-00")
    # Created at t0, InService 10 s later: the status change is the last modification.
    assert created["LastModifiedTime"] - created["CreationTime"] == timedelta(seconds=10)

    make_config(fleet, "ep-00-c2", "ep-00-m1")
    fleet.update_endpoint(EndpointName="ep-00", EndpointConfigName="ep-00-c2")
    assert modified(fleet, "ep-00").timestamp() == start
    clock.advance(10)
    assert modified(fleet, "ep-00").timestamp() == start + 10  # Updating -> InService

    clock.advance(5)
    fleet.update_endpoint_weights_and_capacities(
        EndpointName="ep-00",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 3.0}],
    )
    assert modified(fleet, "ep-00").timestamp() == start + 15
    clock.advance(10)
    assert modified(fleet, "ep-00").timestamp() == start + 25

    clock.advance(1)
    fleet.delete_endpoint(EndpointName="ep-00")
    assert modified(fleet, "ep-00").timestamp() == start + 26


def test_a_zero_second_weights_change_still_counts_as_modified(sandbox: Sandbox) -> None:
    sm = client(sandbox)
    make_endpoint(sm, "churn")
    before = modified(sm, "churn")
    since = datetime.now(UTC)
    sm.update_endpoint_weights_and_capacities(
        EndpointName="churn",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredWeight": 2.0}],
    )
    assert sm.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    assert modified(sm, "churn") > before
    assert names(sm.list_endpoints(LastModifiedTimeAfter=since - timedelta(seconds=1))) == ["churn"]


def test_last_modified_time_after_finds_exactly_what_changed(
    fleet: Any, clock: ManualClock
) -> None:
    mark = modified(fleet, "ep-11")
    # Strictly after: an endpoint's own LastModifiedTime, read back, excludes it.
    assert fleet.list_endpoints(LastModifiedTimeAfter=mark)["Endpoints"] == []
    clock.advance(30)
    fleet.update_endpoint_weights_and_capacities(
        EndpointName="ep-04",
        DesiredWeightsAndCapacities=[{"VariantName": "primary", "DesiredInstanceCount": 2}],
    )
    fleet.delete_endpoint(EndpointName="ep-07")
    changed = fleet.list_endpoints(LastModifiedTimeAfter=mark, SortBy="Name")
    assert names(changed) == ["ep-07", "ep-04"]
    assert {e["EndpointStatus"] for e in changed["Endpoints"]} == {"Updating", "Deleting"}
    older = fleet.list_endpoints(LastModifiedTimeBefore=mark, MaxResults=100)
    assert len(older["Endpoints"]) == 9  # all but ep-11 itself and the two changed


def test_creation_time_filters_bound_both_ways(fleet: Any) -> None:
    third = fleet.describe_endpoint(EndpointName="ep-02")["CreationTime"]
    # After is "greater than or equal to", before is strict (the model's own wording).
    after = fleet.list_endpoints(CreationTimeAfter=third, MaxResults=100)
    assert len(after["Endpoints"]) == 10
    before = fleet.list_endpoints(CreationTimeBefore=third)
    assert names(before) == ["ep-01", "ep-00"]


def test_bad_token_and_page_size_are_validation_errors(fleet: Any) -> None:
    code, message = error_of(lambda: fleet.list_endpoints(NextToken="not-a-token"))
    assert (code, message) == ("ValidationException", "Invalid pagination token.")
    name_token = fleet.list_endpoints(SortBy="Name", MaxResults=1)["NextToken"]
    code, _ = error_of(lambda: fleet.list_endpoints(SortBy="CreationTime", NextToken=name_token))
    assert code == "ValidationException"
    code, message = error_of(lambda: fleet.list_endpoints(MaxResults=101))
    assert code == "ValidationException"
    assert "less than or equal to 100" in message


def test_other_accounts_endpoints_are_not_listed(sandbox: Sandbox) -> None:
    sm = client(sandbox)
    make_model(sm, "m")
    make_config(sm, "c", "m")
    sm.create_endpoint(EndpointName="mine", EndpointConfigName="c")
    theirs = assumed_client(sandbox, "222222222222")
    assert theirs.list_endpoints()["Endpoints"] == []
    assert names(sm.list_endpoints()) == ["mine"]
