"""Consultations on real databases: statement limits and refusals, moderation (with its Slack
card edited in place), the order statements are shown in, one vote per citizen per statement,
the vote matrix, and a report that finds planted opinion groups and their common ground."""

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bots.slack.blocks import card_blocks
from listening.models import OutboxItem
from listening.outbox import Outbox
from polls.consultation_desk import APPROVE, REJECT, ConsultationDesk
from polls.consultation_models import Statement, StatementVote
from polls.consultation_store import (
    ConsultationError,
    NewConsultation,
    StatementLimits,
    StatementRefused,
)
from polls.consultations import ConsultationService
from polls.subscriptions import Topics
from townhall.domain import Card, SendError, utcnow
from townhall.testing.fake_slack_validate import block_errors

TOPICS = Topics.from_names(["Parks", "Safety"])
STAFF = "U0STAFF001"
SEEDS = ("More benches along the river", "Keep the park open later in summer",
         "A fenced area for dogs")


class FakeConsole:
    """What the desk needs of a console, remembering what it was asked to show."""

    def __init__(self) -> None:
        self.cards: dict[str, Card] = {}
        self.posts: list[dict[str, Any]] = []
        self.uploads: list[dict[str, Any]] = []

    async def post_card(self, card: Card, channel: str | None = None) -> tuple[str, str]:
        ts = f"{len(self.cards) + 1}.0001"
        self.cards[ts] = card
        return channel or "CTRIAGE", ts

    async def update_card(self, channel: str, ts: str, card: Card) -> None:
        assert ts in self.cards, "an edit of a card never posted"
        self.cards[ts] = card

    async def post_blocks(self, text: str, blocks: list[dict[str, Any]],
                          channel: str | None = None) -> tuple[str, str]:
        self.posts.append({"text": text, "blocks": blocks, "channel": channel})
        return channel or "CTRIAGE", f"9{len(self.posts)}.0001"

    async def upload_file(self, path: Path, *, channel: str, title: str,
                          thread_ts: str | None = None, comment: str | None = None) -> str:
        self.uploads.append({"path": path, "channel": channel, "thread_ts": thread_ts})
        return "F001"


@pytest.fixture
def service(db, tmp_path) -> ConsultationService:
    return ConsultationService(db, Outbox(db), TOPICS, data_dir=tmp_path,
                               limits=StatementLimits(per_consultation=3, per_day=4))


async def open_consultation(service: ConsultationService, seeds=SEEDS, meta=(), **kw) -> int:
    return await service.create(NewConsultation(
        "What would make Riverside Park better?", "topic:parks", STAFF, seeds=tuple(seeds),
        meta=tuple(meta), **kw))


def outbox(db, kind: str) -> list[OutboxItem]:
    return db.transact(lambda s: s.exec(
        select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)).all())


def statements(db) -> dict[int, Statement]:
    return {s.id: s for s in db.transact(lambda s: s.exec(select(Statement)).all())}


async def refused(coroutine) -> str:
    with pytest.raises(StatementRefused) as caught:
        await coroutine
    return caught.value.key


async def test_a_citizen_can_add_only_so_many_statements(db, service, add_citizens):
    [ana] = add_citizens(1)
    first = await open_consultation(service)
    second = await open_consultation(service, seeds=())
    ids = [await service.submit_statement(first, ana, f"Idea number {k}") for k in range(3)]
    assert await refused(service.submit_statement(first, ana, "A fourth idea")) == \
        "statement_limit_consultation"
    # a rejected statement no longer counts towards the consultation's limit...
    await service.moderate(ids[0], False, STAFF)
    await service.submit_statement(first, ana, "A fourth idea")
    # ...but every submission of the last 24 hours counts towards the daily one
    assert await refused(service.submit_statement(second, ana, "Elsewhere")) == \
        "statement_limit_day"


async def test_racing_submissions_and_decisions_keep_the_rules(db, service, add_citizens):
    """On PostgreSQL these run at once on several connections; the locks keep the limits."""
    [ana] = add_citizens(1)
    consultation = await open_consultation(service)
    outcomes = await asyncio.gather(
        *(service.submit_statement(consultation, ana, f"Idea {k}") for k in range(6)),
        return_exceptions=True)
    accepted = [o for o in outcomes if isinstance(o, int)]
    assert len(accepted) == 3
    assert all(isinstance(o, StatementRefused) for o in outcomes if not isinstance(o, int))
    decisions = await asyncio.gather(
        service.moderate(accepted[0], True, STAFF), service.moderate(accepted[0], False, STAFF),
        return_exceptions=True)
    assert sorted(type(d).__name__ for d in decisions) == ["ConsultationError", "str"]


