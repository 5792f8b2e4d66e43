"""Polls: create, deliver as native platform polls, record votes, close on time, count.

Every outward step goes through the outbox: one item per audience member (`poll`), the live
tally card in Slack (`poll_card`, rendered from the database at delivery, throttled by its key
to one edit per `tally_seconds`), stopping the platform polls at close (`poll_stop`) and the
result message for subscribers (`message`). Closing is a scheduled check of `closes_at` in the
database, so a poll closes on time after a restart too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from listening.models import Citizen, Conversation, Message
from listening.outbox import Outbox, citizen_stream, enqueue
from polls.models import Poll, PollDelivery, PollVote
from polls.results import PollError, PollResults, poll_results
from polls.subscriptions import Topics, audience
from responders.chain import HandleLater, Reply, Turn
from responders.texts import LANGUAGES, pick_language, say
from townhall.db import Database
from townhall.domain import (
    Address,
    OutboundMessage,
    PollAnswer,
    PollForm,
    utcnow,
)

log = logging.getLogger(__name__)

QUESTION_LIMIT = 300  # Telegram's limits, the strictest of our channels
OPTION_LIMIT = 100
MAX_OPTIONS = 10


UNKNOWN_POLL_GRACE = timedelta(minutes=10)
X_AUDIENCE = "x"  # a poll post on the city's X account
X_MAX_OPTIONS, X_OPTION_LIMIT, X_LONGEST = 4, 25, timedelta(days=7)
FLOOD_WINDOW = timedelta(minutes=10)  # votes this recent...
NEW_ACCOUNT = timedelta(hours=1)  # ...from accounts this new...
FLOOD_VOTES = 20  # ...this many of them, and at least half of the recent votes: tell staff


class PollNotYetKnown(HandleLater):
    """A vote arrived before its poll's delivery was recorded; handled again later."""


class PollChannel(Protocol):
    async def send_poll(
        self, address: Address, question: str, options: list[str]
    ) -> tuple[str, str]:
        """Send a native, non-anonymous poll; returns (message id, platform poll id)."""
        ...

    async def stop_poll(self, address: Address, message_id: str) -> None: ...


@dataclass(frozen=True)
class PollDraft:
    question: str
    options: list[str]
    audience: str  # topic:<id> | group:<chat id>
    closes_at: datetime
    created_by: str
    announce_result: bool = False


def check_draft(draft: PollDraft, topics: Topics, now: datetime) -> None:
    question = draft.question.strip()
    options = [o.strip() for o in draft.options if o.strip()]
    if not 1 <= len(question) <= QUESTION_LIMIT:
        raise PollError(f"The question must be 1 to {QUESTION_LIMIT} characters.")
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise PollError(f"A poll needs 2 to {MAX_OPTIONS} options.")
    if any(len(o) > OPTION_LIMIT for o in options):
        raise PollError(f"Each option must be at most {OPTION_LIMIT} characters.")
    if len({o.casefold() for o in options}) != len(options):
        raise PollError("Two options are the same.")
    if draft.closes_at <= now:
        raise PollError("The closing time must be in the future.")
    kind, _, value = draft.audience.partition(":")
    if draft.audience == X_AUDIENCE:
        if len(options) > X_MAX_OPTIONS or any(len(o) > X_OPTION_LIMIT for o in options):
            raise PollError(f"A poll on X has at most {X_MAX_OPTIONS} options of at most "
                            f"{X_OPTION_LIMIT} characters.")
        if draft.closes_at - now > X_LONGEST:
            raise PollError("A poll on X can stay open at most 7 days.")
        return
    if kind == "topic" and value not in topics.names:
        raise PollError(f"Unknown topic {value!r}; topics: {', '.join(topics.names)}.")
    if kind not in ("topic", "group") or not value:
        raise PollError("The audience is topic:<id>, group:<Telegram chat id> or x.")


def create_poll(
    session: Session, draft: PollDraft, now: datetime, tally_seconds: float
) -> int:
    poll = Poll(
        question=draft.question.strip(), options=[o.strip() for o in draft.options if o.strip()],
        audience=draft.audience, closes_at=draft.closes_at, created_by=draft.created_by,
        announce_result=draft.announce_result, created_at=now,
    )
    session.add(poll)
    session.flush()
    assert poll.id is not None
    for address in _addresses(session, poll):
        enqueue(
            session, key=f"poll:{poll.id}:{address.channel}:{address.chat_id}", kind="poll",
            stream=citizen_stream(address), payload={"poll_id": poll.id,
                                                     "address": address.as_dict()},
        )
    enqueue(session, key=f"poll:{poll.id}:card:new", kind="poll_card",  # shown at once
            stream=f"console:poll:{poll.id}", payload={"poll_id": poll.id})
    return poll.id


