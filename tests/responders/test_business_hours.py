"""Business-hours arithmetic: weekends, holidays, DST days and the laws add/hours_between obey.

Expected instants are worked out by hand in local time, so a bug in the calendar cannot also
produce the expected value.
"""

import math
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responders.business_hours import WEEKDAYS, BusinessCalendar

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_UTC = BusinessCalendar()
WEEKDAYS_PARIS = BusinessCalendar("Europe/Paris")
WEEKDAYS_NEW_YORK = BusinessCalendar("America/New_York")
EVERY_DAY_PARIS = BusinessCalendar("Europe/Paris", WEEKDAYS)  # 9-17, Sundays too
ALL_DAY_PARIS = BusinessCalendar("Europe/Paris", WEEKDAYS, time(0), time(0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


# --- concrete cases ---------------------------------------------------------------------------


def test_friday_afternoon_rolls_over_the_weekend():
    assert WEEKDAYS_UTC.add(utc(2024, 6, 7, 16), 2) == utc(2024, 6, 10, 10)
    assert WEEKDAYS_UTC.hours_between(utc(2024, 6, 7, 16), utc(2024, 6, 10, 10)) == 2
    assert WEEKDAYS_UTC.hours_between(utc(2024, 6, 10, 10), utc(2024, 6, 7, 16)) == -2


def test_the_last_hour_ending_at_closing_time_returns_the_closing_instant():
    assert WEEKDAYS_UTC.add(utc(2024, 6, 7, 16), 1) == utc(2024, 6, 7, 17)
    # ...but a clock starting at closing time starts at the next opening
    assert WEEKDAYS_UTC.add(utc(2024, 6, 7, 17), 0) == utc(2024, 6, 10, 9)


def test_holidays_close_whole_local_dates():
    calendar = BusinessCalendar(holidays=[date(2024, 6, 10)])
    assert calendar.add(utc(2024, 6, 7, 16), 2) == utc(2024, 6, 11, 10)
    assert not calendar.is_open(utc(2024, 6, 10, 12))
    assert calendar.hours_between(utc(2024, 6, 7, 9), utc(2024, 6, 12, 9)) == 8 + 8


def test_a_start_outside_hours_counts_from_the_next_opening():
    assert WEEKDAYS_UTC.add(utc(2024, 6, 8, 12), 1) == utc(2024, 6, 10, 10)  # Saturday
    assert WEEKDAYS_UTC.add(utc(2024, 6, 6, 20), 0.5) == utc(2024, 6, 7, 9, 30)  # evening
    assert WEEKDAYS_UTC.add(utc(2024, 6, 5, 6), 8) == utc(2024, 6, 5, 17)  # early morning
    assert WEEKDAYS_UTC.hours_between(utc(2024, 6, 8), utc(2024, 6, 9, 23)) == 0


def test_zero_and_fractional_hours():
    assert WEEKDAYS_UTC.add(utc(2024, 6, 10, 11, 7), 0) == utc(2024, 6, 10, 11, 7)
    assert WEEKDAYS_UTC.add(utc(2024, 6, 10, 9), 2.75) == utc(2024, 6, 10, 11, 45)
    assert WEEKDAYS_UTC.add(utc(2024, 6, 10, 16, 30), 1.25) == utc(2024, 6, 11, 9, 45)


def test_is_open_and_next_open():
    assert WEEKDAYS_UTC.is_open(utc(2024, 6, 10, 9))
    assert WEEKDAYS_UTC.is_open(utc(2024, 6, 10, 16, 59, 59))
    assert not WEEKDAYS_UTC.is_open(utc(2024, 6, 10, 17))
    assert not WEEKDAYS_UTC.is_open(utc(2024, 6, 9, 12))
    assert WEEKDAYS_UTC.next_open(utc(2024, 6, 10, 12)) == utc(2024, 6, 10, 12)
    assert WEEKDAYS_UTC.next_open(utc(2024, 6, 8, 12)) == utc(2024, 6, 10, 9)


def test_inputs_in_any_zone_give_utc_results():
    result = WEEKDAYS_UTC.add(new_york(2024, 6, 7, 12), 2)  # 16:00 UTC on a Friday
    assert result == utc(2024, 6, 10, 10)
    assert result.tzinfo is UTC
    assert WEEKDAYS_PARIS.next_open(utc(2024, 6, 8)).tzinfo is UTC


def test_500_business_hours_cross_months_and_dst_on_the_wall_clock():
    # 62.5 days of 8 hours: 12 weeks, then Monday, Tuesday and half of Wednesday
    assert WEEKDAYS_UTC.add(utc(2024, 1, 8, 9), 500) == utc(2024, 4, 3, 13)
    # Paris springs forward on 2024-03-31, yet the deadline stays at 13:00 local
    assert WEEKDAYS_PARIS.add(paris(2024, 1, 8, 9), 500) == paris(2024, 4, 3, 13)
    assert WEEKDAYS_PARIS.hours_between(paris(2024, 1, 8, 9), paris(2024, 4, 3, 13)) == 500


def test_long_spans_step_by_days_not_minutes():
    began = clock.perf_counter()
    result = WEEKDAYS_UTC.add(utc(2024, 1, 8, 9), 20_000)  # 2,500 days: exactly 500 weeks
    assert clock.perf_counter() - began < 1.0
    friday = date(2024, 1, 8) + timedelta(weeks=499, days=4)
    assert result == datetime.combine(friday, time(17), UTC)  # ends at a closing edge


@pytest.mark.parametrize(
    ("saturday", "sunday", "monday"),
    [
        (date(2024, 3, 30), date(2024, 3, 31), date(2024, 4, 1)),  # spring forward
        (date(2024, 10, 26), date(2024, 10, 27), date(2024, 10, 28)),  # fall back
    ],
)
def test_paris_dst_days_still_have_eight_working_hours(saturday, sunday, monday):
    def local(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour), PARIS)

    assert EVERY_DAY_PARIS.hours_between(local(saturday, 9), local(monday, 9)) == 16
    assert EVERY_DAY_PARIS.add(local(sunday, 9), 8) == local(sunday, 17)
    assert EVERY_DAY_PARIS.add(local(saturday, 16), 2) == local(sunday, 10)
    assert EVERY_DAY_PARIS.is_open(local(sunday, 9))
    assert not EVERY_DAY_PARIS.is_open(local(sunday, 8))


def test_weekday_calendars_across_dst_weekends():
    assert WEEKDAYS_PARIS.add(paris(2024, 3, 29, 16), 2) == utc(2024, 4, 1, 8)  # CET -> CEST
    assert WEEKDAYS_PARIS.add(paris(2024, 10, 25, 16), 2) == utc(2024, 10, 28, 9)  # CEST -> CET
    assert WEEKDAYS_NEW_YORK.add(new_york(2024, 3, 8, 16), 2) == utc(2024, 3, 11, 14)  # EDT
    assert WEEKDAYS_NEW_YORK.add(new_york(2024, 11, 1, 16), 2) == utc(2024, 11, 4, 15)  # EST
    assert WEEKDAYS_NEW_YORK.hours_between(new_york(2024, 3, 8, 9), new_york(2024, 3, 11, 17)) == 16


def test_windows_containing_the_change_count_real_time():
    assert ALL_DAY_PARIS.hours_between(paris(2024, 3, 31), paris(2024, 4, 1)) == 23
    assert ALL_DAY_PARIS.hours_between(paris(2024, 10, 27), paris(2024, 10, 28)) == 25
    assert ALL_DAY_PARIS.add(paris(2024, 3, 31), 24) == paris(2024, 4, 1, 1)


def test_wall_times_skipped_or_repeated_by_dst():
    calendar = BusinessCalendar("Europe/Paris", WEEKDAYS, time(2, 30), time(5))
    # 02:30 does not exist on 2024-03-31: the window opens when the clock jumps to 03:00
    assert calendar.next_open(utc(2024, 3, 31)) == utc(2024, 3, 31, 1)
    assert calendar.hours_between(utc(2024, 3, 31), utc(2024, 4, 1)) == 2
    # 02:30 happens twice on 2024-10-27: the first time counts, so the window is 3.5 hours
    assert calendar.next_open(utc(2024, 10, 27)) == utc(2024, 10, 27, 0, 30)
    assert calendar.hours_between(utc(2024, 10, 27), utc(2024, 10, 28)) == 3.5


def test_an_end_of_midnight_means_the_end_of_the_day():
    evenings = BusinessCalendar(start=time(18), end=time(0))
    assert evenings.add(utc(2024, 6, 7, 23), 2) == utc(2024, 6, 10, 19)
    assert evenings.add(utc(2024, 6, 7, 23), 1) == utc(2024, 6, 8)  # closing edge at midnight


def test_always_counts_every_hour():
    calendar = BusinessCalendar.always()
    start = new_york(2024, 3, 9, 22)  # New York springs forward the next night
    # real hours: adding to a zoned datetime would move its wall clock instead
    assert calendar.add(start, 500) == start.astimezone(UTC) + timedelta(hours=500)
    assert calendar.hours_between(start, new_york(2024, 3, 12, 22)) == 71
    assert calendar.is_open(utc(2024, 12, 25, 3)) and calendar.is_open(utc(2024, 6, 8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"timezone": ""}, "unknown time zone"),
        ({"days": ["mon", "funday"]}, "unknown weekday"),
        ({"days": "mon"}, "list of weekday names"),
        ({"days": []}, "at least one open weekday"),
        ({"start": time(17), "end": time(9)}, "start before they end"),
        ({"start": time(9), "end": time(9)}, "start before they end"),
        ({"holidays": [datetime(2024, 12, 25)]}, "local dates"),
    ],
)
def test_bad_calendars_are_refused_clearly(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar(**kwargs)


def test_full_and_capitalised_weekday_names_are_accepted():
    assert BusinessCalendar(days=["Monday", "SAT"]).days == {0, 5}


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="aware"):
        WEEKDAYS_UTC.add(datetime(2024, 6, 7, 16), 1)
    with pytest.raises(ValueError, match=">= 0"):
        WEEKDAYS_UTC.add(utc(2024, 6, 7, 16), -1)
    with pytest.raises(ValueError, match=">= 0"):
        WEEKDAYS_UTC.add(utc(2024, 6, 7, 16), math.nan)


