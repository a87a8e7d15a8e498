"""The merge rules of endpoint templates (controller/manifests/templating/merging.py).

Tables for each rule, and properties over open-ended YAML-like data: rendering is
deterministic, an override equal to the template changes nothing, `null` removes, and neither
input is ever modified (parsed documents are cached and shared between renders).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.manifests.templating.merging import merge, without_nulls
from tests.unit.builders import PROPERTY


def test_mappings_merge_deeply() -> None:
    template = {"spec": {"tags": {"team": "a", "cost": "1"}, "region": "us-east-1"}}
    override = {"spec": {"tags": {"cost": "2"}}}
    assert merge(template, override) == (
        {"spec": {"tags": {"team": "a", "cost": "2"}, "region": "us-east-1"}},
        [],
    )


def test_named_lists_merge_by_name_in_template_order_new_items_appended() -> None:
    template = {
        "variants": [
            {"name": "a", "model": {"packageGroup": "g", "version": 1}, "instanceType": "x"},
            {"name": "b", "initialWeight": 1},
        ]
    }
    override = {"variants": [{"name": "c"}, {"name": "a", "model": {"version": 7}}]}
    merged, problems = merge(template, override)
    assert problems == []
    assert merged["variants"] == [
        {"name": "a", "model": {"packageGroup": "g", "version": 7}, "instanceType": "x"},
        {"name": "b", "initialWeight": 1},
        {"name": "c"},
    ]


def test_other_lists_are_replaced() -> None:
    template = {"alarms": [{"alarmName": "a"}, {"alarmName": "b"}], "tags": ["x"]}
    override = {"alarms": [{"alarmName": "c"}]}
    assert merge(template, override)[0] == {"alarms": [{"alarmName": "c"}], "tags": ["x"]}


def test_pipeline_containers_merge_by_hostname_when_every_one_has_one() -> None:
    template = {
        "containers": [
            {"containerHostname": "pre", "image": "i1"},
            {"containerHostname": "m", "image": "i2"},
        ]
    }
    override = {"containers": [{"containerHostname": "m", "image": "i3"}]}
    assert merge(template, override)[0]["containers"] == [
        {"containerHostname": "pre", "image": "i1"},
        {"containerHostname": "m", "image": "i3"},
    ]
    unnamed = {"containers": [{"image": "i4"}]}
    assert merge(template, unnamed) == ({"containers": [{"image": "i4"}]}, [])


def test_null_removes_a_key_and_is_never_written() -> None:
    template = {"spec": {"dataCapture": {"initialSamplingPercentage": 5}, "kmsKeyId": "k"}}
    override = {"spec": {"dataCapture": None, "asyncInference": {"a": None, "b": 1}}}
    assert merge(template, override)[0] == {"spec": {"kmsKeyId": "k", "asyncInference": {"b": 1}}}


def test_a_variant_without_a_name_is_a_problem_at_the_override() -> None:
    template = {"spec": {"variants": [{"name": "a"}]}}
    override = {"spec": {"variants": [{"name": "a"}, {"instanceType": "x"}]}}
    _, problems = merge(template, override)
    assert [(p.loc, p.message) for p in problems] == [
        (
            ("spec", "variants", 1),
            "an item of variants needs a name: the template's variants are merged by name",
        )
    ]


def test_a_name_twice_in_an_override_is_a_problem() -> None:
    template = {"variants": [{"name": "a"}]}
    override = {"variants": [{"name": "a", "x": 1}, {"name": "a", "x": 2}]}
    _, problems = merge(template, override)
    assert [p.loc for p in problems] == [("variants", 1, "name")]


# Properties.

_keys = st.sampled_from(["variants", "tags", "spec", "name", "model", "a", "b", "containers"])
_scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["x", "y", "ml.m5.large"]), st.booleans())


def _values(nulls: bool) -> st.SearchStrategy[Any]:
    leaves = st.one_of(_scalars, st.none()) if nulls else _scalars
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(_keys, inner, max_size=4),
            st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["p", "q", "r"])}, optional={"v": inner}
                ),
                max_size=3,
                unique_by=lambda item: item["name"],
            ),
        ),
        max_leaves=12,
    )


_documents = st.dictionaries(_keys, _values(nulls=False), max_size=4)
_patches = st.dictionaries(_keys, _values(nulls=True), max_size=4)


@settings(PROPERTY, max_examples=300)
@given(_documents, _patches)
def test_rendering_is_deterministic_and_leaves_its_inputs_alone(template: Any, patch: Any) -> None:
    before = (copy.deepcopy(template), copy.deepcopy(patch))
    first = merge(template, patch)
    assert merge(template, patch) == first
    assert (template, patch) == before


@settings(PROPERTY, max_examples=300)
@given(_documents)
def test_an_override_equal_to_the_template_changes_nothing(template: Any) -> None:
    assert merge(template, template) == (template, [])


@settings(PROPERTY, max_examples=300)
@given(_documents, _patches, _keys)
def test_null_removes_the_key(template: Any, patch: Any, key: str) -> None:
    merged, _ = merge(template, {**patch, key: None})
    assert key not in merged


@settings(PROPERTY, max_examples=300)
@given(_documents, _patches)
def test_the_override_wins_for_every_scalar_it_writes(template: Any, patch: Any) -> None:
    merged, _ = merge(template, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        elif not isinstance(value, dict | list):
            assert merged[key] == value
        elif isinstance(value, dict):
            assert isinstance(merged[key], dict)
            assert without_nulls(value).keys() <= merged[key].keys()
