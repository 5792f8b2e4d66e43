"""`/forget` erases a citizen everywhere, proven by scanning every column of every table; and
`/mydata` sends them what is stored. End to end through the Telegram and Slack fakes."""

import asyncio
import json
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

import townhall.tables  # noqa: F401  (every table registered in the metadata)
from listening.models import Citizen, Message
from listening.trend_tables import Alert, Topic
from polls.consultation_models import Consultation, Statement, StatementDraft
from polls.models import Poll, PollVote, Subscription
from responders.models import Case, CaseRating
from townhall.domain import utcnow
from townhall.redact import redact
from townhall.testing.harness import STAFF_ID, Harness, card_buttons, card_text, keyboard

ZORA = 7319846250  # the citizen who asks to be forgotten (a rare number: easy to scan for)
OTHER = 6428173950
MARK = "Quxwelby"  # a word only Zora writes
PIN = (41.4901, -71.3128)


def _scan(session, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, value) of every stored value that contains a needle."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(sa_select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = value.decode("latin-1") if isinstance(value, bytes) else (
                    json.dumps(value, ensure_ascii=False, default=str)
                    if isinstance(value, dict | list) else str(value))
                found += [(table.name, column, text[:80]) for n in needles if n in text]
    return found


async def _zora_everywhere(harness: Harness) -> dict[str, Any]:
    """Zora uses every feature; returns what identifies her."""
    tg, slack = harness.telegram, harness.slack
    who = {"user_id": ZORA, "first_name": "Zora", "last_name": "Quinnell"}
    tg.user_sends("/subscribe parks", **who)
    await harness.wait_for_reply(ZORA)
    tg.user_sends("When is my garbage picked up?", **who)
    [answer] = (await harness.wait_for_reply(ZORA, count=2))[-1:]
    tg.user_presses(next(v for k, v in keyboard(answer).items() if k == "Yes"), message=answer,
                    **who)
    await harness.wait_for_reply(ZORA, count=3)
    tg.user_sends_location(*PIN, **who)
    await harness.wait_for_reply(ZORA, count=4)
    tg.user_sends_photo(content=b"\xff\xd8 zora's photo", caption=f"Broken bench {MARK} here",
                        **who)
    await harness.wait_for_reply(ZORA, count=5)
    card = await harness.wait_for_card(lambda c: MARK in card_text(c))
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_resolve",
                      value=card_buttons(card)["case_resolve"])
    resolution = (await harness.wait_for_reply(ZORA, count=6))[-1]
    tg.user_presses(keyboard(resolution)["5"], message=resolution, **who)
    await harness.wait_for_reply(ZORA, count=7)
    tg.user_sends(f"Great job {MARK}, call me on 555 0199", **who)
    await harness.wait_for_reply(ZORA, count=8)
    # someone else's case, which Zora then joins with a near-identical report
    tg.user_sends_location(*PIN, user_id=OTHER)
    await harness.wait_for_reply(OTHER)
    tg.user_sends("The swings at Riverside Park playground are broken", user_id=OTHER)
    await harness.wait_for_reply(OTHER, count=2)
    tg.user_sends_location(*PIN, **who)
    await harness.wait_for_reply(ZORA, count=9)
    tg.user_sends(f"The swings at Riverside Park playground are broken {MARK}", **who)
    joined = (await harness.wait_for_reply(ZORA, count=10))[-1]
    assert "Others have reported this" in joined["text"]
    await harness.bot.trends.run()  # embeddings placed in topics (topic_members)

    def features(session) -> str:
        zora = session.exec(select(Citizen).where(Citizen.display_name == "Zora Quinnell")).one()
        texts = [m.text for m in session.exec(select(Message).where(
            Message.citizen_id == zora.id)).all()]
        poll = Poll(question="Dog run?", options=["Yes", "No"], audience="topic:parks",
                    status="open", created_by=STAFF_ID, closes_at=utcnow())
        consultation = Consultation(question="Parks?", audience="topic:parks", status="open",
                                    created_by=STAFF_ID, closes_at=utcnow())
        session.add_all([poll, consultation])
        session.flush()
        statement = Statement(consultation_id=consultation.id, citizen_id=zora.id,
                              text=f"More benches {MARK}", fingerprint=f"more benches {MARK}")
        session.add_all([
            PollVote(poll_id=poll.id, citizen_id=zora.id, channel="telegram", option_ids=[0]),
            statement,
            StatementDraft(citizen_id=zora.id, consultation_id=consultation.id),
        ])
        topic = Topic(id=999_999, centroid=b"\0" * 8, size=1, status="active", created_at=utcnow(),
                      last_message_at=utcnow())
        session.add(topic)
        session.flush()
        session.add(Alert(topic_id=topic.id, label="benches", examples=[redact(texts[-1])],
                          first_alert_at=utcnow(), updated_at=utcnow()))
        return zora.pseudonym

    pseudonym = await harness.bot.db.run(features)
    return {"pseudonym": pseudonym}