async def test_empty_long_duplicate_and_late_statements_are_refused(db, service, add_citizens):
    [ana, ben] = add_citizens(2)
    consultation = await open_consultation(service)
    assert await refused(service.submit_statement(consultation, ana, "   ")) == "statement_empty"
    assert await refused(service.submit_statement(consultation, ana, "?!…")) == "statement_empty"
    with pytest.raises(StatementRefused) as caught:
        await service.submit_statement(consultation, ana, "x" * 281)
    assert caught.value.key == "statement_too_long" and caught.value.values["length"] == 281
    await service.submit_statement(consultation, ana, "x" * 280)
    # the same idea with other case, punctuation and spacing is a duplicate, of a seed too
    assert await refused(service.submit_statement(
        consultation, ben, "more BENCHES, along the river!")) == "statement_duplicate"
    await service.close(consultation, report=False)
    assert await refused(service.submit_statement(consultation, ben, "New")) == "consult_closed"


async def test_moderation_decides_once_and_edits_the_card(db, service, add_citizens):
    [ana] = add_citizens(1)
    consultation = await open_consultation(service)
    first = await service.submit_statement(consultation, ana, "Plant more shade trees")
    second = await service.submit_statement(consultation, ana, "Free <!channel> water")
    assert [i.key for i in outbox(db, "statement_card")] == [
        f"statement:{first}:card:new", f"statement:{second}:card:new"]

    console = FakeConsole()
    desk = ConsultationDesk(db, console, service, channel="CMOD")
    await desk.deliver_statement_card({"statement_id": first})
    [(ts, card)] = console.cards.items()
    assert card.text == "Plant more shade trees" and card.title == "Statement to moderate"
    assert [(b.action, b.value) for b in card.buttons] == [(APPROVE, str(first)),
                                                            (REJECT, str(first))]

    assert block_errors(card_blocks(card)) == []

    await desk.handle_statement_action(APPROVE, first, STAFF)
    with pytest.raises(ConsultationError, match="already approved"):
        await desk.handle_statement_action(REJECT, first, "U0OTHER002")
    await desk.deliver_statement_card({"statement_id": first})
    [(same_ts, decided)] = console.cards.items()  # edited in place, not posted again
    assert same_ts == ts and decided.buttons == () and decided.title == "Statement approved"
    assert any(f"<@{STAFF}>" in f.value for f in decided.fields)

    await service.moderate(second, False, STAFF)
    assert statements(db)[second].status == "rejected"
    assert statements(db)[first].slack_ts == ts
    with pytest.raises(ConsultationError, match="no statement"):
        await service.moderate(9999, True, STAFF)


async def test_statements_come_least_voted_first_and_never_twice(db, service, add_citizens):
    ana, ben, carl = add_citizens(3)
    consultation = await open_consultation(service)
    seeds = sorted(statements(db))
    pending = await service.submit_statement(consultation, ben, "Waiting for a moderator")

    await service.record_vote(seeds[0], ana, 1)
    shown = []
    while (found := await service.next_statement_for(ben, consultation)) is not None:
        shown.append((found.statement_id, found.left))
        await service.record_vote(found.statement_id, ben, 0)
    # the two statements nobody voted on first, then the one Ana voted on; never the pending
    assert shown == [(seeds[1], 3), (seeds[2], 2), (seeds[0], 1)]

    for statement in seeds[1:]:
        await service.record_vote(statement, ana, -1)
    await service.moderate(pending, True, STAFF)
    # a newly approved statement comes first (its author's own agree vote is its only one)...
    found = await service.next_statement_for(carl, consultation)
    assert found is not None and (found.statement_id, found.left) == (pending, 4)
    # ...and it is never shown to its author, who counts as agreeing with it
    assert await service.next_statement_for(ben, consultation) is None


async def test_one_vote_per_citizen_per_statement(db, service, add_citizens):
    [ana] = add_citizens(1)
    consultation = await open_consultation(service)
    statement = min(statements(db))
    assert await service.record_vote(statement, ana, 1) == consultation
    assert await service.record_vote(statement, ana, -1) == consultation  # a change replaces
    rows = db.transact(lambda s: s.exec(select(StatementVote)).all())
    assert [(v.statement_id, v.citizen_id, v.vote) for v in rows] == [(statement, ana, -1)]
    with pytest.raises(IntegrityError):
        db.transact(lambda s: s.add(StatementVote(statement_id=statement, citizen_id=ana,
                                                  vote=1)))
    matrix = await service.matrix(consultation)
    assert matrix.participants == (ana,)
    assert matrix.values[0, matrix.statements.index(statement)] == -1
    assert await service.record_vote(9999, ana, 1) is None  # a forged button changes nothing
    await service.close(consultation, report=False)
    with pytest.raises(StatementRefused):
        await service.record_vote(statement, ana, 1)


