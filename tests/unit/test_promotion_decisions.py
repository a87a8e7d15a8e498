"""The rules `run --promote` follows, as pure functions: measurement schedule, holds, soak,
auto-promotion defaults, the last verified version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.aws.stages.verdicts import Verdict
from controller.manifests.pipelines.model import Stage, Verification
from controller.promotion.decisions import (
    auto_promotes,
    held_by,
    last_verified,
    may_promote,
    measurement_times,
    reviewed,
)
from controller.promotion.pullrequests import Decision

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHECK = {"name": "errors", "errorRate": {}, "max": 0.01}


def stage(**extra: object) -> Stage:
    return Stage.model_validate({"name": "prod", "endpoints": {"targets": ["prod"]}, **extra})


def verification(**extra: object) -> Verification:
    return Verification.model_validate({"metrics": [CHECK], **extra})


def verdict(status: str, at: datetime = NOW, where: str = "staging") -> Verdict:
    return Verdict(where, status, at.isoformat().replace("+00:00", "Z"))


def test_measurements_fall_due_after_the_delay_one_interval_apart() -> None:
    v = verification(interval="5m", count=3, initialDelay="2m", consecutiveErrorLimit=1)
    started = NOW

    assert measurement_times(v, started, NOW + timedelta(minutes=7)) == []  # not settled yet
    # Each window is read a minute after it closes (CloudWatch publishes a minute late).
    assert measurement_times(v, started, NOW + timedelta(minutes=12)) == [
        NOW + timedelta(minutes=7)
    ]
    due = measurement_times(v, started, NOW + timedelta(minutes=13))
    assert due == [NOW + timedelta(minutes=7), NOW + timedelta(minutes=12)]
    # Never more than count + consecutiveErrorLimit, however late the replica looks.
    assert len(measurement_times(v, started, NOW + timedelta(days=1))) == 4


@given(
    st.integers(min_value=1, max_value=3600),
    st.integers(min_value=1, max_value=20),
    st.integers(min_value=0, max_value=7200),
    st.integers(min_value=0, max_value=200_000),
)
def test_the_schedule_depends_only_on_the_start(
    interval: int, count: int, delay: int, later: int
) -> None:
    """What one replica measured by `now` is a prefix of what another sees later: a restart
    repeats no measurement and skips none."""
    v = verification(interval=interval, count=count, initialDelay=delay or "0s")
    earlier = measurement_times(v, NOW, NOW + timedelta(seconds=later))
    after = measurement_times(v, NOW, NOW + timedelta(seconds=later + interval))
    assert after[: len(earlier)] == earlier
    assert all(t <= NOW + timedelta(seconds=later) for t in earlier)
    assert all(t - NOW >= timedelta(seconds=delay + interval) for t in earlier)


def test_a_prod_target_is_not_auto_promoted_unless_the_stage_says_so() -> None:
    assert auto_promotes(stage(), [{"env": "staging"}]) is True
    assert auto_promotes(stage(), [{"env": "staging"}, {"tier": "Production"}]) is False
    assert auto_promotes(stage(autoPromote=True), [{"env": "prod"}]) is True
    assert auto_promotes(stage(autoPromote=False), [{"env": "dev"}]) is False


def test_a_verified_version_moves_on_and_anything_less_waits() -> None:
    def ask(**overrides: object) -> str | None:
        kwargs: dict[str, object] = {
            "allowed": True,
            "version": 3,
            "pinned": 2,
            "upstream": [verdict("Verified")],
            "verdicts": [verdict("Verified")],
            "now": NOW,
        }
        kwargs.update(overrides)
        blocked = may_promote(stage(), **kwargs)  # type: ignore[arg-type]
        return None if blocked is None else blocked.reason

    assert ask() is None
    assert ask(allowed=False) == "autoPromote is off for stage prod"
    assert ask(pinned=3) == "stage prod already pins v3"
    assert ask(pinned=4) == "stage prod already pins v4"  # never moved back
    assert ask(upstream=[Verdict("staging", "", "")]) == "v3 is not verified in staging"
    assert ask(upstream=[verdict("Verifying")]) == "v3 is Verifying in staging"
    assert ask(upstream=[verdict("Inconclusive")]) == "v3 is Inconclusive in staging"
    # Fan-in: every upstream stage must have verified it.
    eu = verdict("Verified", where="staging-eu")
    assert ask(upstream=[verdict("Verified"), eu]) is None
    assert ask(upstream=[eu, Verdict("staging-us", "", "")]) == "v3 is not verified in staging-us"
    held = [verdict("Verified"), verdict("Failed", where="canary")]
    assert ask(verdicts=held) == "v3 is held: stage canary recorded Failed"
    # The first stage has no upstream: the registry's Approved version is the candidate.
    assert ask(upstream=None) is None


def test_a_soak_time_counts_from_the_upstream_verdict() -> None:
    soaking = stage(requiredSoakTime="1h")
    verified = verdict("Verified", NOW - timedelta(minutes=20))
    blocked = may_promote(
        soaking,
        allowed=True,
        version=3,
        pinned=2,
        upstream=[verified],
        verdicts=[verified],
        now=NOW,
    )
    assert blocked is not None and blocked.retry_at == NOW + timedelta(minutes=40)
    # With several upstream stages the soak counts from the last to verify.
    later_eu = verdict("Verified", NOW - timedelta(minutes=5), where="staging-eu")
    fan_in = may_promote(
        soaking,
        allowed=True,
        version=3,
        pinned=2,
        upstream=[verified, later_eu],
        verdicts=[verified, later_eu],
        now=NOW,
    )
    assert fan_in is not None and fan_in.retry_at == NOW + timedelta(minutes=55)
    assert fan_in.reason == "soaking in staging-eu until 12:55:00Z"
    later = may_promote(
        soaking,
        allowed=True,
        version=3,
        pinned=2,
        upstream=[verified],
        verdicts=[verified],
        now=NOW + timedelta(minutes=41),
    )
    assert later is None


def test_held_and_last_verified() -> None:
    assert held_by([verdict("Verified"), verdict("Inconclusive")]) is None
    assert held_by([verdict("Failed", where="dev")]) == verdict("Failed", where="dev")
    history = {
        5: [verdict("Failed", where="dev")],
        4: [verdict("Inconclusive", where="dev")],
        3: [verdict("Verified", where="dev")],
        2: [verdict("Verified", where="dev")],
    }
    assert last_verified("dev", history, below=5) == 3
    assert last_verified("dev", history, below=3) == 2
    assert last_verified("staging", history, below=5) is None


URL = "https://github.example/org/deploy/pull/7"


@pytest.mark.parametrize(
    ("decision", "status", "detail"),
    [
        (None, None, ""),
        (Decision("open", URL), None, ""),
        (
            Decision("open", URL, approved_by=("al",)),
            "Verified",
            f"approved by review: al on {URL}",
        ),
        (Decision("merged", URL, "di"), "Verified", f"approved by review: {URL} merged by di"),
        (Decision("closed", URL), "Failed", f"rejected by review: {URL} closed unmerged"),
        (
            Decision("open", URL, approved_by=("al",), changes_requested_by=("bo",)),
            "Failed",
            f"rejected by review: bo requested changes on {URL}",
        ),
    ],
)
def test_a_pull_requests_review_decides_an_inconclusive_stage(
    decision: Decision | None, status: str | None, detail: str
) -> None:
    found = reviewed("staging", decision, "2026-12-05T12:00:00Z")

    if status is None:
        assert found is None
    else:
        assert found == Verdict("staging", status, "2026-12-05T12:00:00Z", detail)
