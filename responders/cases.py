"""The case service: opening cases and everything staff and citizens do to them.

Each operation is one transaction that changes the case, appends a `CaseEvent`, and records what
must be delivered (every attached citizen's notification, the refreshed staff card) in the
outbox. So a case never changes without the citizens and the card hearing about it, and never the
other way round. Merging, splitting and duplicates live in `case_merge`, ratings and reopening
in `case_feedback`; both build on the same records (`case_records`).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam
from sqlmodel import Session, select

from listening.outbox import Outbox, enqueue
from responders.business_hours import BusinessCalendar
from responders.case_reads import CaseView, cases_of, load_view, open_case_of
from responders.case_records import (
    PENDING_ATTACHMENTS,
    CaseError,
    add_reporter,
    attach_message,
    attach_report,
    case_stream,
    get_case,
    get_open_case,
    log_event,
    notify_reporters,
    queue_card,
)
from responders.models import Case, CaseAttachment, Correction
from responders.queues import Queues
from responders.sla import deadlines
from responders.texts import say
from townhall.case_settings import CaseSettings
from townhall.db import Database
from townhall.domain import Address, Button, CaseStatus, utcnow

SENTIMENTS = ["negative", "neutral", "positive"]
_cases = Case.__table__  # type: ignore[attr-defined]
_CASE_OPENED_BY = select(_cases.c.id).where(  # built once: every escalation asks
    _cases.c.opened_by_message_id == bindparam("message_id"))
_attachments = CaseAttachment.__table__  # type: ignore[attr-defined]
# asked for every escalated message, so built once
_LAST_PIN = (
    select(_attachments.c.latitude, _attachments.c.longitude)
    .where(_attachments.c.citizen_id == bindparam("citizen_id"),
           _attachments.c.case_id.is_(None),
           _attachments.c.created_at >= bindparam("since"),
           _attachments.c.kind == "location", _attachments.c.latitude.is_not(None))
    .order_by(_attachments.c.id.desc())
    .limit(1)
)
THEN = ("open", "waiting", "resolve")  # what a staff reply does to the case besides answering


def pending_location(session: Session, citizen_id: int) -> tuple[float, float] | None:
    """Where the citizen's report is, when they shared a pin just before writing it: their
    newest pending pin (`pending_attachments` that are locations)."""
    last = session.execute(_LAST_PIN, {
        "citizen_id": citizen_id, "since": utcnow() - PENDING_ATTACHMENTS,
    }).first()
    return (last.latitude, last.longitude) if last and last.longitude is not None else None


def rating_buttons(case_id: int) -> tuple[Button, ...]:
    return tuple(Button(str(score), "case_rate", f"{case_id}:{score}") for score in range(1, 6))


class CaseService:
    def __init__(
        self, db: Database, outbox: Outbox, *, city_name: str, prefix: str = "TH",
        categories: list[str] | None = None, queues: Queues | None = None,
        calendar: BusinessCalendar | None = None, reopen_days: float = 7.0,
        services: dict[str, str] | None = None,
    ):
        self.db = db
        self.outbox = outbox
        self.city_name = city_name
        self.prefix = prefix
        self.categories = list(categories or [])
        self.queues = queues or Queues(CaseSettings(), "")
        self.calendar = calendar or BusinessCalendar.always()
        self.reopen_days = reopen_days
        self.services = dict(services or {})  # category -> Open311 service_code

    # --- citizen side -------------------------------------------------------------------------

    async def open(
        self, *, message_id: int, citizen_id: int, conversation_id: int, address: Address,
        summary: str, language: str, suggestions: list[dict],
        labels: dict[str, str] | None = None, abusive: bool = False, vector: bytes | None = None,
    ) -> Case:
        """Open a case for a message (idempotent per message), route it to its queue, start its
        SLA clocks, and queue its staff card."""
        return await self.run(lambda session: self.open_in(
            session, message_id=message_id, citizen_id=citizen_id,
            conversation_id=conversation_id, address=address, summary=summary,
            language=language, suggestions=suggestions, labels=labels, abusive=abusive,
            vector=vector,
        ))

    def open_in(
        self, session: Session, *, message_id: int, citizen_id: int, conversation_id: int,
        address: Address, summary: str, language: str, suggestions: list[dict],
        labels: dict[str, str] | None = None, abusive: bool = False, vector: bytes | None = None,
    ) -> Case:
        """`open` as part of the caller's unit of work (the escalation decides and opens in
        one transaction)."""
        existing = session.execute(_CASE_OPENED_BY, {"message_id": message_id}).scalar()
        if existing is not None:
            return get_case(session, existing)
        # Without autoflush: the reads of the message's and the citizen's attachments (when
        # there are any) would each flush what came before them, a flush each, where the
        # commit's one flush does the same. Neither needs to see those writes: an attachment
        # of the message found again among the citizen's pending ones is claimed twice, by the
        # same object, with the same result.
        with session.no_autoflush:
            category = (labels or {}).get("category")
            queue = self.queues.route(
                category=category, language=language, channel=address.channel,
                text=summary, abusive=abusive,
            )
            now = utcnow()
            due = deadlines(self.calendar, self.queues.sla(queue.id, category), now)
            case = Case(
                citizen_id=citizen_id, conversation_id=conversation_id,
                opened_by_message_id=message_id, channel=address.channel,
                address=address.as_dict(), summary=summary, language=language,
                suggestions=suggestions, category=category,
                sentiment=(labels or {}).get("sentiment"), abusive=abusive,
                queue=queue.id, first_response_due=due.first_response_due,
                resolution_due=due.resolution_due, vector=vector, created_at=now,
                updated_at=now,
            )
            session.add(case)
            session.flush()
            assert case.id is not None
            case.reference = f"{self.prefix}-{case.id:05d}"
            add_reporter(session, case, citizen_id=citizen_id, message_id=message_id,
                         address=address, language=language)
            attach_report(session, case, message_id, citizen_id, now)
            log_event(session, case, "citizen", "opened", summary)
            queue_card(session, case)
            self._submit_to_311(session, case)
            return case

    async def add_citizen_message(self, case_id: int, message_id: int, text: str) -> Case:
        """A citizen wrote again while their case is open: add it to the case and its thread."""

        def work(session: Session) -> Case:
            case = get_case(session, case_id)
            attach_message(session, message_id, case)
            if text:
                log_event(session, case, "citizen", "citizen_message", text)
                enqueue(
                    session, key=f"note:message:{message_id}", kind="note",
                    stream=case_stream(case_id),
                    payload={"case_id": case_id, "text": text, "author": "citizen"},
                )
            else:
                log_event(session, case, "citizen", "attachment")
            if case.status == CaseStatus.WAITING.value:  # the answer staff waited for
                case.status = (CaseStatus.CLAIMED if case.assignee else CaseStatus.NEW).value
            queue_card(session, case)
            self._submit_to_311(session, case)  # a location may have made it possible
            return case

        return await self.run(work)

    async def open_case_of(self, citizen_id: int) -> Case | None:
        """The citizen's most recent open case, including those they joined as a reporter."""
        return await self.db.run(open_case_of, citizen_id)

    async def cases_of(self, citizen_id: int, reference: str | None = None) -> list[Case]:
        """A citizen's open cases (opened or joined), or the one named by `reference`."""
        return await self.db.run(cases_of, citizen_id, reference)

    # --- staff side ---------------------------------------------------------------------------

    async def claim(self, case_id: int, staff_id: str) -> Case:
        def work(session: Session) -> Case:
            case = get_open_case(session, case_id)
            unclaimed = case.status in (CaseStatus.NEW.value, CaseStatus.REOPENED.value)
            if case.assignee == staff_id and not unclaimed:
                return case
            case.assignee = staff_id
            if unclaimed:
                case.status = CaseStatus.CLAIMED.value
                notify_reporters(
                    session, case, f"claimed:{case_id}:{staff_id}:{case.reopened_at}",
                    lambda lang: say("case_claimed", lang, ref=case.reference),
                )
            log_event(session, case, staff_id, "claimed")
            queue_card(session, case)
            return case

        return await self.run(work)

    async def reply(
        self, case_id: int, staff_id: str, text: str, *, idempotency_key: str,
        then: str = "open",
    ) -> Case:
        """Send `text` to every citizen attached to the case, on the channel each used; `then`
        "waiting" asks them for an answer, "resolve" resolves the case with `text` as the note.
        Idempotent per key."""
        text = text.strip()
        if not text:
            raise CaseError("The reply is empty.")
        if then not in THEN:
            raise CaseError(f"Unknown follow-up {then!r}.")
        if then == "resolve":
            return await self.resolve(case_id, staff_id, note=text, key=idempotency_key)

        def work(session: Session) -> Case:
            case = get_open_case(session, case_id)
            key_text = "case_waiting" if then == "waiting" else "staff_reply"
            told = notify_reporters(
                session, case, f"reply:{idempotency_key}",
                lambda lang: say(key_text, lang, city=self.city_name, ref=case.reference,
                                 text=text),
            )
            if not told:
                return case  # the same submission delivered twice
            case.assignee = case.assignee or staff_id
            waiting = then == "waiting"
            case.status = (CaseStatus.WAITING if waiting else CaseStatus.ANSWERED).value
            case.first_response_at = case.first_response_at or utcnow()
            log_event(session, case, staff_id, "asked" if waiting else "replied", text)
            queue_card(session, case)
            return case

        return await self.run(work)

    async def resolve(
        self, case_id: int, staff_id: str, *, note: str | None = None, key: str | None = None
    ) -> Case:
        """Resolve the case and ask every reporter how satisfied they are (1-5 buttons)."""

        def work(session: Session) -> Case:
            case = get_case(session, case_id)
            if case.status == CaseStatus.RESOLVED.value:
                if note and key is None:
                    raise CaseError(f"Case {case.reference} is already resolved.")
                return case
            now = utcnow()
            case.status = CaseStatus.RESOLVED.value
            case.resolved_at = now
            case.assignee = case.assignee or staff_id
            if note and case.first_response_at is None:
                case.first_response_at = now
            days = f"{self.reopen_days:g}"
            notify_reporters(
                session, case, f"resolved:{case_id}:{key or now.isoformat()}",
                lambda lang: say(
                    "case_resolved", lang, ref=case.reference, days=days,
                    note=say("case_note", lang, text=note) if note else "",
                ),
                lambda lang: rating_buttons(case_id),
            )
            log_event(session, case, staff_id, "resolved", note)
            queue_card(session, case)
            return case

        return await self.run(work)

    async def reopen(self, case_id: int, citizen_id: int, message_id: int, text: str) -> Case:
        """A citizen says their resolved case is not solved: it opens again, with its SLA clock
        for resolution restarted and the message in its thread."""

        def work(session: Session) -> Case:
            case = get_case(session, case_id)
            if case.status != CaseStatus.RESOLVED.value:
                return case
            now = utcnow()
            case.status = CaseStatus.REOPENED.value
            case.resolved_at = None
            case.reopened_at = now
            case.sla_stage = 0
            sla = self.queues.sla(case.queue, case.category)
            case.resolution_due = deadlines(self.calendar, sla, now).resolution_due
            attach_message(session, message_id, case)
            log_event(session, case, "citizen", "reopened", text or None)
            if text:
                enqueue(
                    session, key=f"note:message:{message_id}", kind="note",
                    stream=case_stream(case_id),
                    payload={"case_id": case_id, "text": f"(reopened) {text}",
                             "author": "citizen"},
                )
            notify_reporters(
                session, case, f"reopened:{case_id}:{now.isoformat()}",
                lambda lang: say("case_reopened", lang, ref=case.reference),
            )
            queue_card(session, case)
            return case

        return await self.run(work)

    async def correct(self, case_id: int, staff_id: str, kind: str, value: str) -> Case:
        """Staff say a classifier was wrong: store the correction and show it on the card."""
        allowed = {"category": self.categories, "sentiment": SENTIMENTS}.get(kind)
        if allowed is None or (allowed and value not in allowed):
            raise CaseError(f"{value!r} is not a {kind} I know.")

        def work(session: Session) -> Case:
            case = get_case(session, case_id)
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
            log_event(session, case, staff_id, f"{kind}_corrected", f"{previous} → {value}")
            queue_card(session, case)
            if kind == "category":
                self._submit_to_311(session, case)
            return case

        return await self.run(work)

    async def move(self, case_id: int, staff_id: str, queue_id: str) -> Case:
        """Send the case to another queue: its card moves to that queue's channel (the old one
        says where it went), its history stays, and its SLA becomes the new queue's."""
        queue = self.queues.get(queue_id)
        if queue.id != queue_id:
            raise CaseError(f"There is no queue {queue_id!r}.")

        def work(session: Session) -> Case:
            case = get_open_case(session, case_id)
            if case.queue == queue.id:
                return case
            previous = self.queues.get(case.queue)
            if case.card_channel and case.card_ts and case.card_channel != queue.channel:
                enqueue(
                    session, key=f"card-moved:{case_id}:{case.card_ts}", kind="card_moved",
                    stream=case_stream(case_id),
                    payload={"case_id": case_id, "channel": case.card_channel,
                             "ts": case.card_ts, "queue": queue.name, "to": queue.channel},
                )
                case.card_channel = case.card_ts = None
            case.queue = queue.id
            due = deadlines(self.calendar, self.queues.sla(queue.id, case.category),
                            case.created_at)
            case.first_response_due, case.resolution_due = (
                due.first_response_due, due.resolution_due
            )
            log_event(session, case, staff_id, "moved", f"{previous.name} → {queue.name}")
            queue_card(session, case)
            return case

        return await self.run(work)

    async def note(
        self, case_id: int, staff_id: str, kind: str, note: str, *, detail: str | None = None,
        idempotency_key: str,
    ) -> Case:
        """Record something staff did about a case outside it (made it an FAQ entry): `kind` and
        `detail` go into its history, `note` into its card's thread. Idempotent per key."""

        def work(session: Session) -> Case:
            case = get_case(session, case_id)
            if not enqueue(
                session, key=f"note:staff:{idempotency_key}", kind="note",
                stream=case_stream(case_id), payload={"case_id": case_id, "text": note},
            ):
                return case  # the same action delivered twice
            log_event(session, case, staff_id, kind, detail)
            queue_card(session, case)
            return case

        return await self.run(work)

    async def find_by_card(self, channel: str, ts: str) -> Case | None:
        return await self.db.run(
            lambda session: session.exec(
                select(Case).where(Case.card_channel == channel, Case.card_ts == ts)
            ).first()
        )

    # --- staff card ---------------------------------------------------------------------------

    async def view(self, case_id: int, history: int = 5) -> CaseView:
        return await self.db.run(load_view, case_id, history)

    async def set_card(self, case_id: int, channel: str, ts: str) -> None:
        def work(session: Session) -> None:
            case = get_case(session, case_id)
            case.card_channel, case.card_ts = channel, ts
            session.add(case)

        await self.db.run(work)

    # --- helpers ------------------------------------------------------------------------------

    async def run(self, work: Callable[[Session], Case]) -> Case:
        case = await self.db.run(work)
        self.outbox.wake()
        return case

    async def pending_location(self, citizen_id: int) -> tuple[float, float] | None:
        """Where the citizen's report is, when they shared a pin just before writing it."""
        return await self.db.run(pending_location, citizen_id)

    def _submit_to_311(self, session: Session, case: Case) -> None:
        """Queue the case for the city's 311 system when its category is mapped to a service
        (once per category and location: a new location or category tries again)."""
        if case.service_request_id or case.category not in self.services:
            return
        where = f"{case.latitude},{case.longitude}" if case.latitude is not None else "-"
        enqueue(
            session, key=f"open311:{case.id}:{case.category}:{where}", kind="open311_submit",
            stream=f"open311:{case.id}", payload={"case_id": case.id},
        )