async def test_forget_leaves_nothing_that_says_who_or_what(harness: Harness) -> None:
    zora = await _zora_everywhere(harness)
    photo_ids = [file_id for file_id in harness.telegram.files if file_id.startswith("AgAC")]
    assert photo_ids  # only Zora sends photos here
    needles = [str(ZORA), "Zora", "Quinnell", MARK, "555 0199", zora["pseudonym"], *photo_ids]
    assert await harness.bot.db.run(_scan, needles)  # the scan does find her before

    harness.telegram.user_sends("/forget", user_id=ZORA)
    ask = (await harness.wait_for_reply(ZORA, count=11))[-1]
    harness.telegram.user_presses(keyboard(ask)["Yes, erase me"], message=ask, user_id=ZORA)
    bye = (await harness.wait_for_reply(ZORA, count=12))[-1]
    assert "erased" in bye["text"]

    for _ in range(100):  # the erasure runs once the goodbye has been sent
        if not await harness.bot.db.run(_scan, needles):
            break
        await asyncio.sleep(0.1)
    left = await harness.bot.db.run(_scan, needles)
    assert left == [], "\n".join(map(str, left))

    def remains(session) -> tuple[int, int, list[int], str]:
        messages = session.exec(select(Message)).all()
        other = [m.text for m in messages if "swings" in m.text]
        ratings = [r.score for r in session.exec(select(CaseRating)).all()]
        votes = len(session.exec(select(PollVote)).all())
        assert session.exec(select(Subscription)).all() == []  # no needle: checked by kind
        assert session.exec(select(StatementDraft)).all() == []
        cases = session.exec(select(Case)).all()
        return len(messages), votes, ratings, " ".join(other) + str([c.summary for c in cases])

    count, votes, ratings, texts = await harness.bot.db.run(remains)
    assert count > 10 and votes == 1 and ratings == [5]  # anonymous counts stay
    assert "swings at Riverside Park playground are broken" in texts  # the other citizen's
    # Zora's case card now shows the erased text
    await harness.wait_for_card(lambda c: "erased at the resident's request" in card_text(c))

    # writing again starts afresh, as a new citizen
    harness.telegram.user_sends("hello", user_id=ZORA)
    await harness.wait_for_reply(ZORA, count=13)


async def test_mydata_sends_a_json_file(harness: Harness) -> None:
    await _zora_everywhere(harness)
    harness.telegram.user_sends("/mydata", user_id=ZORA, first_name="Zora", last_name="Quinnell")
    document = await harness.telegram.wait_for_sent(
        lambda sent: sent.get("method") == "sendDocument", chat_id=ZORA)
    data = json.loads(document[-1]["document_content"])
    assert data["you"]["name"] == "Zora Quinnell"
    assert any(MARK in m["text"] for m in data["messages"])
    assert [c["status"] for c in data["cases"]] and data["ratings"][0]["score"] == 5
    assert data["subscriptions"] and data["poll_votes"] and data["statements"]
    assert data["attachments"][0]["kind"] == "location"
