"""A citizen in a consultation, turn by turn on a real database: `/consult`, the vote buttons,
"Add my own statement" (surviving a restart, handled once if handled twice, cancelled by a
command), refusals with a way to retry; and the staff's `/townhall consult` commands."""

from datetime import timedelta
from itertools import count

import pytest
from sqlmodel import select

from listening.models import OutboxItem
from listening.outbox import Outbox
from polls.consultation_commands import ConsultationCommands
from polls.consultation_models import Statement, StatementDraft, StatementVote
from polls.consultation_responder import ConsultationResponder
from polls.consultation_store import ADD, CANCEL, JOIN, VOTE, NewConsultation, StatementLimits
from polls.consultations import ConsultationService
from polls.subscriptions import Topics
from responders.chain import Reply, Turn
from townhall.domain import Address, Button, ButtonPress, InboundMessage, Sender, utcnow

STAFF_ID = "U0STAFF001"
TOPICS = Topics.from_names(["Parks", "Safety"])
QUESTION = "What would make Riverside Park better?"
SEEDS = ("More benches along the river", "Keep the park open later in summer")


class Citizen:
    """One citizen's side of the conversation, as the ingestor would hand it to the chain."""

    ids = count(1000)

    def __init__(self, responder: ConsultationResponder, citizen_id: int, language: str = "en"):
        self.responder = responder
        self.citizen_id = citizen_id
        self.language = language

    def _turn(self, event, message_id: int | None = None) -> Turn:
        return Turn(event=event, message_id=message_id or next(self.ids),
                    citizen_id=self.citizen_id, conversation_id=1, language=self.language)

    def _address(self) -> Address:
        return Address("telegram", str(self.citizen_id))

    async def says(self, text: str, message_id: int | None = None) -> Reply | None:
        command, args = None, ""
        if text.startswith("/"):
            word, _, args = text.partition(" ")
            command = word[1:]
        event = InboundMessage("telegram", f"m{next(self.ids)}", self._address(),
                               Sender(str(self.citizen_id)), text, utcnow(), command=command,
                               args=args)
        return await self.responder.respond(self._turn(event, message_id))

    async def presses(self, button: Button) -> Reply | None:
        assert len(f"{button.action}:{button.value}".encode()) <= 64  # Telegram's callback limit
        event = ButtonPress("telegram", f"cb{next(self.ids)}", self._address(),
                            Sender(str(self.citizen_id)), button.action, button.value, utcnow())
        return await self.responder.respond(self._turn(event))


def button(reply: Reply | None, action: str, label: str | None = None) -> Button:
    assert reply is not None
    found = [b for b in reply.buttons if b.action == action and label in (None, b.label)]
    assert found, f"no {action} {label or ''} button in {reply.buttons}"
    return found[0]


@pytest.fixture
def service(db, tmp_path) -> ConsultationService:
    return ConsultationService(db, Outbox(db), TOPICS, data_dir=tmp_path,
                               limits=StatementLimits(per_consultation=2, per_day=5))


async def test_a_citizen_joins_votes_through_and_adds_a_statement(db, service, add_citizens):
    [ana_id] = add_citizens(1, topic="parks")
    parks = await service.create(NewConsultation(QUESTION, "topic:parks", STAFF_ID, seeds=SEEDS))
    await service.create(NewConsultation("Safer crossings?", "topic:safety", STAFF_ID))
    ana = Citizen(ConsultationResponder(service), ana_id)

    menu = await ana.says("/consult")
    assert menu is not None and menu.private
    assert [(b.action, b.value) for b in menu.buttons] == [(JOIN, str(parks))]  # her topic only

    first = await ana.presses(button(menu, JOIN))
    assert first is not None and QUESTION in first.text and SEEDS[0] in first.text
    assert "(2 left" in first.text
    assert [b.label for b in first.buttons] == ["Agree", "Disagree", "Pass / Unsure",
                                                "Add my own statement"]
    second = await ana.presses(button(first, VOTE, "Agree"))
    assert second is not None and SEEDS[1] in second.text and QUESTION not in second.text
    done = await ana.presses(button(second, VOTE, "Disagree"))
    assert done is not None and "every statement" in done.text
    assert [b.action for b in done.buttons] == [ADD]
    votes = db.transact(lambda s: s.exec(select(StatementVote.vote)).all())
    assert sorted(votes) == [-1, 1]

    prompt = await ana.presses(button(done, ADD))
    assert prompt is not None and "next message" in prompt.text
    assert [b.action for b in prompt.buttons] == [CANCEL]

    # a restart between the button and the statement: the request is in the database
    ana.responder = ConsultationResponder(ConsultationService(db, Outbox(db), TOPICS))
    thanks = await ana.says("A  water fountain\nby the playground", message_id=77)
    assert thanks is not None and "once a moderator" in thanks.text
    [mine] = db.transact(lambda s: s.exec(select(Statement).where(
        Statement.citizen_id == ana_id)).all())
    assert (mine.text, mine.status) == ("A water fountain by the playground", "pending")
    cards = db.transact(lambda s: s.exec(select(OutboxItem.key).where(
        OutboxItem.kind == "statement_card")).all())
    assert cards == [f"statement:{mine.id}:card:new"]

    # the same message handled again (recovery after a crash): the same answer, one statement
    again = await ana.says("A  water fountain\nby the playground", message_id=77)
    assert again is not None and again.text == thanks.text
    assert len(db.transact(lambda s: s.exec(select(Statement.id).where(
        Statement.citizen_id == ana_id)).all())) == 1
    # her next message is an ordinary message again, for the rest of the chain
    assert await ana.says("When is the bulky waste collection?") is None
    assert db.transact(lambda s: s.get(StatementDraft, ana_id)) is None


