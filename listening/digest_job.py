"""The weekly digest as one call: gather the figures, draw, write the files, sum up.

`make_weekly_digest` is what the scheduler runs (and `townhall digest` through
`build_weekly_digest`): it reads the settings, queries on a database worker thread, renders on
another thread (matplotlib is CPU work and must not hold up the event loop), and returns the
paths with a `DigestSummary`: the headline figures a Slack message shows next to the report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from classifiers.category import load_categories
from listening.digest import Digest, PollResult, Targets, gather_digest
from listening.digest_render import DigestFiles, write_digest
from listening.digest_weeks import Week, last_complete_week, week_bounds
from polls.results import as_report_poll, polls_between
from townhall.db import Database
from townhall.domain import utcnow
from townhall.settings import Settings


@dataclass(frozen=True)
class TopIssue:
    name: str
    messages: int
    change_pct: float | None  # None: nothing the week before


@dataclass(frozen=True)
class DigestSummary:
    week: str  # "2026-W48"
    period: str  # "23 to 29 November 2026"
    messages: int
    citizen_messages: int
    public_posts: int
    previous_messages: int
    cases_opened: int
    cases_resolved: int
    cases_open: int  # at the end of the week
    median_first_response_h: float | None
    first_response_compliance: float | None  # 0-1, None without a target
    top_issues: tuple[TopIssue, ...]
    emerging: tuple[str, ...]  # labels of the week's emerging issues
    empty: bool  # nothing happened that week
    satisfaction_average: float | None = None  # 1-5, None without ratings
    ratings: int = 0


@dataclass(frozen=True)
class DigestResult:
    summary: DigestSummary
    files: DigestFiles

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.files.html, self.files.markdown, *self.files.images)


def summarize(digest: Digest) -> DigestSummary:
    first, last = digest.week.days[0], digest.week.days[-1]
    start = f"{first.day}" if first.month == last.month else f"{first.day} {first:%B}"
    return DigestSummary(
        week=digest.week.label,
        period=f"{start} to {last.day} {last:%B} {last.year}",
        messages=digest.messages,
        citizen_messages=digest.citizen_messages,
        public_posts=digest.public_posts,
        previous_messages=digest.previous_messages,
        cases_opened=digest.cases.opened,
        cases_resolved=digest.cases.resolved,
        cases_open=digest.cases.open_at_end,
        median_first_response_h=digest.response.first_response_median_h,
        first_response_compliance=digest.response.first_response_compliance,
        top_issues=tuple(TopIssue(c.name, c.count, c.change_pct) for c in digest.top_issues),
        emerging=tuple(issue.label for issue in digest.emerging),
        empty=digest.is_empty,
        satisfaction_average=digest.satisfaction.average,
        ratings=digest.satisfaction.ratings,
    )


def category_names(path: Path) -> dict[str, str]:
    """Category id -> the name managers read, from config/categories.yaml."""
    return {category.id: category.name for category in load_categories(path)}


def _week(settings: Settings, week: str | None, now: datetime | None) -> Week:
    timezone = settings.digest.timezone
    if week:
        return week_bounds(week, timezone)
    return last_complete_week(now or utcnow(), timezone)


def _polls(session: Session, week: Week) -> list[PollResult]:
    return [as_report_poll(poll) for poll in polls_between(session, week.start, week.end)]


def _gather(
    session: Session, week: Week, settings: Settings, names: dict[str, str],
    now: datetime | None,
) -> Digest:
    polls = _polls(session, week)
    digest = settings.digest
    targets = Targets(digest.first_response_target_hours, digest.resolution_target_hours)
    return gather_digest(session, week, category_names=names, targets=targets,
                         city=settings.city_name, polls=polls, now=now)


async def make_weekly_digest(
    db: Database, settings: Settings, week: str | None = None, now: datetime | None = None,
) -> DigestResult:
    """Write the digest of `week` ("2026-W48"; default: the last complete week at `now` in
    `settings.digest.timezone`) into `settings.digest.out_dir`. ValueError for a bad week or
    time zone."""
    target = _week(settings, week, now)
    names = await asyncio.to_thread(category_names, settings.classifiers.categories_path)
    digest = await db.run(_gather, target, settings, names, now)
    files = await asyncio.to_thread(write_digest, digest, settings.digest.out_dir)
    return DigestResult(summarize(digest), files)


def build_weekly_digest(
    db: Database, settings: Settings, week: str | None = None, now: datetime | None = None,
    out_dir: Path | None = None,
) -> DigestResult:
    """`make_weekly_digest` on the calling thread, for the command line."""
    target = _week(settings, week, now)
    names = category_names(settings.classifiers.categories_path)
    digest = db.transact(_gather, target, settings, names, now)
    files = write_digest(digest, out_dir or settings.digest.out_dir)
    return DigestResult(summarize(digest), files)
