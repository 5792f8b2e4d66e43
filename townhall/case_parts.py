"""The case lifecycle's parts, built from the settings: queues, clocks, duplicates, ratings and
the 311 link. Part of the composition root; `townhall/app.py` wires them to the rest."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from listening.outbox import Outbox
from responders.business_hours import BusinessCalendar
from responders.canned import CannedReplies
from responders.case_feedback import CaseFeedback
from responders.case_merge import CaseMerger
from responders.cases import CaseService
from responders.duplicates import DuplicateRule
from responders.open311 import Open311Client
from responders.open311_link import Open311Link
from responders.queues import Queues
from responders.sla_watch import SlaWatch
from townhall.case_settings import BusinessHoursSettings
from townhall.db import Database
from townhall.settings import Settings

log = logging.getLogger(__name__)


def business_calendar(hours: BusinessHoursSettings) -> BusinessCalendar:
    if hours.always:
        return BusinessCalendar.always()
    return BusinessCalendar(hours.timezone, hours.days, hours.start, hours.end, hours.holidays)


@dataclass
class CaseParts:
    cases: CaseService
    merger: CaseMerger
    feedback: CaseFeedback
    sla: SlaWatch
    canned: CannedReplies
    open311: Open311Link | None

    @classmethod
    def build(
        cls, settings: Settings, db: Database, outbox: Outbox, categories: list[str],
        dimension: int,
    ) -> CaseParts:
        config = settings.cases
        calendar = business_calendar(config.business_hours)
        link = config.open311
        cases = CaseService(
            db, outbox, city_name=settings.city_name, prefix=config.reference_prefix,
            categories=categories, queues=Queues(config, settings.slack.triage_channel),
            calendar=calendar, reopen_days=config.reopen_days,
            services=link.services if link.enabled else {},
        )
        duplicates = config.duplicates
        rule = DuplicateRule(
            similarity=duplicates.similarity,
            similarity_without_location=duplicates.similarity_without_location,
            window_hours=duplicates.window_hours, radius_m=duplicates.radius_m,
        ) if duplicates.enabled else None
        open311 = None
        if link.enabled:
            client = Open311Client(
                link.endpoint, api_key=link.api_key.get_secret_value() if link.api_key else None,
                jurisdiction_id=link.jurisdiction_id or None, timeout=link.timeout,
            )
            open311 = Open311Link(cases, outbox, client, link.services,
                                  default_address=link.default_address)
        return cls(
            cases=cases,
            merger=CaseMerger(cases, rule, dimension),
            feedback=CaseFeedback(cases, reopen_days=config.reopen_days,
                                  comment_minutes=config.comment_minutes),
            sla=SlaWatch(db, outbox, calendar, escalate_after_hours=config.escalate_after_hours),
            canned=CannedReplies.from_file(config.canned_replies_path),
            open311=open311,
        )

    async def canned_draft(self, case_id: int, reply_id: str) -> str:
        """A saved reply in the case's language, for the Reply form."""
        view = await self.cases.view(case_id, history=0)
        return self.canned.text(reply_id, view.case.language) or ""
