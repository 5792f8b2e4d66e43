"""Case service levels: due times, the stage a staff card shows, and when to escalate.

All on a UTC Monday-Friday 09:00-17:00 calendar; a case opened Friday 2024-06-07 15:00 with
8h/40h targets is due for a first response on Monday 15:00 and for resolution the Friday after.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from responders.business_hours import BusinessCalendar
from responders.sla import Deadlines, Sla, SlaState, deadlines, escalation_stage, sla_state

CALENDAR = BusinessCalendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


OPENED = utc(2024, 6, 7, 15)
FIRST_DUE = utc(2024, 6, 10, 15)  # 2h on Friday, 6h on Monday
RESOLUTION_DUE = utc(2024, 6, 14, 15)  # 2h, then 4 x 8h, then 6h


def state(now: datetime, **overrides) -> SlaState:
    arguments = {
        "status": "new",
        "first_response_at": None,
        "resolved_at": None,
        "first_response_due": FIRST_DUE,
        "resolution_due": RESOLUTION_DUE,
        "now": now,
    } | overrides
    return sla_state(CALENDAR, **arguments)


def test_deadlines_count_business_hours_from_the_opening():
    assert deadlines(CALENDAR, Sla(8, 40), OPENED) == Deadlines(FIRST_DUE, RESOLUTION_DUE)
    assert deadlines(CALENDAR, Sla(), OPENED) == Deadlines(None, None)
    assert deadlines(CALENDAR, Sla(resolution_hours=0), utc(2024, 6, 8, 12)) == Deadlines(
        None, utc(2024, 6, 10, 9)
    )
    always = BusinessCalendar.always()
    assert deadlines(always, Sla(1.5), OPENED).first_response_due == OPENED + timedelta(hours=1.5)


@pytest.mark.parametrize("hours", [-1, math.nan, math.inf])
def test_impossible_targets_are_refused(hours):
    with pytest.raises(ValueError, match="first_response_hours"):
        Sla(first_response_hours=hours)


def test_before_the_first_response_its_target_matters():
    on_time = state(utc(2024, 6, 10, 9), sla_hours=8)
    assert (on_time.stage, on_time.target, on_time.due) == ("on_time", "first_response", FIRST_DUE)
    assert on_time.business_hours_left == 6
    assert on_time.describe() == "first response due in 6h (business hours)"

    soon = state(utc(2024, 6, 10, 13, 50), sla_hours=8)  # 1h 10m left, less than a quarter
    assert soon.stage == "due_soon"
    assert soon.describe() == "first response due in 1h 10m (business hours)"

    late = state(utc(2024, 6, 10, 16, 5), sla_hours=8)
    assert late.stage == "overdue" and not late.settled
    assert late.business_hours_left == pytest.approx(-65 / 60)
    assert late.describe() == "first response overdue by 1h 5m"


def test_without_the_target_length_nothing_is_due_soon():
    assert state(utc(2024, 6, 10, 14, 50)).stage == "on_time"


def test_overdue_outside_hours_is_still_overdue():
    friday_due = utc(2024, 6, 7, 17)
    late = state(utc(2024, 6, 8, 12), first_response_due=friday_due)  # Saturday
    assert (late.stage, late.business_hours_left) == ("overdue", 0)
    assert late.describe() == "first response overdue"
    assert state(friday_due, first_response_due=friday_due).stage == "overdue"


def test_after_the_first_response_the_resolution_target_matters():
    answered = state(
        utc(2024, 6, 13, 9),
        status="answered",
        first_response_at=utc(2024, 6, 10, 10),
        sla_hours=40,
    )
    assert (answered.stage, answered.target, answered.business_hours_left) == (
        "on_time",
        "resolution",
        14,
    )
    assert answered.describe() == "resolution due in 14h (business hours)"
    soon = state(
        utc(2024, 6, 14, 9),
        status="waiting",
        first_response_at=utc(2024, 6, 10, 10),
        sla_hours=40,
    )
    assert soon.stage == "due_soon"


def test_a_first_response_target_alone_reports_whether_it_was_met():
    met = state(
        utc(2024, 6, 20),
        status="answered",
        first_response_at=utc(2024, 6, 10, 14),
        resolution_due=None,
    )
    assert (met.stage, met.settled, met.business_hours_left) == ("met", True, 1)
    assert met.describe() == "first response met"
    late = state(
        utc(2024, 6, 20),
        status="claimed",
        first_response_at=utc(2024, 6, 11, 9, 30),
        resolution_due=None,
    )
    assert late.stage == "overdue"
    assert late.describe() == "first response late by 2h 30m"


def test_a_resolution_target_alone_runs_from_the_start():
    running = state(utc(2024, 6, 14, 14), first_response_due=None)
    assert (running.stage, running.target) == ("on_time", "resolution")


def test_resolved_cases_are_met_or_late():
    met = state(
        utc(2024, 7, 1),
        status="resolved",
        first_response_at=utc(2024, 6, 10, 10),
        resolved_at=utc(2024, 6, 14, 11),
    )
    assert (met.stage, met.target, met.settled, met.business_hours_left) == (
        "met",
        "resolution",
        True,
        4,
    )
    assert met.describe() == "resolution met"
    late = state(
        utc(2024, 7, 1),
        status="resolved",
        first_response_at=utc(2024, 6, 10, 10),
        resolved_at=utc(2024, 6, 17, 10, 5),
    )
    assert late.stage == "overdue" and late.business_hours_left == pytest.approx(-185 / 60)
    assert late.describe() == "resolution late by 3h 5m"


def test_a_reopened_case_ignores_its_old_resolution():
    reopened = state(
        utc(2024, 6, 17, 10),
        status="reopened",
        first_response_at=utc(2024, 6, 10, 10),
        resolved_at=utc(2024, 6, 12, 10),
    )
    assert (reopened.stage, reopened.target) == ("overdue", "resolution")


def test_no_targets_means_no_stage():
    none = state(utc(2024, 6, 10), first_response_due=None, resolution_due=None)
    assert (none.stage, none.target, none.due) == ("none", None, None)
    assert none.describe() == "no service-level target"
    resolved = state(
        utc(2024, 6, 10),
        status="resolved",
        resolved_at=utc(2024, 6, 9),
        first_response_due=None,
        resolution_due=None,
    )
    assert resolved.stage == "none"


@pytest.mark.parametrize(
    ("hours", "text"), [(2 + 10 / 60, "2h 10m"), (0.5, "30m"), (3, "3h"), (0.001, "<1m")]
)
def test_durations_read_naturally(hours, text):
    due = SlaState("on_time", "resolution", RESOLUTION_DUE, hours)
    assert due.describe() == f"resolution due in {text} (business hours)"


def test_bad_state_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown case status"):
        state(OPENED, status="closed")
    with pytest.raises(ValueError, match="due_soon_fraction"):
        state(OPENED, due_soon_fraction=1.5)


def escalation(
    now: datetime, *, unclaimed: bool = True, due: datetime | None = FIRST_DUE, after: float = 2
) -> int:
    return escalation_stage(
        unclaimed=unclaimed,
        first_response_due=due,
        now=now,
        calendar=CALENDAR,
        escalate_after_hours=after,
    )


def test_unclaimed_cases_are_reannounced_then_escalated_in_business_hours():
    assert escalation(utc(2024, 6, 10, 14, 59)) == 0
    assert escalation(FIRST_DUE) == 1
    assert escalation(utc(2024, 6, 10, 16, 59)) == 1
    assert escalation(utc(2024, 6, 10, 17)) == 2  # two business hours end at closing time
    # three hours run into Tuesday: the lead is not called at night
    assert escalation(utc(2024, 6, 10, 23), after=3) == 1
    assert escalation(utc(2024, 6, 11, 9, 59), after=3) == 1
    assert escalation(utc(2024, 6, 11, 10), after=3) == 2
    assert escalation(FIRST_DUE, after=0) == 2


def test_claimed_or_untargeted_cases_never_escalate():
    assert escalation(utc(2024, 7, 1), unclaimed=False) == 0
    assert escalation(utc(2024, 7, 1), due=None) == 0
    with pytest.raises(ValueError, match="escalate_after_hours"):
        escalation(FIRST_DUE, after=-1)


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2024, 6, 7, 15), max_value=datetime(2024, 7, 1)))
def test_the_stage_follows_the_clock(moment):
    # the bounds are naive because hypothesis wants them so: from OPENED on
    now = moment.replace(tzinfo=UTC)
    current = state(now, sla_hours=8)
    assert (current.stage == "overdue") == (now >= FIRST_DUE)
    assert (current.business_hours_left or 0) <= 8
    assert current.business_hours_left == pytest.approx(CALENDAR.hours_between(now, FIRST_DUE))
    stage = escalation(now)
    assert (stage == 0) if now < FIRST_DUE else (stage in (1, 2))
