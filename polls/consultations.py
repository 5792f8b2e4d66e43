"""Consultations, the live Polis-style opinion mode: statements, votes, opinion groups, report.

Staff open a consultation with a question for a topic's audience (and, usually, a few seed
statements). Residents add short statements, which wait for a moderator's Approve / Reject on
a Slack card (outbox kind `statement_card`), and vote Agree / Disagree / Pass on the approved
ones, one at a time (`polls.consultation_responder`). The report computes the opinion groups
from the votes as Polis does (`polls.opinions`), writes the HTML page under
`<data_dir>/consultations/` and posts it to Slack in two outbox items on one stream, like the
weekly digest: the summary (`consult_report`), then the page uploaded into its thread
(`consult_file`), so a failed upload never posts the summary twice.

The rules that races must not break (limits, one vote per statement, one moderation decision)
are in `polls.consultation_store`; this class runs those units of work off the event loop,
the opinion maths on a worker thread, and wakes the outbox after each change.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from listening.outbox import Outbox, enqueue
from polls import consultation_drafts as drafts
from polls import consultation_store as store
from polls.consultation_models import Consultation
from polls.consultation_store import (
    ConsultationVotes,
    NewConsultation,
    NextStatement,
    StatementLimits,
)
from polls.opinion_report import opinion_blocks, render_opinion_html
from polls.opinions import OpinionMap, OpinionResult, VoteMatrix, compute_opinions
from polls.subscriptions import Topics, topics_of
from townhall.db import Database
from townhall.domain import utcnow

log = logging.getLogger(__name__)

REPORT_DIR = "consultations"  # under the settings' data_dir
REPORT_CHANNEL = ""  # the Slack channel for reports; empty: the console's (triage) channel
CLOSE_CHECK_SECONDS = 60.0  # how often to schedule `ConsultationService.close_due`
# outbox kinds (the outbox's `kind` column holds at most 16 characters)
REPORT_KIND, FILE_KIND = "consult_report", "consult_file"


@dataclass(frozen=True)
class ConsultationReport:
    consultation_id: int
    path: Path
    question: str
    participants: int
    grouped: int
    groups: int
    blocks: list[dict[str, Any]]
    key: str  # the outbox key of its Slack summary

    def describe(self) -> str:
        """One line for the staff member who asked for it."""
        return (f"Consultation {self.consultation_id}: {self.participants} participants, "
                f"{self.groups} opinion groups ({self.grouped} grouped).")


def report_stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%f")


def _queue_report(session: Session, report: ConsultationReport, channel: str | None) -> None:
    stream = f"console:consultation:{report.consultation_id}"
    enqueue(session, key=report.key, kind=REPORT_KIND, stream=stream, payload={
        "consultation_id": report.consultation_id, "channel": channel, "blocks": report.blocks,
        "text": f"Opinion groups, consultation {report.consultation_id}: {report.question}"[:300],
    })
    enqueue(session, key=f"{report.key}:file", kind=FILE_KIND, stream=stream,
            payload={"consultation_id": report.consultation_id, "html": str(report.path),
                     "report_key": report.key,
                     "title": f"Consultation {report.consultation_id}: opinion groups"})


class ConsultationService:
    def __init__(
        self, db: Database, outbox: Outbox, topics: Topics, *, data_dir: Path = Path("var"),
        limits: StatementLimits | None = None, draft_minutes: float = drafts.DRAFT_MINUTES,
        report_channel: str | None = REPORT_CHANNEL, slack: bool = True,
        opinion_map: OpinionMap | None = None,
    ):
        """`slack`: queue moderation cards and reports (off when no console is configured, or
        the items would only fail for want of a handler)."""
        self.db = db
        self.outbox = outbox
        self.topics = topics
        self.report_dir = data_dir / REPORT_DIR
        self.limits = limits or StatementLimits()
        self.draft_minutes = draft_minutes
        self.report_channel = report_channel or None
        self.slack = slack
        self.opinion_map = opinion_map or OpinionMap()

    # --- staff -------------------------------------------------------------------------------

    async def create(self, new: NewConsultation) -> int:
        now = utcnow()
        store.check_consultation(new, self.topics, now)
        consultation_id = await self.db.run(store.create_consultation, new, now)
        if new.announce:
            self.outbox.wake()
        return consultation_id

    async def add_seed(self, consultation_id: int, text: str, staff_id: str,
                       meta: bool = False) -> int:
        return await self.db.run(store.add_seed, consultation_id, text, staff_id, utcnow(), meta)

    async def moderate(self, statement_id: int, approve: bool, staff_id: str) -> str:
        """Approve or reject a pending statement; its card is edited to show the decision."""
        status = await self.db.run(store.moderate, statement_id, approve, staff_id, utcnow(),
                                   self.slack)
        self.outbox.wake()
        return status

    async def get(self, consultation_id: int) -> Consultation | None:
        return await self.db.run(lambda s: s.get(Consultation, consultation_id))

    async def close(self, consultation_id: int, report: bool = True) -> bool:
        """Close now; with `report`, post the final report. False if it was closed already."""
        closed = await self.db.run(store.close_consultation, consultation_id, utcnow())
        if closed and report and self.slack:
            await self.report(consultation_id)
        return closed

    async def close_due(self, now: datetime | None = None) -> list[int]:
        """The scheduled check of `closes_at`: close what is due and post its final report."""
        closed = await self.db.run(store.close_due, now or utcnow())
        for consultation_id in closed:
            log.info("consultation %s closed", consultation_id)
            if self.slack:
                await self.report(consultation_id)
        return closed

    # --- citizens ----------------------------------------------------------------------------

    async def open_for(self, citizen_id: int) -> list[tuple[int, str]]:
        """The open consultations on the citizen's topics; all of them if they follow none."""

        def work(session: Session) -> list[tuple[int, str]]:
            mine = topics_of(session, citizen_id)
            return store.open_consultations(session, utcnow(), mine or None)

        return await self.db.run(work)

    async def is_open(self, consultation_id: int) -> bool:
        return await self.db.run(
            lambda s: store.is_open(s.get(Consultation, consultation_id), utcnow()))

    async def submit_statement(self, consultation_id: int, citizen_id: int, text: str) -> int:
        """Raises `StatementRefused` (with the key of the text that says why)."""
        statement_id = await self.db.run(store.submit_statement, consultation_id, citizen_id,
                                         text, utcnow(), self.limits, self.slack)
        self.outbox.wake()
        return statement_id

    async def next_statement_for(self, citizen_id: int,
                                 consultation_id: int) -> NextStatement | None:
        return await self.db.run(store.next_statement, consultation_id, citizen_id)

    async def record_vote(self, statement_id: int, citizen_id: int, vote: int) -> int | None:
        return await self.db.run(store.record_vote, statement_id, citizen_id, vote, utcnow())

    async def start_draft(self, citizen_id: int, consultation_id: int) -> None:
        await self.db.run(drafts.set_draft, citizen_id, consultation_id, utcnow())

    async def take_draft(self, citizen_id: int, message_id: int,
                         text: str) -> drafts.DraftOutcome | None:
        outcome = await self.db.run(drafts.take_draft, citizen_id, message_id, text, utcnow(),
                                    self.limits, self.draft_minutes, self.slack)
        if outcome is not None and outcome.statement_id is not None:
            self.outbox.wake()
        return outcome

    async def clear_draft(self, citizen_id: int) -> None:
        await self.db.run(drafts.clear_draft, citizen_id)

    # --- opinion groups and the report ----------------------------------------------------

    async def votes(self, consultation_id: int) -> ConsultationVotes:
        return await self.db.run(store.consultation_votes, consultation_id)

    async def matrix(self, consultation_id: int) -> VoteMatrix:
        return (await self.votes(consultation_id)).votes

    async def opinions(self, consultation_id: int) -> tuple[ConsultationVotes, OpinionResult]:
        votes = await self.votes(consultation_id)
        result = await asyncio.to_thread(compute_opinions, votes.votes, self.opinion_map)
        return votes, result

    async def write_report(self, consultation_id: int,
                           now: datetime | None = None) -> ConsultationReport:
        """Compute the groups and write the HTML page; nothing is posted."""
        now = now or utcnow()
        votes = await self.votes(consultation_id)
        path = self.report_dir / f"consultation-{consultation_id}-{report_stamp(now)}.html"
        result, blocks = await asyncio.to_thread(self._render, votes, consultation_id, path)
        return ConsultationReport(
            consultation_id, path, votes.question, len(result.participants), result.grouped,
            len(result.groups), blocks,
            key=f"consultation:{consultation_id}:report:{report_stamp(now)}")

    def _render(self, votes: ConsultationVotes, consultation_id: int,
                path: Path) -> tuple[OpinionResult, list[dict[str, Any]]]:
        """On a worker thread: k-means and matplotlib take a moment on a big consultation."""
        result = compute_opinions(votes.votes, self.opinion_map)
        page = render_opinion_html(result, votes.texts, question=votes.question,
                                   title=f"Consultation {consultation_id}: opinion groups")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        return result, opinion_blocks(result, votes.texts, question=votes.question)

    async def report(self, consultation_id: int) -> ConsultationReport:
        """Write the report and queue its Slack summary, then the page in the summary's thread."""
        report = await self.write_report(consultation_id)
        log.info("consultation %s report written to %s", consultation_id, report.path)
        if self.slack:
            await self.db.run(_queue_report, report, self.report_channel)
            self.outbox.wake()
        return report
