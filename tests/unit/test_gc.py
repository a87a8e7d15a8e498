"""Garbage collection of superseded EndpointConfigs and Models (core.gc.gc_candidates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from controller.core.gc import gc_candidates
from controller.core.plans import ResourceType

EC, M = ResourceType.ENDPOINT_CONFIG, ResourceType.MODEL
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def config(day: int, *models: str) -> dict[str, Any]:
    return {
        "CreationTime": T0 + timedelta(days=day),
        "ProductionVariants": [
            {"VariantName": f"v{i}", "ModelName": m} for i, m in enumerate(models)
        ],
    }


# Five generations of one endpoint: c<N> serves m<N>; c5 is live. c3 and c4 share m-shared.
HISTORY: dict[str, dict[str, Any] | None] = {
    "c1": config(1, "m1"),
    "c2": config(2, "m2"),
    "c3": config(3, "m3", "m-shared"),
    "c4": config(4, "m4", "m-shared"),
    "c5": config(5, "m5"),
}
MODELS = ["m1", "m2", "m3", "m4", "m5", "m-shared"]


def gc(
    current: str = "c5",
    keep: int = 2,
    described: dict[str, dict[str, Any] | None] | None = None,
    configs: list[str] | None = None,
    models: list[str] | None = None,
) -> tuple[tuple[ResourceType, str], ...]:
    table = HISTORY if described is None else described
    names = list(table) if configs is None else configs
    return gc_candidates(names, MODELS if models is None else models, current, keep, table.get)


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(2, [(EC, "c2"), (EC, "c1"), (M, "m1"), (M, "m2")], id="keep-2"),
        pytest.param(
            1, [(EC, "c3"), (EC, "c2"), (EC, "c1"), (M, "m1"), (M, "m2"), (M, "m3")], id="keep-1"
        ),
        pytest.param(4, [], id="keep-all"),
        pytest.param(
            0,
            [(EC, "c4"), (EC, "c3"), (EC, "c2"), (EC, "c1")]
            + [(M, m) for m in ["m-shared", "m1", "m2", "m3", "m4"]],
            id="keep-none",
        ),
    ],
)
def test_keeps_the_live_config_and_the_newest(
    keep: int, expected: list[tuple[ResourceType, str]]
) -> None:
    assert list(gc(keep=keep)) == expected


def test_order_is_by_creation_time_not_by_name() -> None:
    described = {"z-old": config(1, "m1"), "a-new": config(9, "m2"), "live": config(10, "m5")}
    result = gc_candidates(["a-new", "z-old", "live"], ["m1", "m2", "m5"], "live", 1, described.get)
    assert result == ((EC, "z-old"), (M, "m1"))


def test_a_model_shared_with_a_kept_config_is_kept() -> None:
    doomed = gc(keep=1)
    assert (M, "m-shared") not in doomed  # c3 goes, but c4 (kept) still uses m-shared
    assert (M, "m3") in doomed


def test_the_live_config_and_its_models_are_never_collected() -> None:
    for keep in range(5):
        doomed = gc(keep=keep)
        assert (EC, "c5") not in doomed and (M, "m5") not in doomed


def test_the_live_config_is_kept_even_when_it_is_the_oldest() -> None:
    """After a rollback (git revert) the live config may be older than the history."""
    doomed = gc(current="c1", keep=2)
    assert (EC, "c1") not in doomed and (M, "m1") not in doomed
    assert [n for k, n in doomed if k is EC] == ["c3", "c2"]


def test_nothing_is_deleted_when_the_live_config_cannot_be_described() -> None:
    described = {**HISTORY, "c5": None}
    assert gc(described=described) == ()


def test_nothing_is_deleted_when_the_live_config_is_not_in_the_index() -> None:
    assert gc(current="c-unknown") == ()


def test_configs_that_vanished_are_skipped() -> None:
    described = {**HISTORY, "c1": None}
    doomed = gc(described=described)
    assert (EC, "c1") not in doomed
    assert (EC, "c2") in doomed


def test_models_no_config_uses_are_collected() -> None:
    """E.g. a Model created by a run that crashed before its EndpointConfig."""
    doomed = gc(keep=4, models=[*MODELS, "m-orphan"])
    assert doomed == ((M, "m-orphan"),)
