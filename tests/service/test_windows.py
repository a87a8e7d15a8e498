"""Deploy windows: the cron matcher, durations, the allow/deny rules and the windows file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.service.windows import (
    Cron,
    Window,
    WindowError,
    WindowPolicy,
    WindowSpec,
    load_windows,
    parse_duration,
)

# 2025-06-13 is a Friday; 2025-06-14 a Saturday; 2025-06-16 a Monday.
FRI = datetime(2025, 6, 13, 10, 30)


@pytest.mark.parametrize(
    ("expression", "when", "expected"),
    [
        ("* * * * *", FRI, True),
        ("*/15 * * * *", FRI, True),
        ("*/15 * * * *", FRI.replace(minute=31), False),
        ("5/15 * * * *", FRI.replace(minute=35), True),  # 5,20,35,50
        ("5/15 * * * *", FRI.replace(minute=30), False),
        ("30 10 * * *", FRI, True),
        ("0,30 9-17 * * 1-5", FRI, True),
        ("0,30 9-17 * * 1-5", FRI.replace(day=14), False),  # Saturday
        ("0,30 9-17/2 * * *", FRI, False),  # hours 9,11,13,15,17
        ("30 10 13 6 *", FRI, True),
        ("30 10 13 7 *", FRI, False),
        ("30 10 * jun fri", FRI, True),
        ("30 10 * JAN-MAR *", FRI, False),
        ("30 10 * * 0", FRI.replace(day=15), True),  # Sunday as 0
        ("30 10 * * 7", FRI.replace(day=15), True),  # Sunday as 7
        # Vixie cron: both day fields restricted -> either matches.
        ("30 10 1 * 5", FRI, True),  # a Friday, not the 1st
        ("30 10 13 * 1", FRI, True),  # the 13th, not a Monday
        ("30 10 12 * 1", FRI, False),  # neither
        # One day field is "*": both must match (the star matches everything).
        ("30 10 * * 1", FRI, False),
        ("30 10 */2 * 5", FRI, True),  # "*/2" counts as a star field: 13 is odd -> in 1,3,..
        ("30 10 */2 * 5", FRI.replace(day=20), False),  # Friday, but 20 not in 1,3,5,..
        ("@hourly", FRI.replace(minute=0), True),
        ("@daily", FRI, False),
    ],
)
def test_cron_matches(expression: str, when: datetime, expected: bool) -> None:
    assert Cron.parse(expression).matches(when) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 8",
        "* * * *",
        "* * * * * *",
        "5-1 * * * *",
        "*/0 * * * *",
        "x * * * *",
        "1,,2 * * * *",
        "-1 * * * *",
    ],
)
def test_invalid_cron_is_rejected(expression: str) -> None:
    with pytest.raises(WindowError, match="cron"):
        Cron.parse(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("30 10 * * *", FRI, FRI),
        ("30 10 * * *", FRI + timedelta(seconds=1), FRI + timedelta(days=1)),
        ("30 9 * * 1-5", FRI, datetime(2025, 6, 16, 9, 30)),
        ("0 0 1 * *", datetime(2025, 12, 31, 23, 59), datetime(2026, 1, 1)),
        ("0 0 29 2 *", datetime(2025, 3, 1), datetime(2028, 2, 29)),
        ("0 0 30 2 *", datetime(2025, 3, 1), None),
        ("*/20 * * * *", datetime(2025, 1, 1, 23, 41), datetime(2025, 1, 2)),
    ],
)
def test_next_match(expression: str, after: datetime, expected: datetime | None) -> None:
    assert Cron.parse(expression).next_match(after) == expected


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    single = value.map(str)
    span = st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}")
    step = st.tuples(st.sampled_from(["*", ""]), st.integers(1, 9)).map(
        lambda p: f"{p[0] or low}/{p[1]}" if p[0] == "" else f"*/{p[1]}"
    )
    item = st.one_of(st.just("*"), single, span, step)
    return st.lists(item, min_size=1, max_size=3).map(",".join)


CRONS = st.tuples(_field(0, 59), _field(0, 23), _field(1, 31), _field(1, 12), _field(0, 7)).map(
    " ".join
)
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1))


@settings(max_examples=150, deadline=None)
@given(expression=CRONS, after=TIMES)
def test_next_match_is_the_first_match(expression: str, after: datetime) -> None:
    cron = Cron.parse(expression)
    found = cron.next_match(after)
    start = after.replace(second=0, microsecond=0)
    if start < after:
        start += timedelta(minutes=1)
    if found is None:  # no match in 5 years: the first day-scan window shows none either
        assert not any(cron.matches(start + timedelta(minutes=m)) for m in range(3000))
        return
    assert found >= after
    assert cron.matches(found)
    gap = int((found - start).total_seconds() // 60)
    assert not any(cron.matches(start + timedelta(minutes=m)) for m in range(min(gap, 3000)))


@given(expression=CRONS, when=TIMES)
def test_a_minute_matches_iff_it_is_its_own_next_match(expression: str, when: datetime) -> None:
    cron = Cron.parse(expression)
    minute = when.replace(second=0, microsecond=0)
    assert cron.matches(minute) == (cron.next_match(minute) == minute)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        ("1d2h", timedelta(hours=26)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "0m", "2x", "1m2h", "-1h"])
def test_bad_durations_are_rejected(text: str) -> None:
    with pytest.raises(WindowError):
        parse_duration(text)


def window(kind: str, schedule: str, duration: str, **extra: object) -> Window:
    spec = WindowSpec.model_validate(
        {"kind": kind, "schedule": schedule, "duration": duration, **extra}
    )
    return Window.from_spec(spec)


NOW = datetime(2025, 6, 13, 10, 30, tzinfo=UTC)  # Friday


def gate(
    policy: WindowPolicy,
    name: str = "churn-prod",
    labels: dict[str, str] | None = None,
    now: datetime = NOW,
) -> bool:
    return policy.gate(name, f"us-east-1/{name}", labels or {}, now).open


def test_no_windows_means_always_open() -> None:
    assert gate(WindowPolicy())


def test_deny_beats_allow() -> None:
    policy = WindowPolicy([window("allow", "* * * * *", "1d"), window("deny", "0 10 * * *", "2h")])
    assert not gate(policy)
    assert "deny window" in (policy.gate("e", "k", {}, NOW).reason or "")
    assert gate(policy, now=NOW.replace(hour=12))


def test_allow_windows_restrict_changes_to_their_hours() -> None:
    policy = WindowPolicy([window("allow", "0 9 * * 1-5", "8h")])  # weekdays 09:00-17:00
    assert gate(policy)
    assert not gate(policy, now=NOW.replace(hour=17))
    assert not gate(policy, now=NOW.replace(day=14))  # Saturday


def test_windows_select_endpoints_by_glob_and_labels() -> None:
    policy = WindowPolicy(
        [
            window("deny", "* * * * *", "1d", endpoints=["*-prod"]),
            window("deny", "* * * * *", "1d", labels={"tier": "critical"}),
        ]
    )
    assert not gate(policy, "churn-prod")
    assert gate(policy, "churn-dev")
    assert not gate(policy, "churn-dev", {"tier": "critical"})
    assert gate(policy, "churn-dev", {"tier": "batch"})
    assert not gate(WindowPolicy([window("deny", "* * * * *", "1h", endpoints=["us-east-1/*"])]))


def test_timezone_is_applied_to_the_schedule() -> None:
    berlin = WindowPolicy([window("allow", "0 9 * * *", "1h", timezone="Europe/Berlin")])
    assert gate(berlin, now=datetime(2025, 6, 13, 7, 30, tzinfo=UTC))  # 09:30 CEST
    assert not gate(berlin, now=datetime(2025, 6, 13, 9, 30, tzinfo=UTC))


def test_next_open_is_the_next_allow_start() -> None:
    policy = WindowPolicy([window("allow", "0 22 * * *", "2h")])
    assert policy.next_open("e", "k", {}, NOW) == NOW.replace(hour=22, minute=0)


def test_next_open_is_the_end_of_a_deny_window() -> None:
    policy = WindowPolicy([window("deny", "0 10 * * *", "2h")])
    assert policy.next_open("e", "k", {}, NOW) == NOW.replace(hour=12, minute=0)


def test_next_open_skips_allow_starts_inside_a_deny_window() -> None:
    policy = WindowPolicy(
        [
            window("allow", "0 * * * *", "30m"),  # every hour, first half
            window("deny", "0 11 * * *", "3h"),  # 11:00-14:00
        ]
    )
    assert policy.next_open("e", "k", {}, NOW) == NOW.replace(hour=14, minute=0)


def test_next_open_merges_overlapping_deny_occurrences() -> None:
    policy = WindowPolicy([window("deny", "0 * * * *", "90m")])  # never closes
    assert policy.next_open("e", "k", {}, NOW) is None


def test_load_windows_file(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_text(
        "- kind: deny\n  schedule: '0 18 * * 5'\n  duration: 62h\n  timezone: Europe/Berlin\n"
        "  endpoints: ['*-prod']\n"
        "- kind: allow\n  schedule: '@daily'\n  duration: 1d\n  labels: {tier: web}\n"
    )
    policy = load_windows(path)
    assert [w.kind for w in policy.windows] == ["deny", "allow"]
    assert policy.windows[1].labels == (("tier", "web"),)


def test_load_windows_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_text(
        "- {kind: maybe, schedule: '* * * * *', duration: 1h}\n"
        "- {kind: deny, schedule: '61 * * * *', duration: 1h, timezone: Mars/Olympus}\n"
        "- {kind: deny, schedule: '* * * * *', duration: 1h, extra: 1}\n"
    )
    with pytest.raises(WindowError) as caught:
        load_windows(path)
    message = str(caught.value)
    for fragment in ("[0].kind", "[1].schedule", "[1].timezone", "[2].extra"):
        assert fragment in message


def test_load_windows_needs_a_list(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_text("kind: deny\n")
    with pytest.raises(WindowError, match="list"):
        load_windows(path)
    path.write_text("")
    assert load_windows(path).windows == []


@pytest.mark.parametrize(
    ("zone", "now"),
    [
        ("Europe/Berlin", datetime(2025, 3, 30, 0, 0, tzinfo=UTC)),  # 02:00-03:00 is skipped
        ("America/New_York", datetime(2025, 11, 2, 5, 40, tzinfo=UTC)),  # 01:xx happens twice
        ("America/New_York", datetime(2025, 11, 2, 6, 10, tzinfo=UTC)),
    ],
)
def test_next_start_moves_forward_across_dst_changes(zone: str, now: datetime) -> None:
    w = window("allow", "*/15 1-2 * * *", "10m", timezone=zone)
    when = now
    for _ in range(20):
        following = w.next_start(when)
        assert following is not None and following > when
        when = following
