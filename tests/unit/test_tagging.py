"""Ownership tags: what counts as a change, and who owns a resource."""

from __future__ import annotations

import pytest
from builders import PROPERTY
from hypothesis import given
from hypothesis import strategies as st

from controller.core import tagging

OWNED = {tagging.MANAGED_BY: "default", tagging.ENDPOINT: "churn", "team": "ml"}


@pytest.mark.parametrize(
    ("desired", "live", "to_set", "to_remove"),
    [
        pytest.param(OWNED, OWNED, {}, [], id="same"),
        pytest.param({**OWNED, "team": "data"}, OWNED, {"team": "data"}, [], id="changed"),
        pytest.param({**OWNED, "cost": "42"}, OWNED, {"cost": "42"}, [], id="added"),
        pytest.param(OWNED, {**OWNED, "b": "1", "a": "2"}, {}, ["a", "b"], id="removed-sorted"),
        pytest.param(
            {**OWNED, tagging.REVISION: "new", tagging.SPEC_HASH: "h2", tagging.SOURCE: "b.yaml"},
            {**OWNED, tagging.REVISION: "old", tagging.SPEC_HASH: "h1", tagging.SOURCE: "a.yaml"},
            {},
            [],
            id="bookkeeping-differs",
        ),
        pytest.param(
            OWNED,
            {**OWNED, tagging.REVISION: "old", tagging.ATTEMPTED_CONFIG: "churn-1"},
            {},
            [],
            id="bookkeeping-only-live",
        ),
        pytest.param(
            {**OWNED, tagging.ATTEMPTED_CONFIG: "churn-2"}, OWNED, {}, [], id="attempted-desired"
        ),
        pytest.param(OWNED, {**OWNED, "aws:cloudformation:stack-name": "s"}, {}, [], id="aws-live"),
        pytest.param({**OWNED, "aws:x": "1"}, OWNED, {}, [], id="aws-desired"),
        pytest.param(
            OWNED,
            {tagging.ENDPOINT: "churn", "team": "ml"},
            {tagging.MANAGED_BY: "default"},
            [],
            id="take-ownership",
        ),
        pytest.param(
            OWNED,
            {**OWNED, tagging.MANAGED_BY: "blue"},
            {tagging.MANAGED_BY: "default"},
            [],
            id="other-owner",
        ),
        pytest.param({}, {}, {}, [], id="empty"),
    ],
)
def test_tag_delta(
    desired: dict[str, str], live: dict[str, str], to_set: dict[str, str], to_remove: list[str]
) -> None:
    assert tagging.tag_delta(desired, live) == (to_set, to_remove)


keys = st.one_of(
    st.text(min_size=1, max_size=6),
    st.sampled_from(sorted(tagging.BOOKKEEPING)),
    st.text(max_size=4).map(lambda s: "aws:" + s),
)
tag_maps = st.dictionaries(keys, st.text(max_size=4), max_size=6)


@PROPERTY
@given(desired=tag_maps, live=tag_maps)
def test_applying_the_delta_makes_the_significant_tags_equal(
    desired: dict[str, str], live: dict[str, str]
) -> None:
    to_set, to_remove = tagging.tag_delta(desired, live)
    assert not any(k in tagging.BOOKKEEPING or k.startswith("aws:") for k in [*to_set, *to_remove])
    after = {**{k: v for k, v in live.items() if k not in to_remove}, **to_set}
    assert tagging.significant(after) == tagging.significant(desired)
    assert tagging.tag_delta(desired, after) == ({}, [])


@pytest.mark.parametrize(
    ("tags", "controller_id", "owned"),
    [
        ({tagging.MANAGED_BY: "default"}, "default", True),
        ({tagging.MANAGED_BY: "blue"}, "default", False),
        ({tagging.MANAGED_BY: "Default"}, "default", False),
        ({tagging.ENDPOINT: "churn"}, "default", False),
        ({}, "default", False),
        (None, "default", False),
    ],
)
def test_owned_by(tags: dict[str, str] | None, controller_id: str, owned: bool) -> None:
    assert tagging.owned_by(tags, controller_id) is owned


def test_to_list_is_sorted_and_round_trips() -> None:
    tags = {"b": "2", "a": "1", tagging.MANAGED_BY: "default"}
    listed = tagging.to_list(tags)
    assert [t["Key"] for t in listed] == sorted(tags)
    assert tagging.from_list(listed) == tags


def test_from_list_tolerates_a_missing_value() -> None:
    assert tagging.from_list([{"Key": "empty"}]) == {"empty": ""}


A, B = {tagging.SCOPE: "github.com/org/ml:a"}, {tagging.SCOPE: "github.com/org/ml:b"}


@pytest.mark.parametrize(
    ("desired", "live", "moved"),
    [
        pytest.param(B, A, ("github.com/org/ml:a", "github.com/org/ml:b"), id="another-scope"),
        pytest.param(A, A, None, id="same-scope"),
        pytest.param(B, {}, None, id="tags-predate-scopes: adopted by a re-apply"),
        pytest.param(B, None, None, id="no-live-tags"),
        pytest.param({}, A, None, id="run-without-scope-never-rewrites"),
    ],
)
def test_a_scope_change_is_only_a_move_between_two_scopes(
    desired: dict[str, str], live: dict[str, str] | None, moved: tuple[str, str] | None
) -> None:
    assert tagging.scope_change(desired, live) == moved


def test_parsed_tags_share_one_string_per_distinct_key_and_value() -> None:
    """The owned index holds a tag dict per resource: equal keys and values are one object, so
    a fleet's repeated tags (keys, controller id, scope) cost their bytes once."""

    def parsed() -> dict[str, str]:  # fresh strings each time, as a JSON response gives them
        key, value = "".join(["sagemaker-gitops/", "scope"]), "".join(["repo:", "ml"])
        return tagging.from_list([{"Key": key, "Value": value}])

    first, second = parsed(), parsed()
    [(key_a, value_a)], [(key_b, value_b)] = first.items(), second.items()
    assert key_a is key_b and value_a is value_b