# --- properties -------------------------------------------------------------------------------

CALENDARS = [
    WEEKDAYS_UTC,
    BusinessCalendar("Europe/Paris", holidays=[date(2024, 5, 1), date(2024, 12, 25)]),
    BusinessCalendar("America/New_York", WEEKDAYS[:6], time(8, 30), time(17, 30)),
    BusinessCalendar("Asia/Kolkata", ["tue", "thu"], time(22), time(0)),
    BusinessCalendar("Europe/Paris", WEEKDAYS, time(2, 30), time(5)),
    ALL_DAY_PARIS,
    BusinessCalendar.always(),
]
calendars = st.sampled_from(CALENDARS)
moments = st.datetimes(
    min_value=datetime(2023, 1, 1),
    max_value=datetime(2026, 12, 31),
    timezones=st.sampled_from([UTC, PARIS, NEW_YORK]),
)
hours = st.floats(min_value=0, max_value=300, allow_nan=False, allow_infinity=False)
TOLERANCE = 1e-6  # timedelta rounds to microseconds
quick = settings(max_examples=60, deadline=None)


@quick
@given(calendars, moments, hours)
def test_hours_between_undoes_add(calendar, start, amount):
    assert calendar.hours_between(start, calendar.add(start, amount)) == pytest.approx(
        amount, abs=TOLERANCE
    )


