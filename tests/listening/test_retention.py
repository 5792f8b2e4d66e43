"""The retention job on known rows, on both databases."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from listening.models import Message, OutboxItem
from listening.outbox import enqueue
from listening.retention import EXPIRED, RetentionJob
from responders.models import Case
from townhall.db import Database
from townhall.testing.digest_data import DigestRows

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def test_old_words_go_counts_and_open_cases_stay(db: Database) -> None:
    rows = DigestRows(db)
    old, recent = NOW - timedelta(days=400), NOW - timedelta(days=10)
    old_message = rows.message(old, "my flat at 12 Elm St floods", category="water_sewer")
    new_message = rows.message(recent, "the bus was late again", category="transit")
    closed = rows.case(old, first_response_at=old, resolved_at=old + timedelta(days=1))
    still_open = rows.case(old)

    def link_and_queue(session) -> None:
        message = session.get(Message, old_message)
        open_case = session.get(Case, still_open)
        enqueue(session, key="old-reply", kind="message", stream="telegram:1",
                payload={"text": "about your flat at 12 Elm St"})
        item = session.exec(select(OutboxItem).where(OutboxItem.key == "old-reply")).one()
        item.status, item.created_at = "sent", old
        session.add_all([item, message, open_case])

    db.transact(link_and_queue)
    in_open_case = rows.message(old, "still being fixed at 3 Oak Ave")
    db.transact(lambda s: _attach(s, in_open_case, still_open))

    done = await RetentionJob(db, days=365).run(now=NOW)
    assert (done.messages, done.cases, done.outbox) == (1, 1, 1)

    def read(session):
        return (session.get(Message, old_message), session.get(Message, new_message),
                session.get(Message, in_open_case), session.get(Case, closed),
                session.get(Case, still_open),
                session.exec(select(OutboxItem).where(OutboxItem.key == "old-reply")).one())

    gone, kept, open_words, closed_case, open_case, item = db.transact(read)
    assert gone.text == "" and gone.event == {} and gone.category == "water_sewer"
    assert gone.external_id == f"expired:{gone.id}"
    assert kept.text == "the bus was late again"
    assert open_words.text == "still being fixed at 3 Oak Ave"  # its case is still open
    assert closed_case.summary == EXPIRED and open_case.summary != EXPIRED
    assert item.payload == {}
    assert await RetentionJob(db, days=365).run(now=NOW) == type(done)(0, 0, 0)  # idempotent


def _attach(session, message_id: int, case_id: int) -> None:
    message = session.get(Message, message_id)
    message.case_id = case_id
    session.add(message)
