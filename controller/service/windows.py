"""Deploy windows: when the `run` service may change endpoints, from a file given to `run`.

The file (`run --deploy-windows FILE`) is a YAML list independent of the manifests, because who may
deploy when is the platform team's call, not each endpoint owner's:

    - kind: deny                 # allow | deny
      schedule: "0 18 * * 5"     # 5-field cron (minute hour day-of-month month day-of-week)
      duration: 62h              # how long each occurrence lasts: 90m, 2h, 1d, 1h30m
      timezone: Europe/Berlin    # IANA name; default UTC
      endpoints: ["*-prod"]      # optional globs on the endpoint name (or its key)
      labels: {tier: critical}   # optional; every pair must match metadata.labels

Rules: a deny window that is open always wins; if any allow window applies to an endpoint, its
changes are applied only while one is open; with no applicable window changes apply any time.
Outside a window the runner still reconciles with apply=False (status stays current) and checks
back when the gate next opens. The cron matcher is ours (no cron library is a dependency): fields
take `*`, lists, ranges, steps and names, with Vixie cron's rule that when both day-of-month and
day-of-week are restricted a day matches if either does. Cron times are wall-clock times in the
window's timezone; around a DST change an occurrence in the skipped or repeated hour is taken at
the offset before the change.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controller.errors import ControllerError

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# How far ahead next_match looks before deciding a schedule never fires (e.g. "0 0 30 2 *").
_HORIZON = timedelta(days=366 * 5)
_MINUTE = timedelta(minutes=1)
# How far ahead a deny window's end is worked out for the message that reports it.
_REPORT_HORIZON = timedelta(days=7)


class WindowError(ControllerError):
    """The deploy-windows file or one of its cron expressions is invalid."""


def _parse_value(text: str, low: int, names: list[str] | None) -> int:
    if names and text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        raise WindowError(f"{text!r} is not a number" + (" or a name" if names else ""))
    return int(text)


def _parse_field(text: str, low: int, high: int, names: list[str] | None = None) -> frozenset[int]:
    """One cron field -> the set of values it matches; `high` is inclusive."""
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = _parse_value(step_text, 1, None) if step_text else 1
        if step < 1:
            raise WindowError(f"step in {part!r} must be at least 1")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _parse_value(first, low, names), _parse_value(last, low, names)
        else:
            start = _parse_value(body, low, names)
            end = high if step_text else start  # "5/15" means 5-high/15, as in Vixie cron
        if not low <= start <= end <= high:
            raise WindowError(f"{part!r} is outside {low}-{high} or an empty range")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed 5-field cron expression; times are naive wall-clock datetimes."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday; a 7 in the source is folded into 0
    dom_star: bool  # the day-of-month field starts with "*"
    dow_star: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        text = _NICKNAMES.get(expression.strip().lower(), expression)
        fields = text.split()
        if len(fields) != 5:
            raise WindowError(f"cron {expression!r}: need 5 fields, got {len(fields)}")
        try:
            weekdays = _parse_field(fields[4], 0, 7, _DAYS)
            return cls(
                minutes=_parse_field(fields[0], 0, 59),
                hours=_parse_field(fields[1], 0, 23),
                days=_parse_field(fields[2], 1, 31),
                months=_parse_field(fields[3], 1, 12, _MONTHS),
                weekdays=frozenset(d % 7 for d in weekdays),
                dom_star=fields[2].startswith("*"),
                dow_star=fields[4].startswith("*"),
            )
        except WindowError as e:
            raise WindowError(f"cron {expression!r}: {e}") from None

    def day_matches(self, when: datetime) -> bool:
        in_dom = when.day in self.days
        in_dow = (when.isoweekday() % 7) in self.weekdays
        if self.dom_star or self.dow_star:
            return in_dom and in_dow
        return in_dom or in_dow  # Vixie cron: both restricted -> either one

    def matches(self, when: datetime) -> bool:
        return (
            when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and self.day_matches(when)
        )

    def next_match(self, after: datetime) -> datetime | None:
        """The first matching whole minute at or after `after`; None if none within 5 years."""
        when = after.replace(second=0, microsecond=0)
        if when < after:
            when += _MINUTE
        limit = when + _HORIZON
        while when <= limit:
            if when.month not in self.months:
                year, month = divmod(when.month, 12)  # month is 1-based: this is the next one
                when = when.replace(year=when.year + year, month=month + 1, day=1, hour=0, minute=0)
            elif not self.day_matches(when):
                when = when.replace(hour=0, minute=0) + timedelta(days=1)
            elif when.hour not in self.hours:
                when = when.replace(minute=0) + timedelta(hours=1)
            elif when.minute not in self.minutes:
                later = [m for m in self.minutes if m > when.minute]
                if later:
                    when = when.replace(minute=min(later))
                else:
                    when = when.replace(minute=0) + timedelta(hours=1)
            else:
                return when
        return None


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1d', '1h30m' -> timedelta; at least one minute."""
    match = _DURATION.match(text.strip().lower())
    if not match or not any(match.groups()):
        raise WindowError(f"duration {text!r}: use e.g. 30m, 2h, 1d or 1h30m")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    duration = timedelta(days=days, hours=hours, minutes=minutes)
    if duration < _MINUTE:
        raise WindowError(f"duration {text!r} must be at least one minute")
    return duration


