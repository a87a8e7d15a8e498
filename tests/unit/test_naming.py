"""Content-addressed names: always valid for the API, stable, and distinct for distinct content."""

from __future__ import annotations

import re
from typing import Any

import pytest
from builders import PROPERTY, desired, manifest, registry_variant
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core import naming
from controller.manifests import botocore_model as api

MODEL_NAME = re.compile(api.pattern("ModelName"))
CONFIG_NAME = re.compile(api.pattern("EndpointConfigName"))
NAME_PATTERN = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"  # EndpointName and VariantName


def _fit(name: str) -> str:
    """Cut a pattern match to 63 characters; a prefix ending in a letter still matches."""
    return name[:63].rstrip("-")


api_names = st.from_regex(NAME_PATTERN, fullmatch=True).map(_fit)
long_names = st.text("abcxyz0189-", min_size=40, max_size=62).map(lambda s: _fit("e" + s))
contents = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(), st.text(max_size=10), st.booleans(), st.none()),
    max_size=4,
)


def assert_valid(name: str, pattern: re.Pattern[str]) -> None:
    assert 1 <= len(name) <= naming.MAX_NAME, name
    assert pattern.fullmatch(name), name


def test_name_strategy_matches_the_api_patterns() -> None:
    assert api.shape("EndpointName")["pattern"] == NAME_PATTERN
    assert api.shape("VariantName")["pattern"] == NAME_PATTERN


@settings(PROPERTY, max_examples=150)
@given(endpoint=st.one_of(api_names, long_names), variant=api_names, content=contents)
def test_names_always_fit_the_api(endpoint: str, variant: str, content: Any) -> None:
    assert_valid(naming.model_name(endpoint, variant, content), MODEL_NAME)
    assert_valid(naming.model_name(endpoint, variant, content), CONFIG_NAME)
    assert_valid(naming.config_name(endpoint, content), CONFIG_NAME)
    assert_valid(naming.config_name(endpoint, content), MODEL_NAME)


@settings(PROPERTY, max_examples=40)
@given(endpoint=api_names, variant=api_names)
def test_names_built_from_manifests_fit_the_api(endpoint: str, variant: str) -> None:
    want = desired(manifest(name=endpoint, variants=[registry_variant(name=variant)]))
    assert_valid(want.config_name, CONFIG_NAME)
    for model in want.models:
        assert_valid(model.name, MODEL_NAME)
        assert model.request["ModelName"] == model.name
    assert want.config_request["EndpointConfigName"] == want.config_name


@settings(PROPERTY, max_examples=100)
@given(endpoint=api_names, variant=api_names, content=contents)
def test_names_are_stable(endpoint: str, variant: str, content: dict[str, Any]) -> None:
    reordered = dict(reversed(list(content.items())))
    assert naming.model_name(endpoint, variant, content) == naming.model_name(
        endpoint, variant, reordered
    )
    assert naming.config_name(endpoint, content) == naming.config_name(endpoint, reordered)


def test_key_order_does_not_matter_at_any_depth() -> None:
    a = {"Image": "x", "Environment": {"A": "1", "B": "2"}, "List": [{"k": 1, "j": 2}]}
    b = {"List": [{"j": 2, "k": 1}], "Environment": {"B": "2", "A": "1"}, "Image": "x"}
    assert naming.content_hash(a) == naming.content_hash(b)
    assert naming.config_name("churn", a) == naming.config_name("churn", b)


def test_list_order_does_matter() -> None:
    assert naming.content_hash([1, 2]) != naming.content_hash([2, 1])


@settings(PROPERTY, max_examples=100)
@given(endpoint=api_names, a=contents, b=contents)
def test_different_content_gives_different_names(
    endpoint: str, a: dict[str, Any], b: dict[str, Any]
) -> None:
    if naming.content_hash(a) == naming.content_hash(b):  # equal as JSON (e.g. 1 vs True)
        return
    assert naming.config_name(endpoint, a) != naming.config_name(endpoint, b)
    assert naming.model_name(endpoint, "v", a) != naming.model_name(endpoint, "v", b)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a" * 54 + "-one", "a" * 54 + "-two"),
        ("a" * 60 + "xyz", "a" * 60 + "xyw"),
        ("churn-" * 9 + "prod", "churn-" * 9 + "staging"),
    ],
)
def test_long_names_sharing_a_prefix_stay_distinct(first: str, second: str) -> None:
    assert first[:54] == second[:54]
    content = {"ProductionVariants": []}
    assert naming.config_name(first, content) != naming.config_name(second, content)
    assert naming.model_name(first, "primary", content) != naming.model_name(
        second, "primary", content
    )


def test_same_endpoint_different_variants_get_different_model_names() -> None:
    long = "e" * 63
    assert naming.model_name(long, "a", {}) != naming.model_name(long, "b", {})


@pytest.mark.parametrize(
    ("prefix", "expected_cut"),
    [
        ("churn-prod", "churn-prod"),  # short: kept whole
        ("a" * 54, "a" * 54),  # exactly the room left beside the digest
        ("a" * 55, "a" * 54),  # cut to fit
        ("a" * 53 + "-b", "a" * 53),  # cut lands on a hyphen: dropped
        ("a" * 50 + "-----bbbb", "a" * 50),  # a run of hyphens at the cut: all dropped
        ("a" + "-" * 60 + "b", "a"),
    ],
)
def test_hashed_name_cuts_without_trailing_hyphens(prefix: str, expected_cut: str) -> None:
    digest = naming.content_hash(prefix)
    name = naming.hashed_name(prefix, digest)
    assert name == f"{expected_cut}-{digest}"
    assert len(name) <= naming.MAX_NAME
    assert_valid(name, CONFIG_NAME)


@settings(PROPERTY, max_examples=100)
@given(prefix=st.one_of(api_names, long_names))
def test_truncation_never_leaves_a_trailing_hyphen(prefix: str) -> None:
    digest = naming.content_hash(prefix)
    cut = naming.hashed_name(prefix, digest).removesuffix(digest)
    assert cut.endswith("-")
    assert not cut[:-1].endswith("-")
    assert prefix.startswith(cut[:-1])


def test_content_hash_length_and_alphabet() -> None:
    assert re.fullmatch(r"[0-9a-f]{8}", naming.content_hash({"a": 1}))
    assert re.fullmatch(r"[0-9a-f]{12}", naming.content_hash({"a": 1}, length=12))
