"""`/townhall consult ...`: staff open, list, seed, report on and close consultations.

The console hands over the text after `/townhall` (with or without the leading `consult`) and
shows the answer only to the staff member who typed it. Statements and questions contain
spaces, so arguments are read like a shell line: `consult new "Question?" topic:parks "A seed
statement" meta:"I have children at school" days:14 announce`. Bad input is answered with what
is wrong, never an exception: Slack would only show "failed".
"""

from __future__ import annotations

import shlex
from datetime import timedelta
from typing import Any

from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from bots.slack.blocks import escape
from polls.consultation_models import Consultation, Statement, StatementVote
from polls.consultation_store import ConsultationError, NewConsultation
from polls.consultations import ConsultationService
from townhall.domain import utcnow

HELP = (
    "*Consultations* (residents vote on each other's statements; the report shows the opinion "
    "groups)\n"
    '• `/townhall consult new "QUESTION" topic:ID ["SEED STATEMENT" ...] '
    '[meta:"DEMOGRAPHIC STATEMENT"] [days:N] [announce]`: open one (`announce` tells the '
    "topic's subscribers)\n"
    "• `/townhall consult list`: the consultations, with their statements and participants\n"
    '• `/townhall consult add N "STATEMENT"` (or `meta N "..."`): a statement from staff, '
    "approved at once\n"
    "• `/townhall consult report N`: the opinion groups so far, posted with the full page\n"
    "• `/townhall consult close N`: close it and post the final report\n"
    "Residents join with `/consult` (or `/consult N`); their statements come here as cards to "
    "Approve or Reject."
)
QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


def _summaries(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    consultations = session.exec(
        select(Consultation).order_by(col(Consultation.id).desc()).limit(limit)).all()
    ids = [c.id for c in consultations]
    counts: dict[tuple[int, str], int] = {
        (int(cid), status): int(n) for cid, status, n in session.exec(
            select(Statement.consultation_id, Statement.status, func.count(col(Statement.id)))
            .where(col(Statement.consultation_id).in_(ids))
            .group_by(col(Statement.consultation_id), col(Statement.status))).all()}
    voters = dict(session.exec(
        select(Statement.consultation_id, func.count(distinct(StatementVote.citizen_id)))
        .join(StatementVote, col(StatementVote.statement_id) == Statement.id)
        .where(col(Statement.consultation_id).in_(ids))
        .group_by(col(Statement.consultation_id))).all())
    return [{"id": c.id, "question": c.question, "audience": c.audience, "status": c.status,
             "closes_at": c.closes_at, "voters": int(voters.get(c.id, 0)),
             **{s: counts.get((int(c.id or 0), s), 0)
                for s in ("approved", "pending", "rejected")}}
            for c in consultations]


def _number(text: str) -> int:
    digits = text.strip().lstrip("#")
    if not (digits.isascii() and digits.isdigit() and len(digits) < 10):
        raise ConsultationError(f"{text!r} is not a consultation number.")
    return int(digits)


class ConsultationCommands:
    def __init__(self, consultations: ConsultationService, max_open_days: int = 60):
        self.consultations = consultations
        self.max_open_days = max_open_days

    async def consult_command(self, text: str, staff_id: str) -> str:
        """The answer to `/townhall consult <text>` typed by `staff_id`."""
        try:
            tokens = shlex.split(text.translate(QUOTES))
        except ValueError:
            return "Cannot read that: a quote is not closed.\n" + HELP
        if tokens and tokens[0].lower() == "consult":
            tokens = tokens[1:]
        verb, rest = (tokens[0].lower(), tokens[1:]) if tokens else ("", [])
        try:
            if verb == "new":
                return await self._new(rest, quoted='"' in text.translate(QUOTES),
                                       staff_id=staff_id)
            if verb == "list":
                return await self._list()
            if verb in ("add", "meta") and len(rest) >= 2:
                statement_id = await self.consultations.add_seed(
                    _number(rest[0]), " ".join(rest[1:]), staff_id, meta=verb == "meta")
                kind = "Meta statement" if verb == "meta" else "Statement"
                return f"{kind} {statement_id} added to consultation {rest[0]}."
            if verb == "report" and len(rest) == 1:
                report = await self.consultations.report(_number(rest[0]))
                return report.describe() + " The report follows in this channel."
            if verb == "close" and len(rest) == 1:
                number = _number(rest[0])
                if await self.consultations.close(number):
                    return f"Consultation {number} is closed; the final report follows."
                return f"Consultation {number} was already closed."
        except ConsultationError as exc:
            return f"Cannot do that: {exc}"
        return HELP

    async def _new(self, tokens: list[str], *, quoted: bool, staff_id: str) -> str:
        """Options are `word:value` tokens; the first quoted text is the question and any
        other quoted texts are seed statements (unquoted, every other word is the question)."""
        topic: str | None = None
        days: float | None = None
        announce = False
        free: list[str] = []
        meta: list[str] = []
        for token in tokens:
            option, _, value = token.partition(":")
            option = option.lower()
            if option == "topic" and value:
                topic = self.consultations.topics.find(value)
                if topic is None:
                    names = ", ".join(self.consultations.topics.names)
                    raise ConsultationError(f"Unknown topic {value!r}; topics: {names}.")
            elif option in ("days", "hours") and value:
                try:
                    days = float(value) / (24 if option == "hours" else 1)
                except ValueError as exc:
                    raise ConsultationError(f"{token!r} is not a duration.") from exc
            elif token.lower() == "announce":
                announce = True
            elif option == "meta" and value:
                meta.append(value)
            else:
                free.append(token)
        question, seeds = (free[0], free[1:]) if quoted and free else (" ".join(free), [])
        if topic is None:
            raise ConsultationError("Say which topic's audience it is for: topic:ID.")
        if days is not None and not 0 < days <= self.max_open_days:
            raise ConsultationError(f"A consultation can stay open 0 to {self.max_open_days} "
                                    "days.")
        closes_at = utcnow() + timedelta(days=days) if days is not None else None
        consultation_id = await self.consultations.create(NewConsultation(
            question, f"topic:{topic}", staff_id, closes_at, tuple(seeds), tuple(meta),
            announce))
        name = self.consultations.topics.names[topic]
        lines = [f"Consultation {consultation_id} is open for {escape(name)}: "
                 f"\u201c{escape(question)}\u201d",
                 f"{len(seeds)} seed statements, {len(meta)} meta statements"
                 + (f"; closes {closes_at:%Y-%m-%d %H:%M} UTC." if closes_at else "."),
                 f"Residents join with `/consult {consultation_id}`."]
        if announce:
            lines.append("The topic's subscribers are being told.")
        return "\n".join(lines)

    async def _list(self) -> str:
        rows = await self.consultations.db.run(_summaries)
        if not rows:
            return 'No consultations yet. Open one with `/townhall consult new "QUESTION" ' \
                   "topic:ID`."
        lines = ["*Consultations*"]
        for row in rows:
            closes = f", closes {row['closes_at']:%Y-%m-%d}" if row["closes_at"] and \
                row["status"] == "open" else ""
            lines.append(
                f"• *{row['id']}* ({row['status']}{closes}, {row['audience']}) "
                f"{escape(row['question'][:120])}: {row['approved']} statements, "
                f"{row['pending']} waiting for moderation, {row['rejected']} rejected, "
                f"{row['voters']} participants")
        return "\n".join(lines)
