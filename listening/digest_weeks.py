"""Weeks and days for reports: ISO weeks in a city's time zone, cut at local midnights.

A manager's "Tuesday" is their Tuesday, so a week runs from Monday 00:00 local to the next Monday
00:00 local. The local midnights are computed here, in Python, and handed to SQL as instants:
that keeps a week with a daylight-saving change right (that day has 23 or 25 hours) on SQLite and
PostgreSQL alike, with no time-zone arithmetic in SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, case

WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{1,2})$")


@dataclass(frozen=True)
class Week:
    """One ISO week in a time zone: its seven local dates and the instants that separate them."""

    label: str  # "2026-W48"
    timezone: str
    days: tuple[date, ...]  # Monday first
    bounds: tuple[datetime, ...]  # 8 aware UTC instants: each local midnight, then the end

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.timezone)

    def previous(self) -> Week:
        return week_bounds(week_label_of(self.days[0] - timedelta(days=7)), self.timezone)


def zone_of(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r} (e.g. Europe/Paris, UTC)") from exc


def week_label_of(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


def week_bounds(week: str, timezone: str = "UTC") -> Week:
    """The week `YYYY-Www` in `timezone`; ValueError says what is wrong with a bad label."""
    match = WEEK_LABEL.match(week.strip())
    if match is None:
        raise ValueError(f"week {week!r}: expected YYYY-Www, e.g. 2026-W48")
    year, number = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        raise ValueError(f"week {week!r}: {year} has no week {number}") from exc
    zone = zone_of(timezone)
    days = tuple(monday + timedelta(days=offset) for offset in range(8))
    bounds = tuple(datetime.combine(day, time(), zone).astimezone(UTC) for day in days)
    return Week(week_label_of(monday), timezone, days[:7], bounds)


def last_complete_week(now: datetime, timezone: str) -> Week:
    """The last week that has ended at `now` in `timezone`: on a Monday morning, last week."""
    today = now.astimezone(zone_of(timezone)).date()
    return week_bounds(week_label_of(today - timedelta(days=7)), timezone)


def day_bucket(column: Any, bounds: Sequence[datetime]) -> ColumnElement[int]:
    """SQL for "which day of `bounds` is this instant in": 0 for the first day, 1 for the
    second, ... (`bounds` are the days' starts followed by the end of the last day; the caller
    keeps instants outside them out with a WHERE)."""
    whens = [(column < bound, index) for index, bound in enumerate(bounds[1:-1])]
    return case(*whens, else_=len(bounds) - 2)
