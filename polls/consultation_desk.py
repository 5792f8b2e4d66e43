"""Consultations in Slack: the moderation queue of statements, and the opinion-group reports.

Each new statement is a card with Approve / Reject (action ids `statement_approve`,
`statement_reject`, value: the statement id), rendered from the database when the outbox
delivers it and edited in place after the decision, so the queue shows at a glance what is
still waiting. The resident's words are the card's quoted text, which the Block Kit renderer
escapes: a statement cannot ping anyone.

The report is posted like the weekly digest (`listening.digest_desk`): the Block Kit summary,
then the HTML page uploaded into its thread once the summary is known to be posted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bots.base import StaffConsole
from bots.slack.blocks import escape
from listening.outbox import message_id, posted_message
from polls.consultation_models import Consultation, Statement
from polls.consultation_store import ConsultationError
from polls.consultations import ConsultationService
from townhall.db import Database
from townhall.domain import Button, Card, CardField, SendError

APPROVE, REJECT = "statement_approve", "statement_reject"
MODERATION_CHANNEL = ""  # the moderation queue's Slack channel; empty: the triage channel
TITLES = {"pending": "Statement to moderate", "approved": "Statement approved",
          "rejected": "Statement rejected"}
REPORT_COMMENT = ("The full report with the chart of the groups: open it in a browser "
                  "(no links out).")


def statement_card(statement: Statement, consultation: Consultation, authored: int) -> Card:
    """`authored`: how many statements its author has written in this consultation."""
    assert statement.id is not None
    question = consultation.question
    question = question if len(question) <= 200 else question[:199] + "…"
    if statement.status == "pending":
        status = "waiting for a moderator"
    else:
        status = f"{statement.status} by <@{statement.moderated_by}>"
        if statement.moderated_at is not None:
            status += f" at {statement.moderated_at:%Y-%m-%d %H:%M} UTC"
    author = "staff" if statement.citizen_id is None else (
        f"a resident ({authored} statement{'s' if authored != 1 else ''} here)")
    fields = (
        CardField("Consultation", f"{consultation.id}: {escape(question)}"),
        CardField("Status", status),
        CardField("Author", author),
        CardField("Submitted", f"{statement.created_at:%Y-%m-%d %H:%M} UTC"),
    )
    buttons = ((Button("Approve", APPROVE, str(statement.id)),
                Button("Reject", REJECT, str(statement.id)))
               if statement.status == "pending" else ())
    return Card(title=TITLES.get(statement.status, "Statement"), text=statement.text,
                fields=fields, buttons=buttons,
                footer=f"Statement {statement.id} · consultation {consultation.id}")


def _render_card(session: Session, statement_id: int) -> tuple[Statement, Card] | None:
    statement = session.get(Statement, statement_id)
    if statement is None:
        return None
    consultation = session.get(Consultation, statement.consultation_id)
    assert consultation is not None
    authored = 0
    if statement.citizen_id is not None:
        authored = int(session.exec(select(func.count(col(Statement.id))).where(
            Statement.consultation_id == statement.consultation_id,
            Statement.citizen_id == statement.citizen_id)).one())
    return statement, statement_card(statement, consultation, authored)


def _remember_card(session: Session, statement_id: int, channel: str, ts: str) -> None:
    statement = session.get(Statement, statement_id)
    if statement is not None:
        statement.slack_channel, statement.slack_ts = channel, ts
        session.add(statement)


def _remember_report(session: Session, consultation_id: int, channel: str, ts: str) -> None:
    consultation = session.get(Consultation, consultation_id)
    if consultation is not None:
        consultation.slack_channel, consultation.slack_ts = channel, ts
        session.add(consultation)


class ConsultationDesk:
    def __init__(self, db: Database, console: StaffConsole,
                 consultations: ConsultationService, channel: str | None = MODERATION_CHANNEL):
        """`channel`: the moderation queue's channel; empty means the console's default."""
        self.db = db
        self.console = console
        self.consultations = consultations
        self.channel = channel or None

    async def handle_statement_action(self, kind: str, statement_id: int, staff_id: str) -> None:
        """Approve / Reject on a statement's card. Raises `ConsultationError` (shown to the staff
        member) when the statement was decided already, by them or by someone quicker."""
        if kind not in (APPROVE, REJECT):
            raise ConsultationError(f"Unknown statement action {kind!r}.")
        await self.consultations.moderate(statement_id, kind == APPROVE, staff_id)

    # --- outbox deliveries -------------------------------------------------------------------

    async def deliver_statement_card(self, payload: dict[str, Any]) -> str:
        """Outbox kind `statement_card`: post the card, or edit it to show the decision."""
        statement_id = int(payload["statement_id"])
        found = await self.db.run(_render_card, statement_id)
        if found is None:
            raise SendError(f"statement {statement_id} is gone", permanent=True)
        statement, card = found
        if statement.slack_channel and statement.slack_ts:
            await self.console.update_card(statement.slack_channel, statement.slack_ts, card)
            return statement.slack_ts
        channel, ts = await self.console.post_card(card, channel=self.channel)
        await self.db.run(_remember_card, statement_id, channel, ts)
        return ts

    async def deliver_report(self, payload: dict[str, Any]) -> str:
        """Outbox kind `consult_report`: the Block Kit summary; returns "channel:ts"."""
        channel, ts = await self.console.post_blocks(
            payload["text"], payload["blocks"], payload.get("channel"))
        await self.db.run(_remember_report, int(payload["consultation_id"]), channel, ts)
        return message_id(channel, ts)

    async def deliver_report_file(self, payload: dict[str, Any]) -> str:
        """Outbox kind `consult_file`: the HTML page in the summary's thread."""
        posted = await self.db.run(posted_message, payload["report_key"])
        if posted is None:
            raise SendError(f"the report {payload['report_key']} is not posted yet")
        channel, ts = posted
        html = Path(payload["html"])
        if not await asyncio.to_thread(html.exists):  # written on another replica, or cleaned
            report = await self.consultations.write_report(int(payload["consultation_id"]))
            html = report.path
        return await self.console.upload_file(html, channel=channel, title=payload["title"],
                                              thread_ts=ts, comment=REPORT_COMMENT)
