"""A case's life as citizens see it, end to end through the Telegram and Slack fakes: every
reporter hears every status change in their language, duplicates join and split, merged cases
resolve together, ratings and comments come back, a reply reopens, photos reach the card."""

import re
from typing import Any

from sqlmodel import select

from responders.models import Case, CaseAttachment, CaseRating
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    Harness,
    card_buttons,
    card_text,
    keyboard,
)

ANA, BEA, CAL = 5560001, 5560002, 5560003
ELM = (41.49010, -71.31280)
NEAR_ELM = (41.49015, -71.31290)  # about 10 m away


def reference_in(text: str) -> str:
    found = re.search(r"TH-\d{5}", text)
    assert found, text
    return found.group(0)


def select_options(card: dict[str, Any], action_id: str) -> dict[str, str]:
    """label -> value of a select menu on a card."""
    for block in card.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return {o["text"]["text"]: o["value"] for o in element["options"]}
    return {}


async def test_a_duplicate_joins_then_is_split_and_every_reporter_is_told(
    harness: Harness,
) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends_location(*ELM, user_id=ANA)
    [ask] = await harness.wait_for_reply(ANA)
    assert "what is the problem" in ask["text"].lower()
    tg.user_sends(
        "The bench at the Elm Road bus stop is broken and has sharp metal sticking out",
        user_id=ANA,
    )
    replies = await harness.wait_for_reply(ANA, count=2)
    reference = reference_in(replies[-1]["text"])
    card = await harness.wait_for_card(lambda c: reference in card_text(c))
    assert "openstreetmap.org" in card_text(card)  # the pin shared before the words

    # Bea reads Spanish: she chose it, and hears everything in it
    tg.user_sends("/language es", user_id=BEA)
    await harness.wait_for_reply(BEA)
    tg.user_sends_location(*NEAR_ELM, user_id=BEA)
    await harness.wait_for_reply(BEA, count=2)
    tg.user_sends(
        "Broken bench at the Elm Road bus stop, sharp metal is sticking out of it", user_id=BEA
    )
    joined = (await harness.wait_for_reply(BEA, count=3))[-1]
    assert reference in joined["text"] and "Otras personas" in joined["text"]
    card = await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and "2 reporters" in card_text(c)
    )
    assert len(harness.cards()) == 1

    case_id = card_buttons(card)["case_claim"]
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_claim", value=case_id)
    ana = await harness.wait_for_reply(ANA, count=3)
    bea = await harness.wait_for_reply(BEA, count=4)
    assert "working on your case" in ana[-1]["text"]
    assert "trabajando en su caso" in bea[-1]["text"]

    # staff see it is not the same light after all: Bea's message gets its own case
    card = await harness.wait_for_card(lambda c: c["ts"] == card["ts"] and "Claimed" in
                                       card_text(c))
    [(label, value)] = select_options(card, "case_split").items()
    assert "Elm Road" in label
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_split", value=value)
    split = (await harness.wait_for_reply(BEA, count=5))[-1]
    new_reference = reference_in(split["text"].replace(reference, ""))
    assert new_reference != reference and "por separado" in split["text"]
    await harness.wait_for_card(lambda c: new_reference in card_text(c))
    await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and "reporters" not in card_text(c)
        and "split" in card_text(c)
    )

    # from now on only Ana hears about the first case
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_resolve", value=case_id)
    assert "resolved" in (await harness.wait_for_reply(ANA, count=4))[-1]["text"]
    await harness.outbox_settled()
    assert len([m for m in tg.sent if m.get("chat_id") == BEA]) == 5