def _addresses(session: Session, poll: Poll) -> list[Address]:
    kind, _, value = poll.audience.partition(":")
    if poll.audience == X_AUDIENCE:
        return [Address("x", "account")]
    if kind == "group":
        return [Address("telegram", value)]
    return [address for _, address in audience(session, value) if address.channel == "telegram"]


def queue_card(session: Session, poll_id: int, now: datetime, tally_seconds: float) -> None:
    """At most one edit of the tally card per `tally_seconds` window, sent at the window's
    end: rendered then, it shows every vote of the window."""
    window = max(tally_seconds, 0.1)
    bucket = int(now.timestamp() // window)
    enqueue(session, key=f"poll:{poll_id}:card:{bucket}", kind="poll_card",
            stream=f"console:poll:{poll_id}", payload={"poll_id": poll_id},
            not_before=datetime.fromtimestamp((bucket + 1) * window, tz=UTC))


def record_vote(
    session: Session, event: PollAnswer, citizen_id: int, now: datetime, tally_seconds: float
) -> int | None:
    delivery = session.exec(
        select(PollDelivery).where(
            PollDelivery.channel == event.channel,
            PollDelivery.platform_poll_id == event.poll_id,
        )
    ).first()
    if delivery is None:
        if now - event.sent_at < UNKNOWN_POLL_GRACE:
            # the vote can overtake the record of the poll it answers (the platform's reply
            # to sendPoll is still on its way): leave the vote unhandled; recovery retries it
            raise PollNotYetKnown(f"{event.channel} poll {event.poll_id} is not recorded yet")
        log.info("vote for unknown %s poll %s ignored", event.channel, event.poll_id)
        return None
    poll = session.get(Poll, delivery.poll_id)
    if poll is None or poll.status != "open":
        return None
    vote = session.exec(
        select(PollVote).where(PollVote.poll_id == poll.id, PollVote.citizen_id == citizen_id)
    ).first()
    options = [i for i in event.option_ids if 0 <= i < len(poll.options)]
    if not options:  # a retracted vote
        if vote is not None:
            session.delete(vote)
    elif vote is None:
        session.add(PollVote(poll_id=poll.id, citizen_id=citizen_id, channel=event.channel,
                             option_ids=options, voted_at=now, changed_at=now))
        session.flush()
        _flag_flood(session, poll, now)
    else:
        vote.option_ids, vote.changed_at = options, now
        session.add(vote)
    assert poll.id is not None
    queue_card(session, poll.id, now, tally_seconds)
    return poll.id


def _flag_flood(session: Session, poll: Poll, now: datetime) -> None:
    """Tell staff, once per poll, when many votes come from accounts that are brand new:
    the sign of someone voting with throwaway accounts."""
    if poll.flagged_at is not None:
        return
    # one aggregate per vote: during a flood this runs for every one of thousands of votes
    is_new = case((col(Citizen.created_at) >= now - NEW_ACCOUNT, 1), else_=0)
    votes, new_accounts = session.exec(
        select(func.count(), func.coalesce(func.sum(is_new), 0))
        .select_from(PollVote)
        .join(Citizen, col(Citizen.id) == PollVote.citizen_id)
        .where(PollVote.poll_id == poll.id, col(PollVote.voted_at) >= now - FLOOD_WINDOW)
    ).one()
    if new_accounts < FLOOD_VOTES or new_accounts * 2 < votes:
        return
    poll.flagged_at = now
    session.add(poll)
    minutes = int(FLOOD_WINDOW.total_seconds() // 60)
    enqueue(
        session, key=f"poll:{poll.id}:flood", kind="notice", stream="console:notice",
        payload={"text": f":warning: Poll {poll.id} ({poll.question[:80]}): {new_accounts} of "
                         f"the {votes} votes of the last {minutes} minutes come from accounts "
                         "first seen in the last hour. The result may be manipulated."},
    )


def _close(session: Session, poll: Poll, now: datetime, chart: bool) -> None:
    assert poll.id is not None
    poll.status, poll.closed_at = "closed", now
    session.add(poll)
    deliveries = session.exec(select(PollDelivery).where(PollDelivery.poll_id == poll.id)).all()
    for delivery in deliveries:
        enqueue(session, key=f"poll:{poll.id}:stop:{delivery.id}", kind="poll_stop",
                stream=citizen_stream(Address(delivery.channel, delivery.chat_id)),
                payload={"channel": delivery.channel, "chat_id": delivery.chat_id,
                         "message_id": delivery.message_id})
    enqueue(session, key=f"poll:{poll.id}:card:final", kind="poll_card",
            stream=f"console:poll:{poll.id}", payload={"poll_id": poll.id})
    if chart:  # after the final card, in its thread
        enqueue(session, key=f"poll:{poll.id}:chart", kind="poll_chart",
                stream=f"console:poll:{poll.id}", payload={"poll_id": poll.id})
    if poll.announce_result:
        results = poll_results(session, poll.id)
        lines = "\n".join(
            f"{option}: {n} ({pct:g}%)"
            for option, n, pct in zip(results.options, results.counts, results.percentages,
                                      strict=True)
        )
        for delivery in deliveries:
            address = Address(delivery.channel, delivery.chat_id)
            text = say("poll_result", _language_at(session, address), question=poll.question,
                       lines=lines, voters=results.voters)
            enqueue(session, key=f"poll:{poll.id}:result:{delivery.id}", kind="message",
                    stream=citizen_stream(address),
                    payload=OutboundMessage(address, text).as_dict())


def _language_at(session: Session, address: Address) -> str:
    """The language of the citizen whose private chat `address` is: the one they chose, else
    the one they last wrote in (English for a group, or when we cannot tell)."""
    citizen = session.exec(
        select(Citizen.id, Citizen.language)
        .join(Conversation, col(Conversation.citizen_id) == Citizen.id)
        .where(Conversation.chat_key == f"{address.channel}:{address.chat_id}:")
    ).first()
    if citizen is None:
        return "en"
    written = session.exec(
        select(Message.language).where(
            Message.citizen_id == citizen[0], col(Message.language).in_(LANGUAGES)
        ).order_by(col(Message.id).desc())
    ).first()
    return pick_language(citizen[1], written, default="en")


def close_due(session: Session, now: datetime, chart: bool) -> list[int]:
    due = session.exec(
        select(Poll).where(Poll.status == "open", col(Poll.closes_at) <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for poll in due:
        _close(session, poll, now, chart)
    return [int(p.id or 0) for p in due]


class PollService:
    def __init__(
        self, db: Database, outbox: Outbox, topics: Topics, *,
        tally_seconds: float = 10.0,
        max_open: timedelta = timedelta(days=60), console: bool = False,
    ):
        """`console`: staff see polls in a console (Slack), so a closed poll's chart is sent
        there."""
        self.db = db
        self.outbox = outbox
        self.topics = topics
        self.tally_seconds = tally_seconds
        self.max_open = max_open
        self.console = console

    async def create(self, draft: PollDraft) -> int:
        now = utcnow()
        check_draft(draft, self.topics, now)
        if draft.closes_at - now > self.max_open:
            raise PollError(f"A poll can stay open at most {self.max_open.days} days.")
        poll_id = await self.db.run(create_poll, draft, now, self.tally_seconds)
        self.outbox.wake()
        return poll_id

    async def results(self, poll_id: int) -> PollResults:
        return await self.db.run(poll_results, poll_id)

    async def record_vote(self, event: PollAnswer, citizen_id: int) -> int | None:
        poll_id = await self.db.run(record_vote, event, citizen_id, utcnow(), self.tally_seconds)
        if poll_id is not None:
            self.outbox.wake()
        return poll_id

    async def close_due(self, now: datetime | None = None) -> list[int]:
        closed = await self.db.run(close_due, now or utcnow(), self.console)
        if closed:
            log.info("polls closed: %s", closed)
            self.outbox.wake()
        return closed

    async def close(self, poll_id: int) -> None:
        """Close now (a staff button), whatever the closing time."""

        def work(session: Session) -> None:
            poll = session.get(Poll, poll_id)
            if poll is None:
                raise PollError(f"There is no poll {poll_id}.")
            if poll.status == "open":
                _close(session, poll, utcnow(), self.console)

        await self.db.run(work)
        self.outbox.wake()


class PollForms:
    """A console's poll form, filled in by staff, becomes a poll (`/townhall poll` in Slack)."""

    def __init__(self, polls: PollService):
        self.polls = polls

    def topics(self) -> dict[str, str]:
        return dict(self.polls.topics.names)

    async def create(self, form: PollForm, staff_id: str) -> int:
        return await self.polls.create(PollDraft(
            form.question, form.options, form.audience,
            utcnow() + timedelta(hours=form.hours), staff_id, form.announce_result,
        ))


class PollVoteResponder:
    """Poll answers become votes; nothing is said back (the platform shows the vote)."""

    name = "poll_vote"

    def __init__(self, polls: PollService):
        self.polls = polls

    async def respond(self, turn: Turn) -> Reply | None:
        if isinstance(turn.event, PollAnswer):
            await self.polls.record_vote(turn.event, turn.citizen_id)
        return None
