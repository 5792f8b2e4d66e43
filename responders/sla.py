"""Case service levels: when answers are due, how a case is doing, and when to escalate.

Pure functions over a `BusinessCalendar`, with `now` passed in: the scheduler that checks the
clocks and the staff card that shows them both call these, so they must agree, and tests can
pin any moment without a database or a fake clock.

Which target matters: before the first response, the first-response target (when set); after
it, the resolution target. A case with only one of the two targets reports that one. The
resolution clock runs from the case's opening, not from the first response, and nothing pauses
it (a case waiting on the citizen still counts): that is how the targets are promised to them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from responders.business_hours import BusinessCalendar

STATUSES = frozenset({"new", "claimed", "answered", "waiting", "reopened", "resolved"})
STAGES = ("none", "met", "on_time", "due_soon", "overdue")
_LABELS = {"first_response": "first response", "resolution": "resolution"}


@dataclass(frozen=True)
class Sla:
    """Targets in business hours; None means no target."""

    first_response_hours: float | None = None
    resolution_hours: float | None = None

    def __post_init__(self) -> None:
        for name in ("first_response_hours", "resolution_hours"):
            _check_hours(getattr(self, name), name)


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime | None
    resolution_due: datetime | None


def deadlines(calendar: BusinessCalendar, sla: Sla, opened_at: datetime) -> Deadlines:
    """Both due times, fixed when the case opens so later calendar edits don't move them."""
    return Deadlines(
        first_response_due=_due(calendar, opened_at, sla.first_response_hours),
        resolution_due=_due(calendar, opened_at, sla.resolution_hours),
    )


@dataclass(frozen=True)
class SlaState:
    """How a case stands against the target that matters now.

    `settled` is True once that target's clock has stopped (responded or resolved): `met` and
    `overdue` are then final, and `business_hours_left` is the margin (negative: how late).
    """

    stage: str  # one of STAGES
    target: str | None = None  # "first_response" or "resolution"
    due: datetime | None = None
    business_hours_left: float | None = None  # negative when overdue
    settled: bool = False

    def describe(self) -> str:
        """Short English for a staff card, e.g. "first response due in 2h 10m (business hours)"."""
        if self.stage == "none" or self.target is None:
            return "no service-level target"
        label = _LABELS[self.target]
        if self.stage == "met":
            return f"{label} met"
        left = self.business_hours_left or 0.0
        if self.stage == "overdue":
            # Zero business minutes late (due Friday 17:00, now Saturday) is still late.
            late = _duration(-left) if round(-left * 60) > 0 else ""
            word = "late" if self.settled else "overdue"
            return f"{label} {word} by {late}" if late else f"{label} {word}"
        return f"{label} due in {_duration(left)} (business hours)"


def sla_state(
    calendar: BusinessCalendar,
    *,
    status: str,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    first_response_due: datetime | None,
    resolution_due: datetime | None,
    now: datetime,
    due_soon_fraction: float = 0.25,
    sla_hours: float | None = None,
) -> SlaState:
    """Where the case stands now; see the module docstring for which target is reported.

    `sla_hours` is the length of the target reported (the caller knows which from the status);
    without it "due_soon" cannot be told apart from "on_time" and is never given.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown case status {status!r}: expected one of {sorted(STATUSES)}")
    if not 0 <= due_soon_fraction <= 1:
        raise ValueError(f"due_soon_fraction must be within [0, 1], not {due_soon_fraction}")
    _check_hours(sla_hours, "sla_hours")
    if status == "resolved":
        finished = resolved_at or now
        if resolution_due is not None:
            return _settled(calendar, "resolution", resolution_due, finished)
        # resolving without a reply still answers the citizen
        return _first_response_outcome(calendar, first_response_at or finished, first_response_due)
    if first_response_at is None and first_response_due is not None:
        return _running(
            calendar, "first_response", first_response_due, now, due_soon_fraction, sla_hours
        )
    if resolution_due is not None:
        return _running(calendar, "resolution", resolution_due, now, due_soon_fraction, sla_hours)
    return _first_response_outcome(calendar, first_response_at, first_response_due)


def escalation_stage(
    *,
    unclaimed: bool,
    first_response_due: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    escalate_after_hours: float,
) -> int:
    """0: nothing to do; 1: unclaimed at or past its first-response due time (re-announce it);
    2: still unclaimed `escalate_after_hours` business hours after that (escalate to a lead).

    Claimed cases are someone's already, so they never escalate. The escalation moment is
    counted in business hours, so a case due Friday 17:00 reaches its lead on Monday morning.
    """
    _check_hours(escalate_after_hours, "escalate_after_hours")
    if not unclaimed or first_response_due is None or now < first_response_due:
        return 0
    if escalate_after_hours == 0:
        return 2
    return 2 if now >= calendar.add(first_response_due, escalate_after_hours) else 1


# --- helpers ----------------------------------------------------------------------------------


def _due(calendar: BusinessCalendar, opened_at: datetime, hours: float | None) -> datetime | None:
    return None if hours is None else calendar.add(opened_at, hours)


def _running(
    calendar: BusinessCalendar,
    target: str,
    due: datetime,
    now: datetime,
    due_soon_fraction: float,
    sla_hours: float | None,
) -> SlaState:
    """A target whose clock still runs: overdue once `now` reaches `due` (real time decides)."""
    left = calendar.hours_between(now, due) + 0.0  # + 0.0: no "-0.0" in logs
    if now >= due:
        stage = "overdue"
    elif sla_hours is not None and left < due_soon_fraction * sla_hours:
        stage = "due_soon"
    else:
        stage = "on_time"
    return SlaState(stage, target, due, left)


def _settled(calendar: BusinessCalendar, target: str, due: datetime, done: datetime) -> SlaState:
    left = calendar.hours_between(done, due) + 0.0
    return SlaState("met" if done <= due else "overdue", target, due, left, settled=True)


def _first_response_outcome(
    calendar: BusinessCalendar, responded_at: datetime | None, due: datetime | None
) -> SlaState:
    """With no resolution target, the card shows whether the first response came in time."""
    if due is None or responded_at is None:
        return SlaState("none")
    return _settled(calendar, "first_response", due, responded_at)


def _duration(hours: float) -> str:
    """Like "2h 10m", "45m" or "3h"; "<1m" rather than a misleading "0m"."""
    minutes = round(abs(hours) * 60)
    if minutes == 0:
        return "<1m"
    whole, rest = divmod(minutes, 60)
    if not whole:
        return f"{rest}m"
    return f"{whole}h {rest}m" if rest else f"{whole}h"


def _check_hours(hours: float | None, name: str) -> None:
    if hours is not None and (not math.isfinite(hours) or hours < 0):
        raise ValueError(f"{name} must be a finite number of hours >= 0, not {hours}")
