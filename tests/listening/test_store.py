"""Storing inbound events: once per (channel, external id), citizens kept pseudonymous."""

import asyncio

from sqlmodel import select

from listening.ingest import store_event
from listening.models import Citizen, Conversation, Message
from townhall.db import Database
from townhall.domain import (
    Address,
    ButtonPress,
    InboundMessage,
    PollAnswer,
    Sender,
    event_from_dict,
    utcnow,
)
from townhall.privacy import Pseudonymizer


def _event(external_id: str, user: str = "777", text: str = "hello") -> InboundMessage:
    return InboundMessage(
        channel="telegram", external_id=external_id, address=Address("telegram", user),
        sender=Sender(user, "Jo Resident"), text=text, sent_at=utcnow(),
    )


def test_same_event_twice_is_stored_once(db: Database) -> None:
    first = db.transact(store_event, _event("777:1"), "p-777")
    second = db.transact(store_event, _event("777:1"), "p-777")
    assert not first.duplicate and second.duplicate
    assert first.message_id == second.message_id
    assert len(db.transact(lambda s: s.exec(select(Message)).all())) == 1


async def test_concurrent_deliveries_store_one_message(db: Database) -> None:
    results = await asyncio.gather(
        *(db.run(store_event, _event("777:9"), "p-777") for _ in range(8))
    )
    assert sum(not r.duplicate for r in results) == 1
    assert len(await db.run(lambda s: s.exec(select(Message)).all())) == 1


def test_citizen_is_pseudonymous_and_conversations_are_reused(db: Database) -> None:
    pseudonymize = Pseudonymizer(b"k" * 32)
    pseudonym = pseudonymize("telegram", "777")
    db.transact(store_event, _event("777:1"), pseudonym)
    db.transact(store_event, _event("777:2"), pseudonym)
    citizens = db.transact(lambda s: s.exec(select(Citizen)).all())
    assert len(citizens) == 1
    assert "777" not in citizens[0].pseudonym
    assert pseudonym != Pseudonymizer(b"x" * 32)("telegram", "777")
    assert citizens[0].display_name == "Jo Resident"
    assert len(db.transact(lambda s: s.exec(select(Conversation)).all())) == 1


def test_stored_event_can_be_rebuilt_for_recovery(db: Database) -> None:
    press = ButtonPress(
        channel="telegram", external_id="callback:5", address=Address("telegram", "777"),
        sender=Sender("777", "Jo"), action="faq_helpful", value="yes", sent_at=utcnow(),
    )
    vote = PollAnswer(
        channel="telegram", external_id="poll_answer:9", address=Address("telegram", "777"),
        sender=Sender("777", "Jo"), poll_id="p1", option_ids=(0, 2), sent_at=utcnow(),
    )
    for event in (_event("777:3", text="Ünïcödé ‮ 🚧" * 50), press, vote):
        stored = db.transact(store_event, event, "p-777")
        row = db.transact(lambda s, i=stored.message_id: s.get(Message, i))
        assert event_from_dict(row.event) == event


class _Echo:
    name = "echo"

    async def respond(self, turn):
        from responders.chain import Reply

        return Reply(f"echo: {turn.message.text}", self.name)


async def test_a_message_stored_but_never_handled_is_recovered_once(db: Database) -> None:
    from datetime import timedelta

    from classifiers.pipeline import Pipeline
    from listening.ingest import Ingestor
    from listening.models import OutboxItem
    from listening.outbox import Outbox
    from responders.chain import ResponderChain

    pseudonymize = Pseudonymizer(b"k" * 32)
    event = _event("777:42", text="are you there?")
    db.transact(store_event, event, pseudonymize("telegram", "777"))  # then the process died
    pipeline = Pipeline([])
    ingestor = Ingestor(
        db=db, pipeline=pipeline, chain=ResponderChain([_Echo()]), outbox=Outbox(db),
        pseudonymize=pseudonymize,
    )
    try:
        assert await ingestor.recover(older_than=timedelta(0)) == 1
        assert await ingestor.recover(older_than=timedelta(0)) == 0
        assert await ingestor(event) is False  # a late redelivery changes nothing
    finally:
        await pipeline.close()
    items = await db.run(lambda s: s.exec(select(OutboxItem)).all())
    assert [i.payload["text"] for i in items] == ["echo: are you there?"]
    message = await db.run(lambda s: s.exec(select(Message)).one())
    assert message.handled_at is not None and message.responder == "echo"


class _NotYet:
    """Answers only once told the thing the message refers to exists."""

    name = "not-yet"

    def __init__(self) -> None:
        self.ready = False

    async def respond(self, turn):
        from responders.chain import HandleLater, Reply

        if not self.ready:
            raise HandleLater("not recorded yet")
        return Reply("now I know", self.name)


async def test_a_responder_that_cannot_decide_yet_leaves_the_message_for_recovery(
    db: Database,
) -> None:
    from datetime import timedelta

    from classifiers.pipeline import Pipeline
    from listening.ingest import Ingestor
    from listening.outbox import Outbox
    from responders.chain import ResponderChain

    responder = _NotYet()
    pipeline = Pipeline([])
    ingestor = Ingestor(
        db=db, pipeline=pipeline, chain=ResponderChain([responder]), outbox=Outbox(db),
        pseudonymize=Pseudonymizer(b"k" * 32),
    )

    def handled(session) -> list:
        return [m.handled_at for m in session.exec(select(Message)).all()]

    try:
        assert await ingestor(_event("777:50")) is True
        assert await db.run(handled) == [None]
        assert await ingestor.recover(older_than=timedelta(0)) == 1  # still not ready
        assert await db.run(handled) == [None]
        responder.ready = True
        assert await ingestor.recover(older_than=timedelta(0)) == 1
        assert (await db.run(handled))[0] is not None
    finally:
        await pipeline.close()
