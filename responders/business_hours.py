"""Business-hours arithmetic: service-level clocks that only tick while the city's staff work.

Case deadlines are promised in business hours ("we answer within 8 working hours"), so a case
opened on Friday afternoon is not late on Saturday. Everything here is pure and deterministic, so
the SLA logic can be tested without a database or a real clock.

Semantics worth knowing:

* Each open local date has one window, `[start, end)` on the local wall clock (`end` of
  `time(0)` means midnight at the end of the day). The wall clock decides when the window opens
  and closes, so 09:00-17:00 is 8 hours on daylight-saving days too (the change is at night).
* Inside a window, real elapsed time counts. A window that contains the change itself (24/7 in
  Europe/Paris) is 23 or 25 hours long that day: counting wall-clock hours there would count one
  real hour twice or give an hour no duration, and `add` would stop being the inverse of
  `hours_between`.
* A wall time the spring-forward skips opens or closes the window when the clock jumps; one the
  fall-back repeats means its first occurrence.
* Long spans step window by window (one per open day), never minute by minute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MIDNIGHT = time(0)
_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_ONE_HOUR = timedelta(hours=1)
_TICK = timedelta(microseconds=1)

Window = tuple[datetime, datetime]


class BusinessCalendar:
    """Working hours in a time zone (zoneinfo), on some weekdays, minus holidays.

    Inputs are aware datetimes in any time zone; every datetime returned is aware UTC, so results
    compare and store the same way whatever zone the caller works in.
    """

    def __init__(
        self,
        timezone: str = "UTC",
        days: Iterable[str] = ("mon", "tue", "wed", "thu", "fri"),
        start: time = time(9),
        end: time = time(17),
        holidays: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self._zone = _zone(timezone)
        if isinstance(days, str):
            raise ValueError(f"days must be a list of weekday names, not the string {days!r}")
        self.days = frozenset(_weekday(name) for name in days)
        if not self.days:
            raise ValueError("a business calendar needs at least one open weekday")
        self.start = _wall_time(start, "start")
        self.end = _wall_time(end, "end")
        if self.end != _MIDNIGHT and self.start >= self.end:
            raise ValueError(
                f"business hours must start before they end (start {start}, end {end}); "
                "use end=time(0) for midnight at the end of the day"
            )
        self.holidays = frozenset(_holiday(day) for day in holidays)
        # Every open weekday recurs within 7 days and each holiday can close one of them, so a
        # longer run of closed days means no window can ever open (a guard against looping).
        self._max_closed_days = 7 * (len(self.holidays) + 2)

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Every hour counts: for cities that set no business hours, and for tests."""
        return cls("UTC", WEEKDAYS, _MIDNIGHT, _MIDNIGHT)

    def __repr__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in sorted(self.days))
        end = "24:00" if self.end == _MIDNIGHT else self.end.isoformat("minutes")
        return (
            f"BusinessCalendar({self.timezone} {days} {self.start.isoformat('minutes')}-{end}, "
            f"{len(self.holidays)} holidays)"
        )

    def is_open(self, at: datetime) -> bool:
        """Whether `at` lies inside a window (the opening instant counts, the closing does not)."""
        moment = _utc(at)
        day = self._local_date(moment)
        for candidate in (day - _ONE_DAY, day, day + _ONE_DAY):
            window = self._window(candidate)
            if window is not None and window[0] <= moment < window[1]:
                return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """`at` itself when open, else the next opening: where an SLA clock starts ticking."""
        return self.add(at, 0)

    def add(self, at: datetime, hours: float) -> datetime:
        """The moment `hours` business hours after `at`.

        Starting outside hours counts from the next opening, so `hours=0` gives `next_open`. When
        the last hour ends exactly at a closing time, that closing instant is returned (Friday
        16:00 + 1h is Friday 17:00, not Monday 09:00): a deadline at closing time is the honest
        reading of "within N business hours".
        """
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"business hours to add must be a finite number >= 0, not {hours}")
        moment = _utc(at)
        left = timedelta(hours=hours)
        for opens, closes in self._windows(self._local_date(moment) - _ONE_DAY):
            if closes <= moment:
                continue
            begin = max(opens, moment)
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        raise AssertionError("unreachable: _windows never ends")  # pragma: no cover

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours in `[start, end)`; negative when `end` is before `start`."""
        first, last = _utc(start), _utc(end)
        if last < first:
            return -self.hours_between(last, first)
        total = _ZERO
        for opens, closes in self._windows(self._local_date(first) - _ONE_DAY):
            if opens >= last:
                break
            total += max(_ZERO, min(closes, last) - max(opens, first))
        return total / _ONE_HOUR

    # --- windows ------------------------------------------------------------------------------

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    def _windows(self, first: date) -> Iterator[Window]:
        """The open windows from local date `first` on, in order; callers stop iterating."""
        day, closed = first, 0
        while True:
            window = self._window(day)
            if window is None:
                closed += 1
                if closed > self._max_closed_days:
                    raise RuntimeError(f"{self!r} never opens after {day - _ONE_DAY * closed}")
            else:
                closed = 0
                yield window
            day += _ONE_DAY

    def _window(self, day: date) -> Window | None:
        """The UTC instants when local date `day` opens and closes; None when closed all day."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = self._instant(day, self.start)
        if self.end == _MIDNIGHT:
            closes = self._instant(day + _ONE_DAY, _MIDNIGHT)
        else:
            closes = self._instant(day, self.end)
        # Empty only when both edges fall in one skipped stretch of wall time.
        return (opens, closes) if opens < closes else None

    def _instant(self, day: date, wall_time: time) -> datetime:
        """The UTC instant the local clock reads `wall_time` on `day` (first time, or the jump)."""
        wall = datetime.combine(day, wall_time)
        moment = wall.replace(tzinfo=self._zone).astimezone(UTC)
        if moment.astimezone(self._zone).replace(tzinfo=None) == wall:
            return moment  # exists; fold=0 already picked the first of two readings
        # Skipped by a jump forward. Either reading of the wall time brackets the jump: before it
        # the clock reads earlier than `wall`, after it later. Bisect to the microsecond.
        low = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        high = moment
        if low > high:
            low, high = high, low
        while high - low > _TICK:
            middle = low + (high - low) // 2
            if middle.astimezone(self._zone).replace(tzinfo=None) >= wall:
                high = middle
            else:
                low = middle
        return high


def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'"
        ) from error


def _weekday(name: str) -> int:
    key = name.strip().lower() if isinstance(name, str) else name
    for index, short in enumerate(WEEKDAYS):
        if key in (short, _FULL_NAMES[index]):
            return index
    raise ValueError(f"unknown weekday {name!r}: use mon, tue, wed, thu, fri, sat or sun")


def _wall_time(value: time, what: str) -> time:
    """A naive local time: a time zone on it would contradict the calendar's own."""
    if not isinstance(value, time):
        raise ValueError(f"business hours {what} must be a datetime.time, not {value!r}")
    if value.tzinfo is not None:
        raise ValueError(f"business hours {what} must be a local time without a time zone")
    return value


def _holiday(value: date) -> date:
    # A datetime is a date too, but never equals one: it would silently close nothing.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValueError(f"holidays are local dates (datetime.date), not {value!r}")
    return value


def _utc(at: datetime) -> datetime:
    """Naive datetimes are refused: guessing their zone is how deadlines end up hours off."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, not {at!r}")
    return at.astimezone(UTC)