async def test_merged_cases_resolve_together_then_ratings_comments_and_a_reopening(
    harness: Harness,
) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends("The swings at Riverside Park playground are broken", user_id=ANA)
    first = reference_in((await harness.wait_for_reply(ANA))[-1]["text"])
    tg.user_sends("The bike rack outside the library was knocked over and bent", user_id=CAL)
    second = reference_in((await harness.wait_for_reply(CAL))[-1]["text"])
    card_one = await harness.wait_for_card(lambda c: first in card_text(c))
    card_two = await harness.wait_for_card(lambda c: second in card_text(c))

    merge_into = select_options(card_two, "case_merge")
    value = next(v for label, v in merge_into.items() if label.startswith(first))
    await slack.click(STAFF_ID, message_ts=card_two["ts"], action_id="case_merge", value=value)
    told = (await harness.wait_for_reply(CAL, count=2))[-1]
    assert second in told["text"] and first in told["text"]
    await harness.wait_for_card(lambda c: c["ts"] == card_two["ts"] and "Merged" in card_text(c))
    card_one = await harness.wait_for_card(
        lambda c: c["ts"] == card_one["ts"] and "2 reporters" in card_text(c)
    )

    # one reply that resolves: both reporters get it with the note and the rating buttons
    case_id = card_buttons(card_one)["case_reply"]
    await slack.click(STAFF_ID, message_ts=card_one["ts"], action_id="case_reply", value=case_id)
    await slack.wait_for(lambda: slack.views)
    await slack.submit_view(STAFF_ID, values={
        "reply": {"text": "Parks fixed the swings this morning."},
        "then": {"then": "resolve"},
    })
    resolution = (await harness.wait_for_reply(ANA, count=2))[-1]
    cal_resolution = (await harness.wait_for_reply(CAL, count=3))[-1]
    for sent in (resolution, cal_resolution):
        assert "resolved" in sent["text"] and "fixed the swings" in sent["text"]
        assert list(keyboard(sent)) == ["1", "2", "3", "4", "5"]
        assert len(sent["reply_markup"]["inline_keyboard"]) == 1  # one row

    tg.user_presses(keyboard(resolution)["4"], message=resolution, user_id=ANA)
    assert "Thank you for your rating" in (await harness.wait_for_reply(ANA, count=3))[-1]["text"]
    tg.user_sends("Quick work, thank you!", user_id=ANA)
    assert "comment" in (await harness.wait_for_reply(ANA, count=4))[-1]["text"]
    await harness.wait_for_card(
        lambda c: c["ts"] == card_one["ts"] and "4/5: Quick work" in card_text(c)
    )

    # Cal replies to the resolution: the case opens again and both reporters hear it
    tg.user_sends("The swings are still broken", user_id=CAL,
                  reply_to_message_id=cal_resolution["message_id"])
    assert "open again" in (await harness.wait_for_reply(CAL, count=4))[-1]["text"]
    assert "open again" in (await harness.wait_for_reply(ANA, count=5))[-1]["text"]
    card_one = await harness.wait_for_card(
        lambda c: c["ts"] == card_one["ts"] and "Reopened" in card_text(c)
    )
    # the same staff member takes it up again: claimed, and both hear it
    await slack.click(STAFF_ID, message_ts=card_one["ts"], action_id="case_claim",
                      value=card_buttons(card_one)["case_claim"])
    assert "working on your case" in (await harness.wait_for_reply(ANA, count=6))[-1]["text"]
    await harness.wait_for_card(lambda c: c["ts"] == card_one["ts"] and "Claimed" in
                                card_text(c))

    def stored(session) -> tuple[list[CaseRating], list[Case]]:
        return (list(session.exec(select(CaseRating)).all()),
                list(session.exec(select(Case).order_by(Case.id)).all()))

    ratings, cases = await harness.bot.db.run(stored)
    assert [(r.score, r.comment) for r in ratings] == [(4, "Quick work, thank you!")]
    assert [c.status for c in cases] == ["claimed", "resolved"]
    assert cases[1].merged_into_id == cases[0].id


async def test_reopen_command_and_its_window(harness: Harness) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends("The mural on the community centre wall is peeling off", user_id=ANA)
    reference = reference_in((await harness.wait_for_reply(ANA))[-1]["text"])
    card = await harness.wait_for_card(lambda c: reference in card_text(c))
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_resolve",
                      value=card_buttons(card)["case_resolve"])
    await harness.wait_for_reply(ANA, count=2)

    tg.user_sends(f"/reopen {reference}", user_id=CAL)  # not Cal's case
    assert "can't find" in (await harness.wait_for_reply(CAL))[-1]["text"]

    def age(session, days: int) -> None:
        case = session.exec(select(Case)).one()
        case.resolved_at = case.resolved_at.replace(year=case.resolved_at.year - 1)
        session.add(case)

    await harness.bot.db.run(age, 1)
    tg.user_sends(f"/reopen {reference}", user_id=ANA)
    assert "can no longer be reopened" in (await harness.wait_for_reply(ANA, count=3))[-1]["text"]


