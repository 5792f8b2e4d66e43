"""Staff turn a case into an FAQ entry from its Slack card, end to end through the fakes.

Citizen -> fake Telegram -> case card -> staff Reply -> "Add to FAQ" (a modal prefilled from the
case) -> view_submission into bolt -> Triage -> KnowledgeBase (database + listeners) -> a note in
the card's thread.
"""

from typing import Any

from sqlmodel import select

from responders.faq import FaqEntry, load_knowledge_base
from responders.faq_store import FaqRecord
from townhall.testing.harness import (
    OUTSIDER_ID,
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
)

CITIZEN = 5550101
QUESTION = "The bus shelter on 5th Ave has had broken glass everywhere since Monday"
REPLY = "Thanks for telling us: a crew cleans up broken glass at bus shelters within a day."


def _inputs(view: dict[str, Any]) -> dict[str, str]:
    """block_id -> the initial value of its text input, as the modal shows it."""
    return {
        block["block_id"]: block["element"].get("initial_value", "")
        for block in view["blocks"]
        if block["type"] == "input"
    }


async def _escalated_card(harness: Harness) -> tuple[dict[str, Any], str]:
    harness.telegram.user_sends(QUESTION, user_id=CITIZEN, first_name="Carla")
    await harness.wait_for_reply(CITIZEN)
    card = await harness.wait_for_card(lambda c: "broken glass" in card_text(c))
    buttons = card_buttons(card)
    assert buttons["case_faq_add"] == buttons["case_reply"]  # the value is the case id only
    return card, buttons["case_faq_add"]


async def _open_faq_modal(harness: Harness, card: dict[str, Any], case_id: str) -> dict:
    slack = harness.slack
    opened = len(slack.views)
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_faq_add", value=case_id)
    await slack.wait_for(lambda: len(slack.views) > opened)
    view = slack.views[-1]
    assert view["callback_id"] == "case_faq_modal" and view["private_metadata"] == case_id
    assert view["title"]["text"] == "Add to FAQ"
    return view


async def test_staff_reply_becomes_an_faq_entry(harness: Harness) -> None:
    slack, knowledge = harness.slack, harness.bot.knowledge
    heard: list[list[FaqEntry]] = []
    knowledge.on_change(heard.append)
    card, case_id = await _escalated_card(harness)

    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_reply", value=case_id)
    await slack.wait_for(lambda: slack.views)
    await slack.submit_view(STAFF_ID, values={"reply": {"text": REPLY}})
    await harness.wait_for_reply(CITIZEN, count=2)
    card = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and "Answered" in card_text(c)
    )

    view = await _open_faq_modal(harness, card, case_id)
    assert _inputs(view) == {
        "question": QUESTION,
        "answer": REPLY,
        "id": "the-bus-shelter-on-5th-ave-has-had-broken-glass",
    }
    # staff keep the question and answer as prefilled and choose a shorter id
    submitted = await slack.submit_view(STAFF_ID, values={"id": {"id": "bus-shelter-glass"}})
    assert submitted.acked and submitted.errors is None
    assert not slack.views[-1]["is_open"]

    entry = knowledge.get("bus-shelter-glass")
    assert entry is not None
    assert (entry.questions, entry.answer) == ((QUESTION,), REPLY)
    assert entry in knowledge.entries()
    assert len(heard) == 1 and entry in heard[0]
    assert len(heard[0]) == len(knowledge.entries())
    record = await harness.bot.db.run(lambda s: s.get(FaqRecord, "bus-shelter-glass"))
    assert (record.source, record.created_by) == ("slack", STAFF_ID)

    note = f"Added to the FAQ as `bus-shelter-glass` by <@{STAFF_ID}>"
    await slack.wait_for(
        lambda: any(note in m["text"] for m in slack.thread(TRIAGE_CHANNEL, card["ts"]))
    )
    card = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and "faq added" in card_text(c)
    )
    assert "`bus-shelter-glass`" in card_text(card)

    # the next citizen who asks gets the new answer straight away, in a paraphrase too
    neighbour = CITIZEN + 1
    harness.telegram.user_sends(
        "there's broken glass all over the bus shelter on 5th Avenue", user_id=neighbour
    )
    [answer] = await harness.wait_for_reply(neighbour)
    assert answer["text"].startswith(REPLY)


async def test_invalid_entries_are_explained_in_the_modal(harness: Harness) -> None:
    slack, knowledge = harness.slack, harness.bot.knowledge
    card, case_id = await _escalated_card(harness)
    view = await _open_faq_modal(harness, card, case_id)
    assert _inputs(view)["answer"] == ""  # nobody has replied yet: staff write the answer

    refused = await slack.submit_view(
        STAFF_ID, values={"answer": {"answer": "We'll clean it today."}, "id": {"id": "Bus Stop!"}}
    )
    assert set(refused.errors or {}) == {"id"}
    assert "lowercase letters" in refused.errors["id"]
    assert slack.views[-1]["is_open"]

    taken = await slack.submit_view(STAFF_ID, values={"id": {"id": "trash-collection-day"}})
    assert "already an entry" in (taken.errors or {}).get("id", "")
    assert knowledge.get("trash-collection-day").answer != "We'll clean it today."
    assert await harness.bot.db.run(lambda s: s.exec(select(FaqRecord)).all()) == []

    fixed = await slack.submit_view(
        STAFF_ID, values={"answer": {"answer": "We'll clean it today."}, "id": {"id": "glass"}}
    )
    assert fixed.errors is None and not slack.views[-1]["is_open"]
    assert knowledge.get("glass") is not None


async def test_non_staff_cannot_add_to_the_faq(harness: Harness) -> None:
    slack = harness.slack
    card, case_id = await _escalated_card(harness)
    await slack.click(OUTSIDER_ID, message_ts=card["ts"], action_id="case_faq_add", value=case_id)
    refusal = await slack.wait_for(
        lambda: next((e for e in slack.ephemerals if e["user"] == OUTSIDER_ID), None)
    )
    assert "Only the city's communications staff" in refusal["text"]
    assert slack.views == []
    assert await harness.bot.db.run(lambda s: s.exec(select(FaqRecord)).all()) == []
    _, configured = load_knowledge_base(harness.settings.faq.path)
    assert harness.bot.knowledge.entries() == configured
