"""Votes on a real database: one per citizen per poll, changes replace, and a flood of votes
from brand-new accounts is told to staff once."""

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from listening.models import Citizen, Conversation, OutboxItem
from polls.models import PollDelivery, PollVote
from polls.service import (
    FLOOD_VOTES,
    PollDraft,
    PollNotYetKnown,
    close_due,
    create_poll,
    record_vote,
)
from townhall.domain import Address, PollAnswer, Sender, utcnow


@pytest.fixture
def poll(db):
    db.ensure_schema()
    now = utcnow()
    draft = PollDraft("Dog run?", ["Yes", "No"], "group:-100777", now + timedelta(days=1), "U1")
    poll_id = db.transact(create_poll, draft, now, 10.0)
    db.transact(lambda s: s.add(PollDelivery(
        poll_id=poll_id, channel="telegram", chat_id="-100777", platform_poll_id="P1",
        message_id="5")))
    return poll_id


def citizen(db, name: str, age: timedelta = timedelta(0)) -> int:
    def add(session) -> int:
        row = Citizen(channel="telegram", pseudonym=name, created_at=utcnow() - age)
        session.add(row)
        session.flush()
        return int(row.id)

    return db.transact(add)


def answer(options: list[int], user: str = "1") -> PollAnswer:
    return PollAnswer("telegram", f"pa-{user}-{options}", Address("telegram", user),
                      Sender(user), "P1", tuple(options), utcnow())


def vote(db, citizen_id: int, options: list[int]) -> int | None:
    return db.transact(record_vote, answer(options), citizen_id, utcnow(), 10.0)


def votes(db) -> list[tuple[int, list[int]]]:
    rows = db.transact(lambda s: s.exec(select(PollVote)).all())
    return sorted((v.citizen_id, v.option_ids) for v in rows)


def test_a_changed_vote_replaces_and_a_retracted_one_is_gone(db, poll):
    ana = citizen(db, "ana", age=timedelta(days=30))
    assert vote(db, ana, [0]) == poll
    vote(db, ana, [1])
    assert votes(db) == [(ana, [1])]
    vote(db, ana, [])
    assert votes(db) == []


def test_the_database_refuses_a_second_vote_row(db, poll):
    ana = citizen(db, "ana")
    vote(db, ana, [0])
    with pytest.raises(IntegrityError):
        db.transact(lambda s: s.add(PollVote(poll_id=poll, citizen_id=ana, channel="telegram",
                                             option_ids=[1])))


def test_a_flood_of_new_accounts_is_flagged_once(db, poll):
    for k in range(5):
        vote(db, citizen(db, f"old-{k}", age=timedelta(days=30)), [0])
    for k in range(FLOOD_VOTES + 5):
        vote(db, citizen(db, f"new-{k}"), [1])
    notices = db.transact(lambda s: s.exec(
        select(OutboxItem.payload).where(OutboxItem.kind == "notice")).all())
    assert len(notices) == 1
    assert "accounts first seen in the last hour" in notices[0]["text"]


def test_regular_voters_raise_no_flag(db, poll):
    for k in range(FLOOD_VOTES + 5):
        vote(db, citizen(db, f"old-{k}", age=timedelta(days=30)), [0])
    assert db.transact(lambda s: s.exec(
        select(OutboxItem).where(OutboxItem.kind == "notice")).all()) == []


def test_the_result_is_told_in_each_citizen_s_language(db):
    db.ensure_schema()
    now = utcnow()

    def setup(session) -> int:
        ana = Citizen(channel="telegram", pseudonym="ana-es", language="es")
        session.add(ana)
        session.flush()
        session.add(Conversation(citizen_id=ana.id, channel="telegram", chat_key="telegram:555:",
                                 address={"channel": "telegram", "chat_id": "555"}))
        draft = PollDraft("¿Parque para perros?", ["Sí", "No"], "group:-1",
                          now + timedelta(hours=1), "U1", announce_result=True)
        poll_id = create_poll(session, draft, now, 10.0)
        session.add(PollDelivery(poll_id=poll_id, channel="telegram", chat_id="555",
                                 platform_poll_id="P9", message_id="3"))
        return poll_id

    db.transact(setup)
    assert db.transact(close_due, now + timedelta(hours=2), False)
    [text] = db.transact(lambda s: s.exec(select(OutboxItem.payload).where(
        OutboxItem.key.like("poll:%:result:%"))).all())
    assert text["text"].startswith("Resultados de la encuesta")


def test_a_vote_for_a_poll_not_recorded_yet_is_left_for_later_then_dropped(db, poll):
    ana = citizen(db, "ana")
    early = PollAnswer("telegram", "pa-early", Address("telegram", "1"), Sender("1"),
                       "P-unknown", (0,), utcnow())
    with pytest.raises(PollNotYetKnown):
        db.transact(record_vote, early, ana, utcnow(), 10.0)
    late = utcnow() + timedelta(minutes=11)
    assert db.transact(record_vote, early, ana, late, 10.0) is None
    assert votes(db) == []