async def test_waiting_for_the_citizen_with_a_saved_reply(harness: Harness) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends("The handrail on the stairs by the town pier is loose and wobbly", user_id=ANA)
    reference = reference_in((await harness.wait_for_reply(ANA))[-1]["text"])
    card = await harness.wait_for_card(lambda c: reference in card_text(c))
    saved = select_options(card, "case_canned")
    await slack.click(STAFF_ID, message_ts=card["ts"], action_id="case_canned",
                      value=saved["Ask for the exact location"])
    view = await slack.wait_for(lambda: slack.views and slack.views[-1])
    prefilled = view["blocks"][0]["element"]["initial_value"]
    assert "exact location" in prefilled
    await slack.submit_view(STAFF_ID, values={
        "reply": {"text": prefilled + " Thank you!"}, "then": {"then": "waiting"},
    })
    asked = (await harness.wait_for_reply(ANA, count=2))[-1]
    assert "we need something from you" in asked["text"] and "Thank you!" in asked["text"]
    await harness.wait_for_card(
        lambda c: c["ts"] == card["ts"] and "Waiting for the citizen" in card_text(c)
    )
    tg.user_sends("In front of the bakery at 7 Mill Street", user_id=ANA)
    await harness.wait_for_reply(ANA, count=3)
    await harness.wait_for_card(lambda c: c["ts"] == card["ts"] and "Claimed" in card_text(c))


async def test_photos_reach_the_card_thread_by_reference(harness: Harness) -> None:
    tg, slack = harness.telegram, harness.slack
    photo = b"\xff\xd8\xff\xe0" + b"fence" * 500
    tg.user_sends_photo(
        content=photo, caption="This fallen fence is blocking the footpath on Bay Street",
        user_id=ANA,
    )
    reference = reference_in((await harness.wait_for_reply(ANA))[-1]["text"])
    card = await harness.wait_for_card(lambda c: reference in card_text(c))
    shared = await slack.wait_for(lambda: next(
        (m for m in slack.thread(TRIAGE_CHANNEL, card["ts"])[1:] if m.get("files")), None))
    assert slack.ws.uploads[shared["files"][0]["id"]].content == photo
    await harness.wait_for_card(lambda c: c["ts"] == card["ts"] and "1 photo" in card_text(c))

    # a second photo, no words: it joins the open case
    tg.user_sends_photo(content=photo + b"2", user_id=ANA)
    assert "added this to your case" in (await harness.wait_for_reply(ANA, count=2))[-1]["text"]
    await slack.wait_for(lambda: len(
        [m for m in slack.thread(TRIAGE_CHANNEL, card["ts"]) if m.get("files")]) == 2)

    def refs(session) -> list[tuple[str, int]]:
        rows = session.exec(select(CaseAttachment)).all()
        return [(a.kind, a.size) for a in rows if a.case_id is not None]

    assert [kind for kind, _ in await harness.bot.db.run(refs)] == ["photo", "photo"]


async def test_a_citizens_words_in_a_card_thread_cannot_ping_staff(harness: Harness) -> None:
    tg, slack = harness.telegram, harness.slack
    tg.user_sends("The mural on the community centre wall is peeling off", user_id=ANA)
    card = await harness.wait_for_card()
    tg.user_sends("<!channel> <@U0STAFF001> *urgent* & <https://evil.example|click>",
                  user_id=ANA)
    note = await slack.wait_for(lambda: next(
        (m for m in slack.thread(TRIAGE_CHANNEL, card["ts"])[1:] if "urgent" in m["text"]),
        None))
    assert note["text"].startswith("*Citizen:* &lt;!channel&gt; &lt;@U0STAFF001&gt;")
    assert "&amp;" in note["text"] and "<https://" not in note["text"]
