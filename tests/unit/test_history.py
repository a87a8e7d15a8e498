"""Rollback history by deployment order and garbage collection (core/endpoint/history.py)."""

from __future__ import annotations

from typing import Any

import pytest

from controller.core import tagging
from controller.core.endpoint.history import (
    MAX_HISTORY,
    ConfigInfo,
    GcInput,
    garbage,
    hand_edited,
    parse,
    pruned,
    pushed,
    within,
)
from controller.core.livestate import LiveEndpoint
from controller.core.plan.plans import ResourceType

EC, M = ResourceType.ENDPOINT_CONFIG, ResourceType.MODEL
NOW = 1_000_000.0
DAY = 86_400.0


def cfg(name: str, day: int, *models: str) -> ConfigInfo:
    return ConfigInfo(name, NOW - (30 - day) * DAY, models)


# Five generations of one endpoint: c<N> serves m<N>; c3 and c4 share m-shared.
CONFIGS = [
    cfg("c1", 1, "m1"),
    cfg("c2", 2, "m2"),
    cfg("c3", 3, "m3", "m-shared"),
    cfg("c4", 4, "m4", "m-shared"),
    cfg("c5", 5, "m5"),
]
MODELS = ["m1", "m2", "m3", "m4", "m5", "m-shared"]


def gc(
    live: str = "c5",
    keep: int = 2,
    history: list[str] | None = None,
    configs: list[ConfigInfo] | None = None,
    models: list[str] | None = None,
    status: str = "InService",
    min_age: float = 0.0,
    tags: dict[str, str] | None = None,
    created: dict[str, float | None] | None = None,
) -> list[tuple[ResourceType, str]]:
    endpoint_tags = dict(tags or {})
    if history is not None:
        endpoint_tags[tagging.HISTORY] = " ".join(history)
    gc_input = GcInput(
        status=status,
        live=live,
        configs=CONFIGS if configs is None else configs,
        models=MODELS if models is None else models,
        endpoint_tags=endpoint_tags,
        keep=keep,
        now=NOW,
        min_age=min_age,
    )
    ages = created or {}
    return list(garbage(gc_input, lambda m: ages.get(m, NOW - 30 * DAY)))


# -- deployment order --------------------------------------------------------------------------


def test_the_issue_scenario_keeps_the_config_live_just_before() -> None:
    """Deploy versions 1, 2, 5, 1, 6: history is [1, 5, 2]; keep 2 keeps 1 and 5, not 2."""
    configs = [cfg("v1", 1, "m1"), cfg("v2", 2, "m2"), cfg("v5", 3, "m5"), cfg("v6", 4, "m6")]
    tag: str | None = None
    for previous in ["v1", "v2", "v5", "v1"]:  # the config live when each rollout started
        tag = pushed(tag, previous)
    assert parse(tag) == ["v1", "v5", "v2"]
    doomed = gc(
        live="v6", keep=2, history=parse(tag), configs=configs, models=["m1", "m2", "m5", "m6"]
    )
    assert doomed == [(EC, "v2"), (M, "m2")]
    only_one = gc(
        live="v6", keep=1, history=parse(tag), configs=configs, models=["m1", "m2", "m5", "m6"]
    )
    assert only_one == [(EC, "v2"), (EC, "v5"), (M, "m2"), (M, "m5")]


def test_history_is_capped_and_deduplicated() -> None:
    tag = None
    for name in ["a", "b", "a", "c", "d", "e", "f"]:
        tag = pushed(tag, name)
    assert parse(tag) == ["f", "e", "d", "c"][:MAX_HISTORY]
    assert pushed("x y", "x") == "x y"  # a resumed rollout writes the same value again


def test_creation_order_fills_the_slots_only_when_the_tags_predate_the_history() -> None:
    """Endpoints without a history tag keep the newest configs, as before."""
    assert gc(keep=2) == [(EC, "c1"), (EC, "c2"), (M, "m1"), (M, "m2")]


def test_a_recorded_history_keeps_only_configs_that_served() -> None:
    """With the tag (written empty at CreateEndpoint) a config that never served (a failed
    rollout or create) does not fill a free slot."""
    models = [(M, "m-shared"), (M, "m2"), (M, "m3"), (M, "m4")]
    configs = [(EC, "c2"), (EC, "c3"), (EC, "c4")]
    assert gc(keep=2, history=["c1"]) == configs + models
    assert gc(keep=2, history=[]) == [(EC, "c1"), *configs, models[0], (M, "m1"), *models[1:]]