@quick
@given(calendars, moments, hours, hours)
def test_add_is_monotonic_in_hours(calendar, start, one, other):
    low, high = sorted((one, other))
    assert start <= calendar.add(start, low) <= calendar.add(start, high)


@quick
@given(calendars, moments, hours)
def test_results_are_in_business_hours_or_at_a_closing_edge(calendar, start, amount):
    result = calendar.add(start, amount)
    assert result.tzinfo is UTC
    assert calendar.is_open(result) or calendar.is_open(result - timedelta(microseconds=1))


@quick
@given(calendars, moments, hours, st.floats(min_value=1e-3, max_value=50))
def test_adding_in_two_steps_equals_adding_once(calendar, start, first, second):
    once = calendar.add(start, first + second)
    twice = calendar.add(calendar.add(start, first), second)
    assert abs(once - twice) <= timedelta(microseconds=2)


@quick
@given(calendars, moments, moments, moments)
def test_hours_between_is_additive_and_antisymmetric(calendar, a, b, c):
    assert calendar.hours_between(a, b) == pytest.approx(-calendar.hours_between(b, a))
    assert calendar.hours_between(a, c) == pytest.approx(
        calendar.hours_between(a, b) + calendar.hours_between(b, c), abs=TOLERANCE
    )


@quick
@given(calendars, moments)
def test_next_open_is_the_first_open_instant(calendar, start):
    opening = calendar.next_open(start)
    assert opening >= start and calendar.is_open(opening)
    assert calendar.hours_between(start, opening) == 0
