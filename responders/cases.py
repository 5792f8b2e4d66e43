"""The case service: opening cases and everything staff do to them.

Each operation is one transaction that changes the case, appends a `CaseEvent`, and records what
must be delivered (the citizen's notification, the refreshed staff card) in the outbox. So a case
never changes without the citizen and the card hearing about it, and never the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from listening.models import Citizen, Message
from listening.outbox import Outbox, citizen_stream, enqueue
from responders.models import Case, CaseEvent, Correction
from responders.texts import say
from townhall.db import Database
from townhall.domain import Address, CaseStatus, OutboundMessage, utcnow

SENTIMENTS = ["negative", "neutral", "positive"]


class CaseError(Exception):
    """A staff action that cannot be done (already resolved, unknown case): shown to staff."""


@dataclass(frozen=True)
class CaseView:
    """Everything a staff card shows, loaded in one go."""

    case: Case
    citizen_name: str | None
    recent_messages: list[tuple[datetime, str]]
    events: list[CaseEvent]


def case_stream(case_id: int) -> str:
    return f"case:{case_id}"


class CaseService:
    def __init__(
        self, db: Database, outbox: Outbox, *, city_name: str, prefix: str = "TH",
        categories: list[str] | None = None,
    ):
        self.db = db
        self.outbox = outbox
        self.city_name = city_name
        self.prefix = prefix
        self.categories = list(categories or [])

    # --- citizen side -------------------------------------------------------------------------

    async def open(
        self, *, message_id: int, citizen_id: int, conversation_id: int, address: Address,
        summary: str, language: str, suggestions: list[dict],
        labels: dict[str, str] | None = None, abusive: bool = False,
    ) -> Case:
        """Open a case for a message (idempotent per message) and queue its staff card."""

        def work(session: Session) -> Case:
            existing = session.exec(
                select(Case).where(Case.opened_by_message_id == message_id)
            ).first()
            if existing is not None:
                return existing
            case = Case(
                citizen_id=citizen_id, conversation_id=conversation_id,
                opened_by_message_id=message_id, channel=address.channel,
                address=address.as_dict(), summary=summary, language=language,
                suggestions=suggestions, category=(labels or {}).get("category"),
                sentiment=(labels or {}).get("sentiment"),
                abusive=abusive,
            )
            session.add(case)
            session.flush()
            assert case.id is not None
            case.reference = f"{self.prefix}-{case.id:05d}"
            self._attach_message(session, message_id, case.id)
            self._log(session, case, "citizen", "opened", summary)
            self._queue_card(session, case)
            return case

        case = await self.db.run(work)
        self.outbox.wake()
        return case

    async def add_citizen_message(self, case_id: int, message_id: int, text: str) -> Case:
        """A citizen wrote again while their case is open: add it to the case and its thread."""

        def work(session: Session) -> Case:
            case = self._get(session, case_id)
            self._attach_message(session, message_id, case_id)
            self._log(session, case, "citizen", "citizen_message", text)
            enqueue(
                session, key=f"note:message:{message_id}", kind="note",
                stream=case_stream(case_id),
                payload={"case_id": case_id, "text": text, "author": "citizen"},
            )
            self._queue_card(session, case)
            return case

        case = await self.db.run(work)
        self.outbox.wake()
        return case

    async def open_case_of(self, citizen_id: int) -> Case | None:
        def work(session: Session) -> Case | None:
            return session.exec(
                select(Case)
                .where(Case.citizen_id == citizen_id, Case.status != CaseStatus.RESOLVED.value)
                .order_by(col(Case.id).desc())
            ).first()

        return await self.db.run(work)

    async def cases_of(self, citizen_id: int, reference: str | None = None) -> list[Case]:
        """A citizen's open cases, or the one named by `reference` if it is theirs."""

        def work(session: Session) -> list[Case]:
            query = select(Case).where(Case.citizen_id == citizen_id)
            if reference:
                query = query.where(Case.reference == reference.strip().upper())
            else:
                query = query.where(Case.status != CaseStatus.RESOLVED.value)
            return list(session.exec(query.order_by(col(Case.id))).all())

        return await self.db.run(work)

    # --- staff side ---------------------------------------------------------------------------

    async def claim(self, case_id: int, staff_id: str) -> Case:
        def work(session: Session) -> Case:
            case = self._open_case(session, case_id)
            if case.assignee == staff_id:
                return case
            case.assignee = staff_id
            if case.status == CaseStatus.NEW.value:
                case.status = CaseStatus.CLAIMED.value
                self._notify(session, case, f"claimed:{case_id}:{staff_id}", "case_claimed")
            self._log(session, case, staff_id, "claimed")
            self._queue_card(session, case)
            return case

        return await self._staff_op(work)

    async def reply(self, case_id: int, staff_id: str, text: str, *, idempotency_key: str) -> Case:
        """Send `text` to the citizen on the channel they used. Idempotent per key."""
        text = text.strip()
        if not text:
            raise CaseError("The reply is empty.")

        def work(session: Session) -> Case:
            case = self._open_case(session, case_id)
            message = say(
                "staff_reply", case.language or "en",
                city=self.city_name, ref=case.reference, text=text,
            )
            address = Address.from_dict(case.address)
            if not enqueue(
                session, key=f"staff-reply:{idempotency_key}", kind="message",
                stream=citizen_stream(address),
                payload=OutboundMessage(address, message).as_dict(),
            ):
                return case  # the same submission delivered twice
            case.assignee = case.assignee or staff_id
            case.status = CaseStatus.ANSWERED.value
            case.first_response_at = case.first_response_at or utcnow()
            self._log(session, case, staff_id, "replied", text)
            self._queue_card(session, case)
            return case

        return await self._staff_op(work)

    async def resolve(self, case_id: int, staff_id: str) -> Case:
        def work(session: Session) -> Case:
            case = self._get(session, case_id)
            if case.status == CaseStatus.RESOLVED.value:
                return case
            case.status = CaseStatus.RESOLVED.value
            case.resolved_at = utcnow()
            case.assignee = case.assignee or staff_id
            self._notify(session, case, f"resolved:{case_id}:{case.resolved_at.isoformat()}",
                         "case_resolved")
            self._log(session, case, staff_id, "resolved")
            self._queue_card(session, case)
            return case

        return await self._staff_op(work)

    async def correct(self, case_id: int, staff_id: str, kind: str, value: str) -> Case:
        """Staff say a classifier was wrong: store the correction and show it on the card."""
        allowed = {"category": self.categories, "sentiment": SENTIMENTS}.get(kind)
        if allowed is None or (allowed and value not in allowed):
            raise CaseError(f"{value!r} is not a {kind} I know.")

        def work(session: Session) -> Case:
            case = self._get(session, case_id)
            previous = getattr(case, kind)
            if previous == value:
                return case
            setattr(case, kind, value)
            session.add(
                Correction(
                    message_id=case.opened_by_message_id, case_id=case.id, kind=kind,
                    value=value, previous=previous, staff_id=staff_id,
                )
            )
            self._log(session, case, staff_id, f"{kind}_corrected", f"{previous} → {value}")
            self._queue_card(session, case)
            return case

        return await self._staff_op(work)

    async def note(
        self, case_id: int, staff_id: str, kind: str, note: str, *, detail: str | None = None,
        idempotency_key: str,
    ) -> Case:
        """Record something staff did about a case outside it (made it an FAQ entry): `kind` and
        `detail` go into its history, `note` into its card's thread. Idempotent per key."""

        def work(session: Session) -> Case:
            case = self._get(session, case_id)
            if not enqueue(
                session, key=f"note:staff:{idempotency_key}", kind="note",
                stream=case_stream(case_id), payload={"case_id": case_id, "text": note},
            ):
                return case  # the same action delivered twice
            self._log(session, case, staff_id, kind, detail)
            self._queue_card(session, case)
            return case

        return await self._staff_op(work)

    async def find_by_card(self, channel: str, ts: str) -> Case | None:
        def work(session: Session) -> Case | None:
            return session.exec(
                select(Case).where(Case.card_channel == channel, Case.card_ts == ts)
            ).first()

        return await self.db.run(work)

    # --- staff card ---------------------------------------------------------------------------

    async def view(self, case_id: int, history: int = 5) -> CaseView:
        def work(session: Session) -> CaseView:
            case = self._get(session, case_id)
            citizen = session.get(Citizen, case.citizen_id)
            rows = session.exec(
                select(Message.sent_at, Message.text)
                .where(Message.citizen_id == case.citizen_id, Message.kind == "message")
                .order_by(col(Message.id).desc())
                .limit(history)
            ).all()
            events = session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
            ).all()
            return CaseView(
                case, citizen.display_name if citizen else None,
                [(sent_at, text) for sent_at, text in reversed(rows)], list(events),
            )

        return await self.db.run(work)

    async def set_card(self, case_id: int, channel: str, ts: str) -> None:
        def work(session: Session) -> None:
            case = self._get(session, case_id)
            case.card_channel, case.card_ts = channel, ts
            session.add(case)

        await self.db.run(work)

    # --- helpers ------------------------------------------------------------------------------

    async def _staff_op(self, work: Callable[[Session], Case]) -> Case:
        case = await self.db.run(work)
        self.outbox.wake()
        return case

    @staticmethod
    def _get(session: Session, case_id: int) -> Case:
        case = session.get(Case, case_id)
        if case is None:
            raise CaseError(f"There is no case {case_id}.")
        return case

    def _open_case(self, session: Session, case_id: int) -> Case:
        case = self._get(session, case_id)
        if case.status == CaseStatus.RESOLVED.value:
            raise CaseError(f"Case {case.reference} is already resolved.")
        return case

    @staticmethod
    def _attach_message(session: Session, message_id: int, case_id: int) -> None:
        message = session.get(Message, message_id)
        if message is not None:
            message.case_id = case_id
            session.add(message)

    @staticmethod
    def _log(session: Session, case: Case, actor: str, kind: str, text: str | None = None) -> None:
        case.updated_at = utcnow()
        session.add(case)
        session.add(CaseEvent(case_id=case.id, actor=actor, kind=kind, text=text))

    def _notify(self, session: Session, case: Case, key: str, text_key: str) -> None:
        address = Address.from_dict(case.address)
        text = say(text_key, case.language or "en", ref=case.reference, city=self.city_name)
        enqueue(
            session, key=f"notify:{key}", kind="message", stream=citizen_stream(address),
            payload=OutboundMessage(address, text).as_dict(),
        )

    @staticmethod
    def _queue_card(session: Session, case: Case) -> None:
        """Queue a refresh of the staff card; one pending refresh per case is enough."""
        enqueue(
            session, key=f"card:{case.id}:{case.updated_at.isoformat()}", kind="card",
            stream=case_stream(case.id or 0), payload={"case_id": case.id},
        )