def test_the_pruned_tag_names_only_configs_that_remain() -> None:
    assert pruned("c4 c3 c2 c1", ["C2", "c1"]) == "c4 c3"
    assert pruned("c2", ["c2"]) == ""


def test_within_the_history_needs_no_describes() -> None:
    tags = {tagging.HISTORY: "c4 c3 c2"}
    assert within(["c5", "c4", "c3"], "c5", tags, keep=2)
    assert not within(["c5", "c4", "c3", "c2"], "c5", tags, keep=2)
    assert not within(["c5", "never-served"], "c5", {tagging.HISTORY: ""}, keep=2)
    assert within(["c5", "c4", "c3"], "c5", {}, keep=2)  # tags predating the history


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(1, [(EC, "c1"), (EC, "c2"), (EC, "c3"), (M, "m1"), (M, "m2"), (M, "m3")]),
        pytest.param(4, []),
        pytest.param(
            0,
            [(EC, "c1"), (EC, "c2"), (EC, "c3"), (EC, "c4")]
            + [(M, m) for m in ["m-shared", "m1", "m2", "m3", "m4"]],
        ),
    ],
)
def test_keep_counts_earlier_live_configs(keep: int, expected: list[Any]) -> None:
    assert gc(keep=keep, history=["c4", "c3", "c2", "c1"]) == expected


def test_a_model_shared_with_a_kept_config_is_kept() -> None:
    doomed = gc(keep=1, history=["c4", "c3"])
    assert (M, "m-shared") not in doomed and (M, "m3") in doomed


def test_the_live_config_is_kept_even_when_it_is_the_oldest() -> None:
    doomed = gc(live="c1", keep=2, history=["c5", "c4"])
    assert (EC, "c1") not in doomed and (M, "m1") not in doomed
    assert [n for k, n in doomed if k is EC] == ["c2", "c3"]


def test_models_no_config_uses_are_collected() -> None:
    """E.g. a Model created by a run that crashed before its EndpointConfig."""
    assert gc(keep=4, models=[*MODELS, "m-orphan"]) == [(M, "m-orphan")]


# -- when GC must not run or must keep something -------------------------------------------------


@pytest.mark.parametrize("status", ["Updating", "Creating", "RollingBack", "SystemUpdating"])
def test_never_while_the_endpoint_is_not_in_service(status: str) -> None:
    assert gc(keep=0, status=status) == []


def test_nothing_when_the_live_config_is_unknown() -> None:
    assert gc(live="c-unknown") == []
    undescribed = [*CONFIGS[:4], ConfigInfo("c5", NOW, None)]
    assert gc(configs=undescribed) == []


def test_young_resources_are_another_applys_work_in_progress() -> None:
    young = [*CONFIGS, ConfigInfo("c9", NOW - 10, ("m9",))]
    doomed = gc(keep=0, configs=young, models=[*MODELS, "m9", "m-new"], min_age=60.0,
                created={"m-new": NOW - 5, "m9": NOW - 10})  # fmt: skip
    assert (EC, "c9") not in doomed and (M, "m9") not in doomed and (M, "m-new") not in doomed
    assert (EC, "c1") in doomed


def test_a_model_of_unknown_age_is_kept() -> None:
    assert (M, "m-orphan") not in gc(keep=4, models=["m-orphan"], created={"m-orphan": None})


def test_the_config_being_rolled_out_by_another_process_is_kept() -> None:
    doomed = gc(keep=0, tags={tagging.ATTEMPTED_CONFIG: "c2"})
    assert (EC, "c2") not in doomed and (M, "m2") not in doomed
    assert (EC, "c1") in doomed


# -- drift -------------------------------------------------------------------------------------


def endpoint(config: str, status: str = "InService", failure: str = "") -> LiveEndpoint:
    return LiveEndpoint("e", "arn:e", status, config, failure)


def test_a_live_config_we_did_not_deploy_is_a_hand_edit() -> None:
    tags = {tagging.ATTEMPTED_CONFIG: "e-ours"}
    assert hand_edited(tags, endpoint("e-hand-made"))
    assert not hand_edited(tags, endpoint("E-OURS"))  # names are case-insensitive
    assert not hand_edited(tags, endpoint("e-old", failure="rolled back"))  # a failed rollout
    assert not hand_edited(tags, endpoint("e-old", status="Updating"))  # ours, in flight
    assert not hand_edited({}, endpoint("e-any"))  # tags predate the attempted config
    assert not hand_edited(None, endpoint("e-any"))
