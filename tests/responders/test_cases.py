"""The case lifecycle on real databases: every change is logged and tells the citizen and card."""

import pytest
from sqlmodel import col, select

from listening.ingest import store_event
from listening.models import OutboxItem
from listening.outbox import Outbox
from responders.cases import CaseError, CaseService
from responders.models import Case, CaseEvent
from townhall.db import Database
from townhall.domain import Address, InboundMessage, Sender, utcnow


def _message(text: str, external_id: str = "1:1", user: str = "42") -> InboundMessage:
    return InboundMessage(
        channel="telegram", external_id=external_id,
        address=Address("telegram", user, None, external_id.split(":")[1]),
        sender=Sender(user, "Ana Citizen", "es"), text=text, sent_at=utcnow(),
    )


async def _open(db: Database, cases: CaseService, text: str = "The bus stop sign is down"):
    event = _message(text)
    stored = db.transact(store_event, event, "pseudo-42")
    return await cases.open(
        message_id=stored.message_id, citizen_id=stored.citizen_id,
        conversation_id=stored.conversation_id, address=event.address, summary=text,
        language="es", suggestions=[{"id": "bus-routes", "score": 0.41}],
    )


def _outbox(db: Database) -> list[OutboxItem]:
    return db.transact(lambda s: s.exec(select(OutboxItem).order_by(col(OutboxItem.id))).all())


@pytest.fixture
def cases(db: Database) -> CaseService:
    return CaseService(db, Outbox(db), city_name="Springfield", prefix="SP")


async def test_open_is_idempotent_and_queues_a_card(db: Database, cases: CaseService) -> None:
    case = await _open(db, cases)
    again = await _open(db, cases)
    assert again.id == case.id
    assert case.reference == f"SP-{case.id:05d}"
    assert case.address["chat_id"] == "42"
    assert [i.kind for i in _outbox(db)] == ["card"]


async def test_claim_reply_resolve(db: Database, cases: CaseService) -> None:
    case = await _open(db, cases)
    await cases.claim(case.id, "U0STAFF001")
    await cases.reply(case.id, "U0STAFF001", "A crew is on the way.", idempotency_key="v1")
    await cases.reply(case.id, "U0STAFF001", "A crew is on the way.", idempotency_key="v1")
    done = await cases.resolve(case.id, "U0STAFF001")
    assert done.status == "resolved" and done.resolved_at and done.first_response_at

    events = db.transact(
        lambda s: s.exec(select(CaseEvent.kind, CaseEvent.actor).order_by(col(CaseEvent.id))).all()
    )
    assert [tuple(e) for e in events] == [
        ("opened", "citizen"), ("claimed", "U0STAFF001"),
        ("replied", "U0STAFF001"), ("resolved", "U0STAFF001"),
    ]
    messages = [i.payload["text"] for i in _outbox(db) if i.kind == "message"]
    # in the citizen's language, once each, in order
    assert len(messages) == 3
    assert "SP-" in messages[0] and "equipo" in messages[0]
    assert "A crew is on the way." in messages[1] and "Springfield" in messages[1]
    assert "resuelto" in messages[2]
    assert {i.stream for i in _outbox(db) if i.kind == "message"} == {"telegram:42"}


async def test_no_reply_to_a_resolved_case(db: Database, cases: CaseService) -> None:
    case = await _open(db, cases)
    await cases.resolve(case.id, "U0STAFF001")
    with pytest.raises(CaseError, match="already resolved"):
        await cases.reply(case.id, "U0STAFF001", "late", idempotency_key="v2")
    with pytest.raises(CaseError, match="empty"):
        await cases.reply(case.id, "U0STAFF001", "   ", idempotency_key="v3")
    with pytest.raises(CaseError, match="no case"):
        await cases.claim(99999, "U0STAFF001")


async def test_card_location_and_citizen_lookups(db: Database, cases: CaseService) -> None:
    case = await _open(db, cases)
    await cases.set_card(case.id, "C0TRIAGE01", "1700000000.000100")
    found = await cases.find_by_card("C0TRIAGE01", "1700000000.000100")
    assert found is not None and found.id == case.id
    assert (await cases.open_case_of(case.citizen_id)).id == case.id
    assert [c.id for c in await cases.cases_of(case.citizen_id, case.reference.lower())] == [
        case.id
    ]
    assert await cases.cases_of(case.citizen_id + 1, case.reference) == []
    view = await cases.view(case.id)
    assert view.citizen_name == "Ana Citizen"
    assert view.recent_messages[-1][1] == "The bus stop sign is down"
    stored = db.transact(lambda s: s.get(Case, case.id))
    assert stored.suggestions == [{"id": "bus-routes", "score": 0.41}]