async def test_the_matrix_leaves_out_pending_and_excludes_rejected_and_meta(
    db, service, add_citizens
):
    ana, ben = add_citizens(2)
    consultation = await open_consultation(service, meta=["I have children at school"])
    seeds = sorted(statements(db))
    meta = seeds.pop()
    rejected = await service.submit_statement(consultation, ana, "Rude words")
    await service.moderate(rejected, False, STAFF)
    pending = await service.submit_statement(consultation, ana, "Not moderated yet")
    for citizen in (ana, ben):
        for statement in (*seeds, meta):
            await service.record_vote(statement, citizen, 1 if citizen == ana else -1)

    votes = await service.votes(consultation)
    assert pending not in votes.votes.statements and pending not in votes.texts
    assert set(votes.votes.statements) == {*seeds, meta, rejected}
    assert votes.votes.excluded == {meta, rejected}
    assert votes.texts[meta] == "I have children at school"
    _, result = await service.opinions(consultation)
    assert set(result.statements) == set(seeds)  # only these shape the groups


def planted_votes(citizens: list[int], statement_ids: list[int], consensus: int,
                  seed: int = 3) -> list[tuple[int, int, int]]:
    """Two halves with opposite stances, except on the first `consensus` statements, which
    everyone agrees with; each person votes on ~80% of the statements, 5% off their stance."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1, 1], size=len(statement_ids))
    stance[:consensus] = 1
    votes = []
    for k, citizen in enumerate(citizens):
        side = 1 if k < len(citizens) // 2 else -1
        for j, statement in enumerate(statement_ids):
            if rng.random() > 0.8:
                continue
            vote = int(stance[j] if j < consensus else side * stance[j])
            if rng.random() < 0.05:
                vote = int(rng.choice([-1, 0, 1]))
            votes.append((citizen, statement, vote))
    return votes


async def test_a_report_finds_planted_groups_and_their_common_ground(
    db, service, tmp_path, add_citizens
):
    consultation = await open_consultation(
        service, seeds=[f"Statement {k}: the park needs change number {k}" for k in range(12)])
    statement_ids = sorted(statements(db))
    citizens = add_citizens(40)
    votes = planted_votes(citizens, statement_ids, consensus=2)
    db.transact(lambda s: s.add_all(
        [StatementVote(statement_id=st, citizen_id=c, vote=v) for c, st, v in votes]))

    report = await service.report(consultation)
    assert (report.participants, report.groups, report.grouped) == (40, 2, 40)
    assert report.path.parent == tmp_path / "consultations" and report.path.exists()
    page = report.path.read_text()
    assert "What would make Riverside Park better?" in page and "Group B" in page
    _, result = await service.opinions(consultation)
    assert {c.statement for c in result.consensus[:2]} == set(statement_ids[:2])
    assert all(share > 0.8 for c in result.consensus[:2] for share in c.agree)

    # two items on one stream: the summary, then the page in its thread
    outbox_ = service.outbox
    console = FakeConsole()
    desk = ConsultationDesk(db, console, service)
    [summary] = outbox(db, "consult_report")
    [upload] = outbox(db, "consult_file")
    assert summary.stream == upload.stream and summary.id < upload.id
    with pytest.raises(SendError, match="not posted yet"):
        await desk.deliver_report_file(upload.payload)
    outbox_.register("consult_report", desk.deliver_report)
    outbox_.register("consult_file", desk.deliver_report_file)
    while await outbox_.dispatch_due():
        pass
    [post] = console.posts
    assert block_errors(post["blocks"]) == []
    assert post["blocks"][0]["text"]["text"].startswith("Opinion groups")
    [uploaded] = console.uploads
    assert uploaded["thread_ts"] == "91.0001" and uploaded["path"] == report.path
    # a replica without the page on its disk writes it again before uploading
    report.path.unlink()
    await desk.deliver_report_file(upload.payload)
    assert console.uploads[-1]["path"] != report.path and console.uploads[-1]["path"].exists()
    stored = await service.get(consultation)
    assert stored is not None and (stored.slack_channel, stored.slack_ts) == ("CTRIAGE",
                                                                              "91.0001")


async def test_due_consultations_close_with_a_final_report(db, service):
    consultation = await service.create(NewConsultation(
        "Open the gates earlier?", "topic:parks", STAFF, utcnow() + timedelta(seconds=30),
        seeds=("Yes, at 6am",)))
    assert await service.close_due() == []
    assert await service.close_due(utcnow() + timedelta(minutes=1)) == [consultation]
    assert not await service.is_open(consultation)
    assert len(outbox(db, "consult_report")) == 1
    assert await service.close_due(utcnow() + timedelta(minutes=2)) == []


async def test_bad_consultations_are_refused(service):
    with pytest.raises(ConsultationError, match="topic"):
        await service.create(NewConsultation("Q?", "topic:zoo", STAFF))
    with pytest.raises(ConsultationError, match="twice"):
        await service.create(NewConsultation("Q?", "topic:parks", STAFF, seeds=("A b", "a, B")))
    with pytest.raises(ConsultationError, match="future"):
        await service.create(NewConsultation("Q?", "topic:parks", STAFF, utcnow()))