class WindowSpec(BaseModel):
    """One entry of the deploy-windows file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["allow", "deny"]
    schedule: str
    duration: str
    timezone: str = "UTC"
    endpoints: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str) -> str:
        try:
            Cron.parse(value)
        except WindowError as e:
            raise ValueError(str(e)) from None
        return value

    @field_validator("duration")
    @classmethod
    def _check_duration(cls, value: str) -> str:
        try:
            parse_duration(value)
        except WindowError as e:
            raise ValueError(str(e)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (an IANA name such as UTC)") from None
        return value


@dataclass(frozen=True)
class Window:
    """One deploy window, parsed: which endpoints it covers and when it is open."""

    kind: Literal["allow", "deny"]
    cron: Cron
    duration: timedelta
    tz: tzinfo
    endpoints: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    schedule: str = ""  # as written, for messages

    @classmethod
    def from_spec(cls, spec: WindowSpec) -> Window:
        return cls(
            kind=spec.kind,
            cron=Cron.parse(spec.schedule),
            duration=parse_duration(spec.duration),
            tz=ZoneInfo(spec.timezone),
            endpoints=tuple(spec.endpoints),
            labels=tuple(sorted(spec.labels.items())),
            schedule=spec.schedule,
        )

    def applies(self, name: str, key: str, labels: Mapping[str, str]) -> bool:
        """Globs match the endpoint name or its key; every label pair must be present."""
        if self.endpoints and not any(
            fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(key, glob)
            for glob in self.endpoints
        ):
            return False
        return all(labels.get(k) == v for k, v in self.labels)

    def next_start(self, now: datetime) -> datetime | None:
        """The first occurrence strictly after `now` (UTC-aware in, UTC-aware out)."""
        local = now.astimezone(self.tz).replace(tzinfo=None)
        for _ in range(120):  # more than the minutes of a repeated hour at a DST change
            start = self.cron.next_match(local + timedelta(microseconds=1))
            if start is None:
                return None
            when = start.replace(tzinfo=self.tz).astimezone(UTC)
            if when > now:
                return when
            local = start  # a wall time of the repeated hour that already passed: look further
        return None

    def open_until(self, now: datetime, limit: datetime | None = None) -> datetime | None:
        """If an occurrence covers `now`, when the run of overlapping occurrences ends.

        Merging stops once the end passes `limit` (callers need no more): "* * * * *" with a
        long duration never ends.
        """
        # An occurrence starting at s covers now iff now - duration < s <= now.
        start = self.next_start(now - self.duration)
        if start is None or start > now:
            return None
        end = start + self.duration
        for _ in range(1000):
            if limit is not None and end >= limit:
                break
            following = self.next_start(start)
            if following is None or following > end:
                break
            start, end = following, following + self.duration
        return end

    def describe(self) -> str:
        return f"{self.kind} window {self.schedule!r} ({self.duration})"


@dataclass(frozen=True)
class Gate:
    """Whether an endpoint may be changed now, and if not, why."""

    open: bool
    reason: str | None = None


class WindowPolicy:
    """All deploy windows; answers 'may this endpoint change now?' and 'when next?'."""

    def __init__(self, windows: list[Window] | None = None) -> None:
        self.windows = list(windows or [])

    def gate(self, name: str, key: str, labels: Mapping[str, str], now: datetime) -> Gate:
        applicable = [w for w in self.windows if w.applies(name, key, labels)]
        for window in applicable:
            if window.kind == "deny" and window.open_until(now, limit=now) is not None:
                until = window.open_until(now, limit=now + _REPORT_HORIZON)
                return Gate(False, f"{window.describe()} is open until {until:%Y-%m-%d %H:%M} UTC")
        allows = [w for w in applicable if w.kind == "allow"]
        if allows and all(w.open_until(now, limit=now) is None for w in allows):
            return Gate(False, "outside every allow window")
        return Gate(True)

    def next_open(
        self,
        name: str,
        key: str,
        labels: Mapping[str, str],
        now: datetime,
        horizon: timedelta = timedelta(days=366),
    ) -> datetime | None:
        """The first time after `now` the gate opens; None if not within `horizon`."""
        applicable = [w for w in self.windows if w.applies(name, key, labels)]
        limit = now + horizon
        when = now
        for _ in range(500):
            changes = [c for w in applicable if (c := _next_change(w, when, limit)) is not None]
            if not changes or min(changes) > limit:
                return None
            when = min(changes)
            if self.gate(name, key, labels, when).open:
                return when
        return None


def _next_change(window: Window, now: datetime, limit: datetime) -> datetime | None:
    """The next instant this window opens or closes; the gate can change only at these."""
    until = window.open_until(now, limit)
    return until if until is not None else window.next_start(now)


def load_windows(path: Path) -> WindowPolicy:
    """Read and validate the deploy-windows file, reporting every bad entry at once."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise WindowError(f"{path}: {e}") from e
    if data is None:
        return WindowPolicy()
    if not isinstance(data, list):
        raise WindowError(f"{path}: expected a YAML list of windows")
    windows: list[Window] = []
    problems: list[str] = []
    for index, entry in enumerate(data):
        try:
            windows.append(Window.from_spec(WindowSpec.model_validate(entry)))
        except ValidationError as e:
            for err in e.errors():
                where = "".join(f".{p}" for p in err["loc"])
                problems.append(f"{path}: [{index}]{where}: {err['msg']}")
    if problems:
        raise WindowError("\n".join(problems))
    return WindowPolicy(windows)
