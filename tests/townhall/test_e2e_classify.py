"""Classification in the running bot: the card shows it, staff correct it, abuse is never
answered from the FAQ. Through the real SDKs and fakes, on both databases."""

from sqlmodel import select

from listening.models import Message
from responders.models import Correction
from townhall.testing.harness import STAFF_ID, Harness, card_buttons, card_text

CITIZEN = 5550003


async def test_card_shows_classification_and_staff_corrections_are_stored(
    harness: Harness,
) -> None:
    harness.telegram.user_sends(
        "The bus shelter on 5th Ave has had broken glass everywhere since Monday",
        user_id=CITIZEN,
    )
    card = await harness.wait_for_card()
    text = card_text(card)
    assert "*Category*" in text and "*Sentiment*" in text
    case_id = card_buttons(card)["case_claim"]

    await harness.slack.click(
        STAFF_ID, message_ts=card["ts"], action_id="case_recategorize", value=f"{case_id}:noise"
    )
    card = await harness.wait_for_card(lambda c: "*Category*\nNoise" in card_text(c))
    await harness.slack.click(
        STAFF_ID, message_ts=card["ts"], action_id="case_sentiment", value=f"{case_id}:positive"
    )
    await harness.wait_for_card(lambda c: "*Sentiment*\npositive" in card_text(c))

    corrections = await harness.bot.db.run(lambda s: s.exec(select(Correction)).all())
    assert sorted((c.kind, c.value, c.staff_id) for c in corrections) == [
        ("category", "noise", STAFF_ID),
        ("sentiment", "positive", STAFF_ID),
    ]
    message = await harness.bot.db.run(lambda s: s.get(Message, corrections[0].message_id))
    assert "bus shelter" in message.text
    stored = message.classification
    assert stored["labels"]["category"] and stored["labels"]["sentiment"]
    assert stored["models"]["sentiment"] == "tweet-v1"


async def test_abusive_message_is_escalated_flagged_not_answered(harness: Harness) -> None:
    harness.telegram.user_sends(
        "When is my garbage picked up, you useless f***ing idiots?", user_id=CITIZEN
    )
    [reply] = await harness.wait_for_reply(CITIZEN)
    assert "TH-" in reply["text"]  # a case, not the FAQ's collection-day answer
    card = await harness.wait_for_card()
    assert "abusive" in card_text(card)
