"""`[privacy] redact_cards`: staff cards show no resident's e-mail, phone or street address."""

from townhall.testing.harness import TRIAGE_CHANNEL, card_text, running_townhall


async def test_cards_and_threads_are_redacted_when_asked(models, database_url, tmp_path) -> None:
    async with running_townhall(models, database_url=database_url, data_dir=tmp_path,
                                privacy={"redact_cards": True}) as harness:
        tg, slack = harness.telegram, harness.slack
        tg.user_sends("The mural at 12 Elm St is peeling, mail me at jo@example.org",
                      user_id=5610001)
        card = await harness.wait_for_card()
        assert "[address]" in card_text(card) and "[email]" in card_text(card)
        assert "Elm St" not in card_text(card) and "jo@example.org" not in card_text(card)
        tg.user_sends("or call 555 010 9999", user_id=5610001)
        note = await slack.wait_for(lambda: next(
            (m for m in slack.thread(TRIAGE_CHANNEL, card["ts"])[1:] if "call" in m["text"]),
            None))
        assert "[phone]" in note["text"] and "9999" not in note["text"]