async def test_refusals_let_the_citizen_retry_or_move_on(db, service, add_citizens):
    ana_id, ben_id = add_citizens(2)
    parks = await service.create(NewConsultation(QUESTION, "topic:parks", STAFF_ID, seeds=SEEDS))
    ana = Citizen(ConsultationResponder(service), ana_id, language="es")
    menu = await ana.says("/consult")  # she follows no topic: every open consultation
    assert menu is not None and menu.text.startswith("Consultas abiertas")
    joined = await ana.presses(button(menu, JOIN))
    assert [b.label for b in joined.buttons][:2] == ["De acuerdo", "En desacuerdo"]

    await ana.presses(button(joined, ADD))
    too_long = await ana.says("x" * 300)
    assert too_long is not None and "300" in too_long.text and "280" in too_long.text
    assert [b.action for b in too_long.buttons] == [CANCEL]  # still waiting for a shorter one
    duplicate = await ana.says("more benches along the river")
    assert duplicate is not None and "dos veces" in duplicate.text
    assert await ana.says("Something else") is None  # a duplicate ends the request

    await ana.presses(Button("+", ADD, str(parks)))
    assert await ana.says("/status") is None  # any other command cancels the request...
    assert await ana.says("Another thing") is None  # ...so this is an ordinary message

    await ana.presses(Button("+", ADD, str(parks)))
    cancelled = await ana.presses(Button("x", CANCEL, str(parks)))
    assert cancelled is not None and cancelled.text.startswith("De acuerdo, no se ha")

    ben = Citizen(ConsultationResponder(service), ben_id)
    for text in ("First idea", "Second idea", "Third idea"):
        await ben.presses(Button("+", ADD, str(parks)))
        answer = await ben.says(text)
    assert answer is not None and "already added 2 statements" in answer.text

    assert (await ben.says("/consult 999")).text.startswith("There is no open consultation 999")
    assert (await ben.says("/consult parks")).text.startswith("There is no open consultation")
    assert (await ben.says("/consult ²")).text.startswith("There is no open consultation")
    first_seed = min(db.transact(lambda s: s.exec(select(Statement.id)).all()))
    await service.close(parks, report=False)
    closed = await ben.presses(Button("Agree", VOTE, f"{first_seed}.a"))
    assert closed is not None and "closed" in closed.text
    assert (await ben.says(f"/consult {parks}")).text.startswith("This consultation is closed")
    assert await ben.presses(Button("?", VOTE, "1.x")) is None  # malformed: not ours
    assert await ben.presses(Button("?", "faq_help", "y.1.x")) is None  # another responder's


async def test_staff_commands_open_seed_report_and_close(db, service, add_citizens):
    subscribers = add_citizens(2, topic="parks", prefix="sub")
    commands = ConsultationCommands(service, max_open_days=30)
    run = commands.consult_command

    opened = await run('consult new “What would make the park better?” topic:Parks '
                       '"More benches" "Longer opening hours" meta:"I have a dog" days:14 '
                       "announce", STAFF_ID)
    assert opened.startswith("Consultation 1 is open for Parks")
    assert "2 seed statements, 1 meta statements; closes" in opened
    consultation = await service.get(1)
    assert consultation is not None and consultation.closes_at is not None
    assert consultation.closes_at - utcnow() > timedelta(days=13)
    announced = db.transact(lambda s: s.exec(select(OutboxItem.payload).where(
        OutboxItem.kind == "message")).all())
    assert len(announced) == len(subscribers)
    assert announced[0]["buttons"] == [["Take part", JOIN, "1"]]

    assert "Statement 4 added" in await run('add 1 "Shade over the playground"', STAFF_ID)
    assert "already says that" in await run('add 1 "more benches!"', STAFF_ID)
    rows = db.transact(lambda s: s.exec(select(Statement).order_by(Statement.id)).all())
    assert [(r.text, r.status, r.is_meta) for r in rows][2:] == [
        ("I have a dog", "approved", True), ("Shade over the playground", "approved", False)]

    listing = await run("list", STAFF_ID)
    assert "*1* (open" in listing and "4 statements, 0 waiting" in listing
    reported = await run("report 1", STAFF_ID)
    assert reported.startswith("Consultation 1: 0 participants")
    assert await run("close 1", STAFF_ID) == "Consultation 1 is closed; the final report follows."
    assert await run("close 1", STAFF_ID) == "Consultation 1 was already closed."
    assert await run("report 7", STAFF_ID) == "Cannot do that: There is no consultation 7."
    assert "not a consultation number" in await run("close ²", STAFF_ID)

    assert "topic:ID" in await run('new "No audience"', STAFF_ID)
    assert "Unknown topic 'zoo'" in await run('new "Q?" topic:zoo', STAFF_ID)
    assert "0 to 30 days" in await run('new "Q?" topic:parks days:90', STAFF_ID)
    assert "not closed" in await run('new "Q? topic:parks', STAFF_ID)
    assert (await run("", STAFF_ID)).startswith("*Consultations*")
    unquoted = await run("new Should the park close at 10pm? topic:parks", STAFF_ID)
    assert "\u201cShould the park close at 10pm?\u201d" in unquoted
