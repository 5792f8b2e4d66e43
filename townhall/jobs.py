"""Everything the bot does on a schedule, in one place: one APScheduler for the whole bot.

Each job is idempotent and safe to run on several replicas (leases, advisory locks or outbox
keys make the second one a no-op), so `max_instances=1, coalesce=True` only keeps one replica
from queueing up runs behind a slow one.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from listening.retention import RetentionJob

if TYPE_CHECKING:
    from townhall.app import Townhall


class RunningJobs:
    """The job runs in progress, so that stopping can let them finish.

    APScheduler cancels running coroutine jobs when it shuts down, and logs each cancellation
    as a failed job with a traceback: a clean stop looked like a crash in the logs, and a job
    cut off mid-way (a 311 read-back, a retention batch) does its work again at the next start.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def track(self, job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(job)
        async def tracked(*args: Any, **kwargs: Any) -> Any:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                return await job(*args, **kwargs)
            finally:
                self._tasks.discard(task)

        return tracked

    async def finish(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the running jobs (pause the scheduler first)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


def schedule_jobs(app: Townhall) -> None:
    """Add the bot's jobs to `app.scheduler` (not started here), each tracked by `app.jobs`."""

    def add_job(job: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        app.scheduler.add_job(app.jobs.track(job), *args, **kwargs)

    if app.console is not None:
        add_job(app.console.refresh_staff, "interval", minutes=10)
    add_job(
        app.retrainer.run, "interval", days=app.settings.classifiers.retrain_interval_days,
        max_instances=1, coalesce=True,
    )
    add_job(
        app.ingestor.recover, "interval", minutes=1, next_run_time=datetime.now(UTC),
        max_instances=1, coalesce=True,
    )
    # entries added in Slack on another replica, and edits to faq.yaml, without a restart
    add_job(
        app.knowledge.reload, "interval", minutes=5, max_instances=1, coalesce=True
    )
    if app.settings.trends.enabled:
        add_job(
            app.trends.run, "interval", minutes=app.settings.trends.interval_minutes,
            max_instances=1, coalesce=True,
        )
    add_job(
        app.consultations.close_due, "interval",
        seconds=app.settings.consultations.close_check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.settings.privacy.retention_days > 0:
        add_job(
            RetentionJob(app.db, app.settings.privacy.retention_days).run,
            CronTrigger(hour=3, minute=17), max_instances=1, coalesce=True,
        )
    add_job(
        app.case_parts.sla.run, "interval", seconds=app.settings.cases.check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.case_parts.open311 is not None:
        add_job(
            app.case_parts.open311.poll, "interval",
            minutes=app.settings.cases.open311.poll_minutes, max_instances=1, coalesce=True,
        )
    add_job(
        app.polls.close_due, "interval", seconds=app.settings.polls.close_check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.x is not None:  # X poll posts only give totals: read them back
        add_job(
            app.poll_sender.refresh_totals, "interval",
            minutes=app.settings.polls.totals_minutes, max_instances=1, coalesce=True,
        )
    digest = app.settings.digest
    if digest.enabled:
        hour, minute = digest.time.split(":")
        add_job(
            app.digests.run, CronTrigger(
                day_of_week=digest.day, hour=int(hour), minute=int(minute),
                timezone=digest.timezone,
            ), max_instances=1, coalesce=True,
        )
        add_job(app.digests.catch_up, next_run_time=datetime.now(UTC))
    if app.x is not None:  # X has no push: poll mentions and listening queries
        for job, seconds in ((app.x.poll_mentions, app.settings.x.poll_interval),
                             (app.x.poll_listening, app.settings.x.listen_interval)):
            add_job(
                job, "interval", seconds=seconds, next_run_time=datetime.now(UTC),
                max_instances=1, coalesce=True,
            )
