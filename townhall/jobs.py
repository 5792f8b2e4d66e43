"""Everything the bot does on a schedule, in one place: one APScheduler for the whole bot.

Each job is idempotent and safe to run on several replicas (leases, advisory locks or outbox
keys make the second one a no-op), so `max_instances=1, coalesce=True` only keeps one replica
from queueing up runs behind a slow one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from listening.retention import RetentionJob

if TYPE_CHECKING:
    from townhall.app import Townhall


def schedule_jobs(app: Townhall) -> None:
    """Add the bot's jobs to `app.scheduler` (not started here)."""
    if app.console is not None:
        app.scheduler.add_job(app.console.refresh_staff, "interval", minutes=10)
    app.scheduler.add_job(
        app.retrainer.run, "interval", days=app.settings.classifiers.retrain_interval_days,
        max_instances=1, coalesce=True,
    )
    app.scheduler.add_job(
        app.ingestor.recover, "interval", minutes=1, next_run_time=datetime.now(UTC),
        max_instances=1, coalesce=True,
    )
    # entries added in Slack on another replica, and edits to faq.yaml, without a restart
    app.scheduler.add_job(
        app.knowledge.reload, "interval", minutes=5, max_instances=1, coalesce=True
    )
    if app.settings.trends.enabled:
        app.scheduler.add_job(
            app.trends.run, "interval", minutes=app.settings.trends.interval_minutes,
            max_instances=1, coalesce=True,
        )
    app.scheduler.add_job(
        app.consultations.close_due, "interval",
        seconds=app.settings.consultations.close_check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.settings.privacy.retention_days > 0:
        app.scheduler.add_job(
            RetentionJob(app.db, app.settings.privacy.retention_days).run,
            CronTrigger(hour=3, minute=17), max_instances=1, coalesce=True,
        )
    app.scheduler.add_job(
        app.case_parts.sla.run, "interval", seconds=app.settings.cases.check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.case_parts.open311 is not None:
        app.scheduler.add_job(
            app.case_parts.open311.poll, "interval",
            minutes=app.settings.cases.open311.poll_minutes, max_instances=1, coalesce=True,
        )
    app.scheduler.add_job(
        app.polls.close_due, "interval", seconds=app.settings.polls.close_check_seconds,
        next_run_time=datetime.now(UTC), max_instances=1, coalesce=True,
    )
    if app.x is not None:  # X poll posts only give totals: read them back
        app.scheduler.add_job(
            app.poll_sender.refresh_totals, "interval",
            minutes=app.settings.polls.totals_minutes, max_instances=1, coalesce=True,
        )
    digest = app.settings.digest
    if digest.enabled:
        hour, minute = digest.time.split(":")
        app.scheduler.add_job(
            app.digests.run, CronTrigger(
                day_of_week=digest.day, hour=int(hour), minute=int(minute),
                timezone=digest.timezone,
            ), max_instances=1, coalesce=True,
        )
        app.scheduler.add_job(app.digests.catch_up, next_run_time=datetime.now(UTC))
    if app.x is not None:  # X has no push: poll mentions and listening queries
        for job, seconds in ((app.x.poll_mentions, app.settings.x.poll_interval),
                             (app.x.poll_listening, app.settings.x.listen_interval)):
            app.scheduler.add_job(
                job, "interval", seconds=seconds, next_run_time=datetime.now(UTC),
                max_instances=1, coalesce=True,
            )
