"""Prune scope, deletion guards, circuit breaker and confirmed absence (core/prune/pruning.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from controller.core import tagging
from controller.core.livestate import Owned
from controller.core.plan.plans import Status
from controller.core.prune.pruning import (
    AbsenceTracker,
    OwnedEndpoint,
    PruneGuards,
    decide,
    few,
    held_plan,
    notes,
    owned_endpoints,
)
from tests.unit.builders import PROPERTY

SCOPE = "github.com/org/ml:endpoints/team-a"
OTHER = "github.com/org/ml:endpoints/team-b"


def owned(name: str, scope: str | None = SCOPE, live: bool = True) -> OwnedEndpoint:
    return OwnedEndpoint(f"us-east-1/{name}", scope, live)


def keys(*names: str) -> list[str]:
    return [f"us-east-1/{n}" for n in names]


# -- scope -------------------------------------------------------------------------------------


def test_only_this_scopes_endpoints_without_a_manifest_are_removed() -> None:
    account = [owned("a"), owned("b"), owned("x", OTHER), owned("legacy", None)]
    decision = decide(SCOPE, account, keys("a"), complete=True, guards=PruneGuards())
    assert decision.removed == tuple(keys("b"))
    assert decision.deletable == tuple(keys("b"))
    assert decision.unscoped == tuple(keys("legacy"))  # reported, never pruned


def test_manifest_keys_match_whatever_the_case() -> None:
    decision = decide(SCOPE, [owned("Churn")], keys("churn"), complete=True, guards=PruneGuards())
    assert decision.removed == ()


def test_an_unscoped_endpoint_that_still_has_a_manifest_is_not_reported() -> None:
    decision = decide(SCOPE, [owned("a", None)], keys("a"), complete=True, guards=PruneGuards())
    assert decision.unscoped == ()


def test_without_a_scope_only_untagged_endpoints_match() -> None:
    """A library caller without a scope keeps the old world: no scope tags anywhere."""
    account = [owned("old", None), owned("new")]
    decision = decide(None, account, [], complete=True, guards=PruneGuards(allow_empty=True))
    assert decision.removed == tuple(keys("old"))
    assert decision.unscoped == ()


def test_owned_endpoints_take_the_scope_of_the_endpoint_or_its_leftovers() -> None:
    def item(kind: str, name: str, endpoint: str, scope: str | None) -> Owned:
        tags = {tagging.ENDPOINT: endpoint} | ({tagging.SCOPE: scope} if scope else {})
        return Owned(kind, name, f"arn:{name}", tags)

    items = [
        ("us-east-1", item("endpoint", "a", "A", None)),
        ("us-east-1", item("endpoint-config", "a-1", "A", SCOPE)),
        ("us-east-1", item("model", "b-m", "b", OTHER)),
        ("eu-west-1", item("endpoint", "c", "c", SCOPE)),
        ("us-east-1", Owned("model", "stray", "arn:stray", {})),  # no endpoint tag: ignored
    ]
    assert owned_endpoints(items) == [
        OwnedEndpoint("eu-west-1/c", SCOPE, True),
        OwnedEndpoint("us-east-1/A", SCOPE, True),
        OwnedEndpoint("us-east-1/b", OTHER, False),
    ]


# -- guards ------------------------------------------------------------------------------------


def test_an_empty_manifest_set_deletes_nothing_unless_allowed() -> None:
    account = [owned("a"), owned("b"), owned("gone", live=False)]
    held = decide(SCOPE, account, [], complete=True, guards=PruneGuards())
    allowed = decide(SCOPE, account, [], complete=True, guards=PruneGuards(allow_empty=True))
    assert held.deletable == () and set(held.held) == set(keys("a", "b", "gone"))
    assert "--allow-empty" in held.held[keys("a")[0]]
    assert allowed.deletable == tuple(keys("a", "b", "gone"))


def test_an_incomplete_view_deletes_nothing_even_with_allow_empty() -> None:
    account = [owned("a"), owned("b")]
    decision = decide(
        SCOPE, account, keys("a"), complete=False, guards=PruneGuards(allow_empty=True)
    )
    assert decision.deletable == ()
    assert "failed to load" in decision.held[keys("b")[0]]


def test_the_breaker_holds_back_the_whole_pass_over_max_deletes() -> None:
    account = [owned(f"e{i}") for i in range(10)] + [owned("left", live=False)]
    manifests = keys("e0", "e1", "e2")
    tripped = decide(SCOPE, account, manifests, complete=True, guards=PruneGuards(max_deletes=6))
    fits = decide(SCOPE, account, manifests, complete=True, guards=PruneGuards(max_deletes=7))
    assert len(tripped.held) == 7 and "7 endpoint deletes exceed --max-deletes 6" in next(
        iter(tripped.held.values())
    )
    assert tripped.deletable == tuple(keys("left"))  # leftovers of a gone endpoint: recovery
    assert len(fits.deletable) == 8 and not fits.held


def test_the_breaker_also_takes_a_percentage_of_the_scope() -> None:
    account = [owned(f"e{i}") for i in range(4)] + [owned("x", OTHER)]
    half = decide(SCOPE, account, keys("e0", "e1"), complete=True, guards=_percent(50))
    more = decide(SCOPE, account, keys("e0"), complete=True, guards=_percent(50))
    assert half.deletable == tuple(keys("e2", "e3"))
    assert more.deletable == () and "3 of 4 endpoints (75%)" in more.held[keys("e1")[0]]


def _percent(value: float) -> PruneGuards:
    return PruneGuards(max_deletes=100, max_delete_percent=value)


@PROPERTY
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), st.booleans()),
        unique_by=lambda t: t[0],
    ),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), unique=True),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), unique=True),
    st.booleans(),
    st.booleans(),
    st.integers(0, 8),
    st.booleans(),
)
def test_no_guard_is_ever_bypassed(
    mine: list[tuple[str, bool]],
    theirs: list[str],
    manifests: list[str],
    complete: bool,
    allow_empty: bool,
    max_deletes: int,
    whole_tree: bool,
) -> None:
    account = [owned(n, live=live) for n, live in mine]
    account += [owned(f"other-{n}", OTHER) for n in theirs]
    guards = PruneGuards(allow_empty=allow_empty, max_deletes=max_deletes, whole_tree=whole_tree)
    decision = decide(SCOPE, account, keys(*manifests), complete=complete, guards=guards)
    deleted = set(decision.deletable)
    live_deleted = {o.key for o in account if o.key in deleted and o.live}
    assert deleted <= {o.key for o in account if o.scope == SCOPE}
    assert not deleted & set(keys(*manifests))
    assert len(live_deleted) <= max_deletes
    if not complete or (not manifests and not allow_empty):
        assert deleted == set()
    if not whole_tree:  # one file of the tree: its unread neighbours are never removed
        assert decision.removed == () and decision.partial
    assert set(decision.removed) == deleted | set(decision.held)


# -- reports -----------------------------------------------------------------------------------


def test_notes_name_a_few_endpoints_and_count_the_rest() -> None:
    account = [owned(f"e{i:02}") for i in range(12)] + [owned(f"l{i}", None) for i in range(7)]
    decision = decide(SCOPE, account, keys("zz"), complete=True, guards=PruneGuards())
    held, unscoped = notes(decision)
    assert held.startswith("prune held back 12 delete(s) (us-east-1/e00, ")
    assert "and 7 more" in held and "--max-deletes 5" in held
    assert unscoped.startswith("7 owned endpoint(s) without a manifest carry no")
    assert "and 2 more" in unscoped


def test_few() -> None:
    assert few([]) == ""
    assert few(["a", "b"]) == "a, b"
    assert few("abcdefg", shown=3) == "a, b, c and 4 more"


def test_a_held_plan_deletes_nothing_and_says_why() -> None:
    plan = held_plan("churn", "us-east-1", None, "circuit breaker: ...")
    assert plan.status is Status.UNCHANGED and not plan.actions
    assert plan.held == "circuit breaker: ..." and "held back" in plan.warnings[0]


# -- confirmed absence -------------------------------------------------------------------------


def test_absence_is_confirmed_only_after_the_grace() -> None:
    tracker = AbsenceTracker(grace=120.0)
    assert tracker.absent("k", now=1000.0) == 120.0
    assert tracker.absent("k", now=1100.0) == 20.0
    assert tracker.absent("k", now=1120.0) == 0.0


def test_a_manifest_back_within_the_grace_restarts_the_clock() -> None:
    tracker = AbsenceTracker(grace=120.0)
    tracker.absent("k", now=0.0)
    tracker.present(["k"])
    assert tracker.pending() == {}
    assert tracker.absent("k", now=119.0) == 120.0
    assert tracker.absent("k", now=200.0) == 39.0


def test_one_place_named_twice_lists_each_endpoint_once() -> None:
    from controller.core.prune.pruning import OwnedEndpoint, one_per_place

    places = {
        "prod": ("333", "us-east-1"),
        "alias": ("333", "us-east-1"),
        "stage": ("222", "us-east-1"),
    }
    owned = [
        OwnedEndpoint(f"{loc}/{name}", "s", True)
        for loc in ("alias", "prod", "stage")
        for name in ("churn", "gone")
    ]
    kept = one_per_place(owned, ["prod/churn", "stage/churn"], places.__getitem__)
    # churn is named at prod (so alias's view of it goes); gone is named nowhere: once, first.
    assert [o.key for o in kept] == ["alias/gone", "prod/churn", "stage/churn", "stage/gone"]
