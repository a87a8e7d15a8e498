"""Where the service says an endpoint lives: target and real region from its key and plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core.plan.plans import EndpointPlan, Health, Status
from controller.service.status.locations import DEFAULT_TARGET, Location, is_region, locate, of_plan
from controller.service.status.statuses import EndpointStatus, location_of
from controller.service.web.statuspage import detail_path, row_id

TARGET_NAMES = st.from_regex(r"[a-z](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True).filter(
    lambda name: not is_region(name)
)
REGIONS = st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"])
NAMES = st.from_regex(r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,20}", fullmatch=True)


def plan(region: str, target: str | None) -> EndpointPlan:
    return EndpointPlan(
        "churn", "churn.yaml", region, Status.UNCHANGED, Health.HEALTHY, target=target
    )


def test_a_region_key_is_the_default_target_in_that_region() -> None:
    assert locate("eu-west-1/churn") == Location(DEFAULT_TARGET, "eu-west-1")
    # A target region offered for a region key is ignored: the key already names the region.
    assert locate("eu-west-1/churn", "us-east-1") == Location(DEFAULT_TARGET, "eu-west-1")


def test_a_target_key_takes_its_region_from_the_target_or_leaves_it_unknown() -> None:
    assert locate("prod/churn", "us-east-1") == Location("prod", "us-east-1")
    assert locate("prod/churn") == Location("prod", "")


def test_plans_name_the_real_region_and_a_plan_without_one_is_not_trusted() -> None:
    assert of_plan(plan("us-east-1", "prod")) == Location("prod", "us-east-1")
    assert of_plan(plan("eu-west-1", None)) == Location(DEFAULT_TARGET, "eu-west-1")
    # A removed target's endpoint is planned under the target's name: no region to learn.
    assert of_plan(plan("prod", None)) is None


def test_describe_names_the_target_only_when_there_is_one() -> None:
    assert Location(DEFAULT_TARGET, "us-east-1").describe() == "us-east-1"
    assert Location("prod", "us-east-1").describe() == "prod, us-east-1"
    assert Location("prod", "").describe() == "prod"


class _Located:
    def target_region(self, key: str) -> str | None:
        return {"prod": "ap-southeast-2"}.get(key.partition("/")[0])


def test_status_entries_start_where_the_snapshot_says() -> None:
    assert location_of(_Located(), "prod/churn") == Location("prod", "ap-southeast-2")
    assert location_of(object(), "prod/churn") == Location("prod", "")
    entry = EndpointStatus.at("prod/churn", "churn", location_of(_Located(), "prod/churn"))
    assert (entry.as_json()["target"], entry.as_json()["region"]) == ("prod", "ap-southeast-2")


@settings(derandomize=True, max_examples=200)
@given(TARGET_NAMES, REGIONS, NAMES, REGIONS)
def test_the_same_name_in_two_locations_never_shares_a_label_set_or_a_page_key(
    target: str, target_region: str, name: str, region: str
) -> None:
    """Labels (target, region) and status page keys (URL, row id) differ between a targeted
    endpoint and a region-only one of the same name, even in the same region."""
    targeted, ambient = f"{target}/{name}", f"{region}/{name}"
    assert locate(targeted, target_region) != locate(ambient)
    one, two = {"key": targeted, "name": name}, {"key": ambient, "name": name}
    assert detail_path(one) != detail_path(two)
    assert row_id(one) != row_id(two)
    assert detail_path(one) == f"/endpoints/{target}/{name}"


LOCATIONS = st.one_of(TARGET_NAMES, REGIONS)


@settings(derandomize=True, max_examples=300)
@given(LOCATIONS, NAMES, LOCATIONS, NAMES)
def test_row_ids_are_one_to_one_with_keys(loc1: str, name1: str, loc2: str, name2: str) -> None:
    one, two = {"key": f"{loc1}/{name1}"}, {"key": f"{loc2}/{name2}"}
    assert (row_id(one) == row_id(two)) == (one == two)


def test_a_hyphen_in_the_target_or_the_name_does_not_make_row_ids_collide() -> None:
    assert row_id({"key": "prod/a-b"}) != row_id({"key": "prod-a/b"})
