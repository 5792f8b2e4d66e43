"""Cards rendered as Block Kit: within Slack's limits, and citizens cannot ping staff."""

from bots.slack.blocks import card_blocks, escape, faq_modal, reply_modal
from townhall.domain import Button, Card, CardField, FaqDraft
from townhall.testing.fake_slack_validate import view_errors


def test_citizen_text_cannot_mention_anyone() -> None:
    card = Card(title="TH-00001", text="<!channel> hey <@U0STAFF001> & co")
    text = card_blocks(card)[1]["text"]["text"]
    assert "<!channel>" not in text and "<@U0STAFF001>" not in text
    assert escape("<b>&") == "&lt;b&gt;&amp;"


def test_limits_and_buttons() -> None:
    card = Card(
        title="T" * 400,
        text="x" * 10000,
        fields=tuple(CardField(f"f{i}", "v") for i in range(12)),
        buttons=(Button("Claim", "case_claim", "7"), Button("Resolve", "case_resolve", "7")),
    )
    blocks = card_blocks(card)
    assert len(blocks[0]["text"]["text"]) <= 150
    assert len(blocks[1]["text"]["text"]) <= 3000
    assert len(blocks[2]["fields"]) == 10
    actions = blocks[-1]["elements"]
    assert [(a["action_id"], a["value"]) for a in actions] == [
        ("case_claim", "7"),
        ("case_resolve", "7"),
    ]


def test_reply_modal_carries_only_the_case_id() -> None:
    modal = reply_modal(42)
    assert modal["private_metadata"] == "42"
    assert modal["blocks"][0]["element"]["type"] == "plain_text_input"


def test_faq_modal_is_prefilled_within_slacks_limits() -> None:
    modal = faq_modal(42, FaqDraft("q" * 5000, "a" * 2500, "an-id"))
    assert modal["private_metadata"] == "42" and view_errors(modal) == []
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert [len(inputs[k]["initial_value"]) for k in ("question", "answer")] == [3000, 2000]
    assert inputs["id"]["initial_value"] == "an-id"
    empty = {b["block_id"]: b["element"] for b in faq_modal(42, FaqDraft(""))["blocks"]}
    assert not any("initial_value" in element for element in empty.values())
