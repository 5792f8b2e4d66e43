"""The FAQ as citizens meet it, end to end through python-telegram-bot and the fake Bot API:
answers with "Did this help?", "which did you mean?" buttons, escalation on "No", and answers
in Spanish and French matched by the multilingual encoder."""

from sqlmodel import select

from listening.models import Message
from responders.faq_store import FaqFeedback, feedback_counts
from responders.models import Case
from townhall.testing.harness import Harness, card_text, keyboard

CITIZEN = 5550301


async def test_answer_asks_did_it_help_and_yes_is_counted_once(harness: Harness) -> None:
    tg = harness.telegram
    tg.user_sends("when is my garbage picked up?", user_id=CITIZEN)
    [answer] = await harness.wait_for_reply(CITIZEN)
    assert "collect" in answer["text"].lower() and answer["text"].endswith("Did this help?")
    buttons = keyboard(answer)
    assert set(buttons) == {"Yes", "No"}
    assert all(len(data.encode()) <= 64 for data in buttons.values())  # Telegram's limit

    tg.user_presses(buttons["Yes"], message=answer, user_id=CITIZEN)
    [_, thanks] = await harness.wait_for_reply(CITIZEN, count=2)
    assert thanks["text"] == "Thanks for letting us know!"
    tg.user_presses(buttons["Yes"], message=answer, user_id=CITIZEN)  # a second tap
    await harness.wait_for_reply(CITIZEN, count=3)
    counts = await harness.bot.db.run(feedback_counts)
    assert counts == {"trash-collection-day": (1, 0)}


async def test_no_escalates_with_the_answer_that_was_given(harness: Harness) -> None:
    tg = harness.telegram
    tg.user_sends("when is my garbage picked up?", user_id=CITIZEN, first_name="Dana")
    [answer] = await harness.wait_for_reply(CITIZEN)
    tg.user_presses(keyboard(answer)["No"], message=answer, user_id=CITIZEN)
    [_, ack] = await harness.wait_for_reply(CITIZEN, count=2)
    assert "TH-" in ack["text"]
    card = await harness.wait_for_card(lambda c: "garbage picked up" in card_text(c))
    assert "trash-collection-day" in card_text(card) and "did not help" in card_text(card)
    assert await harness.bot.db.run(feedback_counts) == {"trash-collection-day": (0, 1)}


async def test_a_forged_button_cannot_touch_someone_elses_message(harness: Harness) -> None:
    tg = harness.telegram
    tg.user_sends("when is my garbage picked up?", user_id=CITIZEN)
    [answer] = await harness.wait_for_reply(CITIZEN)
    stranger = CITIZEN + 7
    tg.user_sends("/start", user_id=stranger)
    [welcome] = await harness.wait_for_reply(stranger)
    # the stranger replays the citizen's "No" under their own message
    tg.user_presses(keyboard(answer)["No"], message=welcome, user_id=stranger, strict=False)
    await harness.outbox_settled()
    assert await harness.bot.db.run(lambda s: s.exec(select(Case)).all()) == []
    assert await harness.bot.db.run(lambda s: s.exec(select(FaqFeedback)).all()) == []


async def test_ambiguous_question_offers_the_entries_and_the_choice_answers(
    harness: Harness,
) -> None:
    tg = harness.telegram
    tg.user_sends("parking", user_id=CITIZEN)
    [question] = await harness.wait_for_reply(CITIZEN)
    assert "which of these" in question["text"]
    buttons = keyboard(question)
    assert set(buttons) >= {
        "How do I get a residential parking permit?", "How do I pay a parking ticket?",
        "None of these: ask a person",
    }
    tg.user_presses(buttons["How do I pay a parking ticket?"], message=question, user_id=CITIZEN)
    [_, answer] = await harness.wait_for_reply(CITIZEN, count=2)
    assert "ticket" in answer["text"].lower() and set(keyboard(answer)) == {"Yes", "No"}


async def test_none_of_these_goes_to_staff(harness: Harness) -> None:
    tg = harness.telegram
    tg.user_sends("parking", user_id=CITIZEN)
    [question] = await harness.wait_for_reply(CITIZEN)
    tg.user_presses(keyboard(question)["None of these: ask a person"], message=question,
                    user_id=CITIZEN)
    [_, ack] = await harness.wait_for_reply(CITIZEN, count=2)
    assert "TH-" in ack["text"]
    [case] = await harness.bot.db.run(lambda s: s.exec(select(Case)).all())
    assert case.summary == "parking"


async def test_spanish_and_french_questions_are_answered_in_their_language(
    harness: Harness,
) -> None:
    tg = harness.telegram
    tg.user_sends("¿Dónde pago la multa de aparcamiento?", user_id=CITIZEN, language_code="es")
    [spanish] = await harness.wait_for_reply(CITIZEN)
    assert "multa" in spanish["text"].lower() and spanish["text"].endswith("¿Le ha servido?")
    assert set(keyboard(spanish)) == {"Sí", "No"}
    francophone = CITIZEN + 1
    tg.user_sends("Comment payer ma facture d'eau ?", user_id=francophone, language_code="fr")
    [french] = await harness.wait_for_reply(francophone)
    assert "facture" in french["text"].lower()
    messages = await harness.bot.db.run(lambda s: s.exec(select(Message)).all())
    assert {m.responder for m in messages} == {"faq"}


async def test_an_entry_added_by_another_replica_is_answered_after_a_reload(
    harness: Harness,
) -> None:
    from responders.faq import FaqEntry
    from responders.faq_store import upsert_entry

    entry = FaqEntry(
        "fireworks-rules", ("Are fireworks allowed in the city?", "can I set off fireworks"),
        "Consumer fireworks are allowed on July 4 and New Year's Eve, 6 p.m. to midnight.",
    )
    await harness.bot.db.run(lambda s: upsert_entry(s, entry, source="slack", staff_id="U0OTHER"))
    await harness.bot.knowledge.reload()  # what the 5-minute job does
    harness.telegram.user_sends("am I allowed to set off fireworks?", user_id=CITIZEN)
    [answer] = await harness.wait_for_reply(CITIZEN)
    assert answer["text"].startswith("Consumer fireworks are allowed")
