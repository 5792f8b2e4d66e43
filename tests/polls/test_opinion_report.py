"""The opinion report: a self-contained HTML page (chart embedded, with alt text, no script) and
Slack blocks within Block Kit's limits, with residents' words escaped in both."""

import base64
from html.parser import HTMLParser

import numpy as np

from bots.slack.blocks import HEADER_LIMIT
from polls.opinion_report import opinion_blocks, opinion_chart, render_opinion_html
from polls.opinions import OpinionResult, VoteMatrix, compute_opinions
from townhall.testing.fake_slack_validate import block_errors

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NASTY = "<script>alert(1)</script> <!channel> & <@U0STAFF001>"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _result(groups: int = 2, seed: int = 4) -> tuple[OpinionResult, dict[int, str]]:
    rng = np.random.default_rng(seed)
    stances = rng.choice([-1.0, 1.0], size=(groups, 20))
    stances[1] = -stances[0]
    stances[:, 0] = 1.0
    truth = np.repeat(np.arange(groups), 25)
    values = stances[truth]
    values[rng.random(values.shape) > 0.7] = np.nan
    few = np.full((6, 20), np.nan)
    few[:, :2] = 1.0
    votes = VoteMatrix(tuple(range(len(truth) + 6)), tuple(range(20)), np.vstack([values, few]))
    texts = {i: f"Statement number {i} about the park" for i in range(20)}
    texts[0] = NASTY
    texts[1] = "A very long statement " * 40
    return compute_opinions(votes), texts


def test_html_is_self_contained_with_alt_text() -> None:
    result, texts = _result()
    page = render_opinion_html(result, texts, title="Opinion groups: parks",
                               question="What should the new park have?")
    parser = _Page()
    parser.feed(page)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "<script>" not in page
    assert not any(tag in tags for tag in ("link", "iframe", "object", "style"))
    images = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert len(images) == 1
    src, alt = images[0]["src"] or "", images[0]["alt"] or ""
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_SIGNATURE)
    assert "Group A" in alt and "Group B" in alt and "fewer than" in alt
    for tag, attrs in parser.tags:  # nothing is fetched from elsewhere
        for name in ("src", "href"):
            assert not (attrs.get(name) or "data:").startswith(("http", "//")), (tag, attrs)
    text = " ".join(parser.text)
    assert NASTY in text  # shown as written, escaped in the markup
    assert "What should the new park have?" in text
    assert "Group A" in text and "Group B" in text and "Common ground" in text
    assert "6 participants voted too little" in text


def test_chart_alt_text_without_groups() -> None:
    votes = VoteMatrix(("a", "b"), (1,), np.array([[1.0], [-1.0]]))
    chart = opinion_chart(compute_opinions(votes))
    assert chart.png.startswith(PNG_SIGNATURE) and "No opinion groups" in chart.alt


def test_blocks_are_valid_and_escaped() -> None:
    result, texts = _result()
    blocks = opinion_blocks(result, texts, question="Parks " * 60)
    assert block_errors(blocks) == []
    assert len(blocks[0]["text"]["text"]) <= HEADER_LIMIT
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    joined = "\n".join(sections)
    assert "<!channel>" not in joined and "<@U0STAFF001>" not in joined
    assert "&lt;!channel&gt;" in joined  # the consensus statement, escaped
    assert "*Group A*" in joined and "*Group B*" in joined and "*Common ground*" in joined
    assert all(len(s) <= 3000 for s in sections)
    assert "A very long statement " * 40 not in joined  # clipped


def test_blocks_with_many_groups_and_with_none() -> None:
    result, texts = _result(groups=4, seed=9)
    blocks = opinion_blocks(result, texts)
    assert block_errors(blocks) == [] and len(blocks) <= 10
    assert blocks[0]["text"]["text"] == "Opinion groups"
    empty = compute_opinions(VoteMatrix(("a",), (1,), np.array([[1.0]])))
    blocks = opinion_blocks(empty, {1: "Hello"})
    assert block_errors(blocks) == []
    assert "Too few people have voted" in blocks[1]["text"]["text"]
