"""An opinion consultation end to end through python-telegram-bot, bolt and the fakes: staff open
it from Slack, residents vote statement by statement with buttons and add their own, the new
statement waits in the Slack moderation queue until approved, and the report is posted."""

import re

from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
    keyboard,
)

ANA, BEN = 7701, 7702
QUESTION = "Should Elm Street become car-free on Sundays?"


async def _staff(harness: Harness, text: str) -> str:
    await harness.slack.slash_command(STAFF_ID, "/townhall", text)
    return harness.slack.ephemerals[-1]["text"]


async def test_a_consultation_with_moderation_and_a_report(harness: Harness) -> None:
    tg = harness.telegram
    for user in (ANA, BEN):
        tg.user_sends("/subscribe parks", user_id=user)
        await harness.wait_for_reply(user)
    answer = await _staff(harness, f'consult new "{QUESTION}" topic:parks '
                                   '"Car-free Sundays would help local shops" '
                                   '"Traffic would just move to the next streets"')
    number = re.search(r"\d+", answer)
    assert number is not None, answer
    consultation = number.group()

    tg.user_sends(f"/consult {consultation}", user_id=ANA)
    replies = await harness.wait_for_reply(ANA, count=2)
    first = replies[-1]
    assert QUESTION in first["text"] or "Car-free" in first["text"] or "Traffic" in first["text"]
    buttons = keyboard(first)
    assert {"Agree", "Disagree", "Pass / Unsure", "Add my own statement"} <= set(buttons)

    tg.user_presses(buttons["Agree"], message=first, user_id=ANA)
    second = (await harness.wait_for_reply(ANA, count=3))[-1]
    tg.user_presses(keyboard(second)["Disagree"], message=second, user_id=ANA)
    done = (await harness.wait_for_reply(ANA, count=4))[-1]
    assert "every statement" in done["text"]

    # Ana adds her own; it waits for a moderator
    tg.user_presses(keyboard(done)["Add my own statement"], message=done, user_id=ANA)
    await harness.wait_for_reply(ANA, count=5)
    tg.user_sends("Sundays should stay open for deliveries before 10am", user_id=ANA)
    submitted = (await harness.wait_for_reply(ANA, count=6))[-1]
    assert "moderator" in submitted["text"]
    card = await harness.wait_for_card(lambda c: "deliveries before 10am" in card_text(c))
    assert set(card_buttons(card)) == {"statement_approve", "statement_reject"}

    # Ben does not see it until it is approved
    tg.user_sends(f"/consult {consultation}", user_id=BEN)
    ben_first = (await harness.wait_for_reply(BEN, count=2))[-1]
    assert "deliveries" not in ben_first["text"]
    await harness.slack.click(STAFF_ID, message_ts=card["ts"], action_id="statement_approve",
                              value=card_buttons(card)["statement_approve"])
    approved = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and not card_buttons(c)
    )
    assert f"<@{STAFF_ID}>" in card_text(approved) or STAFF_ID in card_text(approved)
    seen, message = [], ben_first
    for count in range(3, 7):
        seen.append(message["text"])
        if "every statement" in message["text"]:
            break
        tg.user_presses(keyboard(message)["Agree"], message=message, user_id=BEN)
        message = (await harness.wait_for_reply(BEN, count=count))[-1]
    assert any("deliveries before 10am" in text for text in seen)

    await _staff(harness, f"consult report {consultation}")
    report = await harness.slack.wait_for(lambda: next(
        (m for m in harness.slack.messages(TRIAGE_CHANNEL)
         if m.get("blocks") and QUESTION[:30] in str(m.get("blocks"))
         and "deliveries" not in m.get("text", "")), None), timeout=10)
    page = await harness.slack.wait_for(lambda: next(
        (m for m in harness.slack.thread(TRIAGE_CHANNEL, report["ts"])[1:] if m.get("files")),
        None), timeout=10)
    assert page["files"][0]["name"].endswith(".html")
