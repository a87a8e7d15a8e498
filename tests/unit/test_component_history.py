"""Which of an inference component's Models GC may delete (core/component/history.py)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.component.history import ComponentModels, garbage

NOW = 1_000_000.0
MODELS = ["m0", "m1", "m2", "m3"]  # created in this order, m3 live
CREATED = {name: NOW - 1000 + i for i, name in enumerate(MODELS)}


def gc(**overrides: object) -> ComponentModels:
    base = ComponentModels(
        status="InService",
        live_model="m3",
        tags={tagging.HISTORY: "m2 m1 m0"},
        desired=True,
        models=MODELS,
        in_use=frozenset({"m3"}),
        keep=2,
        now=NOW,
        min_age=60,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def test_keeps_the_live_model_and_the_last_ones_live() -> None:
    assert garbage(gc(), CREATED.get) == ("m0",)


def test_history_order_not_creation_order_decides() -> None:
    assert garbage(gc(tags={tagging.HISTORY: "m0 m2 m1"}), CREATED.get) == ("m1",)


def test_nothing_while_the_component_is_updating_or_failed() -> None:
    for status in ("Updating", "Creating", "Deleting", "Failed"):
        assert garbage(gc(status=status), CREATED.get) == ()


def test_young_models_and_models_of_unknown_age_are_kept() -> None:
    assert garbage(gc(), {**CREATED, "m0": NOW - 10}.get) == ()
    assert garbage(gc(), {k: v for k, v in CREATED.items() if k != "m0"}.get) == ()


def test_a_component_without_the_history_tag_keeps_its_newest_other_models() -> None:
    assert garbage(gc(tags={}), CREATED.get) == ("m0",)
    assert garbage(gc(tags={}, keep=0), CREATED.get) == ("m0", "m1", "m2")


def test_a_removed_component_loses_every_model_no_other_component_uses() -> None:
    removed = gc(desired=False, in_use=frozenset({"m1"}))
    assert garbage(removed, CREATED.get) == ("m0", "m2", "m3")


def test_a_component_about_to_be_created_keeps_its_models() -> None:
    assert garbage(gc(status=None, live_model="", tags={}), CREATED.get) == ()


def test_models_of_a_component_gone_from_account_and_manifest_are_collected() -> None:
    gone = gc(status=None, live_model="", tags={}, desired=False, in_use=frozenset())
    assert garbage(gone, CREATED.get) == tuple(MODELS)


@settings(max_examples=200, deadline=None)
@given(
    order=st.permutations(MODELS),
    history_len=st.integers(0, 4),
    keep=st.integers(0, 4),
    ages=st.lists(st.sampled_from([None, 5.0, 500.0]), min_size=4, max_size=4),
    desired=st.booleans(),
)
def test_gc_never_deletes_a_model_in_use_young_or_kept(
    order: list[str], history_len: int, keep: int, ages: list[float | None], desired: bool
) -> None:
    live, *earlier = order
    history = earlier[:history_len]
    created = {m: (None if a is None else NOW - a) for m, a in zip(MODELS, ages, strict=True)}
    in_use = frozenset({live} if desired else set())
    doomed = garbage(
        gc(
            live_model=live,
            tags={tagging.HISTORY: " ".join(history)},
            in_use=in_use,
            keep=keep,
            desired=desired,
        ),
        created.get,
    )
    assert not in_use & set(doomed)
    for model in doomed:
        made = created[model]
        assert made is not None and NOW - made >= 60  # never young, never of unknown age
    if desired:
        assert not set(history[:keep]) & set(doomed)
        assert live not in doomed
