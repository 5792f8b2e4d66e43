"""The digest's files: a self-contained HTML page for mail clients and phones, a Markdown version
with its PNG charts beside it, both readable without the images."""

import base64
import re
import struct
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from listening.digest import Digest, PollOption, PollResult, gather_digest, week_bounds
from listening.digest_charts import digest_charts
from listening.digest_render import render_html, write_digest
from townhall.db import Database
from townhall.testing.digest_data import DISPLAY_NAME, DigestRows
from townhall.testing.digest_scenario import NAMES, fill_two_weeks

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


class _Page(HTMLParser):
    """Every tag in order, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Page()
    parser.feed(page)
    return parser.tags


@pytest.fixture
def digest(db: Database) -> Digest:
    fill_two_weeks(DigestRows(db))
    week = week_bounds("2026-W48", "Europe/Paris")
    now = datetime(2026, 11, 30, 7, tzinfo=UTC)
    return db.transact(lambda s: gather_digest(s, week, category_names=NAMES, city="Springfield",
                                               now=now))


def test_html_is_self_contained_with_alt_text_and_a_table_per_chart(
    digest: Digest, tmp_path: Path
) -> None:
    files = write_digest(digest, tmp_path)
    assert files.html.name == "digest-2026-W48.html"
    page = files.html.read_text(encoding="utf-8")
    tags = _tags(page)
    names = [name for name, _ in tags]
    assert "script" not in names and "link" not in names and "iframe" not in names
    assert "<style" not in page  # inline styles only: mail clients drop style elements
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "url(" not in page
    images = [attrs for name, attrs in tags if name == "img"]
    assert len(images) == 4  # messages per day, categories, sentiment, cases
    for attrs in images:
        assert attrs["alt"] and len(attrs["alt"]) > 40
        src = attrs["src"] or ""
        assert src.startswith("data:image/png;base64,")
        width, height = _png_size(base64.b64decode(src.split(",", 1)[1]))
        assert width == 640 and 200 <= height <= 640
    for position, (name, _) in enumerate(tags):
        if name == "img":  # the chart's data table comes right after it
            assert tags[position + 1][0] == "table"
    assert 'name="viewport"' in page


def test_report_content_is_plain_and_private(digest: Digest, tmp_path: Path) -> None:
    files = write_digest(digest, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    markdown = files.markdown.read_text(encoding="utf-8")
    for text in (page, markdown):
        assert "Springfield" in text
        assert "not a representative sample of residents" in text
        assert DISPLAY_NAME not in text
        assert "jo.resident@example.org" not in text and "56 78" not in text
        assert "idiots" not in text  # the offensive message is never quoted
        assert "Flooding on River Road" in text and "Free tickets spam" not in text
        assert "Waste and recycling" in text
    assert "Week 48 of 2026: Monday 23 November to Sunday 29 November 2026" in page
    assert "9 citizen messages to the city, 2 public posts we listened to" in page
    assert "67% of 3 ratings said it helped" in page
    assert "+33% vs previous week" in page  # roads and potholes: 4 after 3


def test_markdown_references_the_png_files_beside_it(digest: Digest, tmp_path: Path) -> None:
    files = write_digest(digest, tmp_path / "out")
    markdown = files.markdown.read_text(encoding="utf-8")
    references = re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", markdown)
    assert len(references) == len(files.images) == 4
    for alt, target in references:
        assert alt and "/" not in target
        path = files.markdown.parent / target
        assert path in files.images and path.name.startswith("digest-2026-W48-")
        assert _png_size(path.read_bytes())[0] == 640
    blocks = markdown.split("\n\n")
    for index, block in enumerate(blocks):
        if block.startswith("!["):
            assert blocks[index + 1].startswith("| Day |") or blocks[index + 1].startswith(
                "| Category |")
    assert "| Mon 23 Nov | 2 | 0 | 2 | 0 |" in markdown
    assert "| Week | 8 | 3 | 11 | 2 |" in markdown


def test_polls_render_when_given(digest: Digest) -> None:
    poll = PollResult("Should the market move to Sundays?",
                      (PollOption("Yes", 30), PollOption("No", 10)), voters=40)
    with_poll = replace(digest, polls=(poll,))
    charts = digest_charts(with_poll)
    assert [c.name for c in charts][-1] == "poll1"
    assert charts[-1].table.rows == (("Yes", "30", "75%"), ("No", "10", "25%"))
    page = render_html(with_poll, charts)
    assert "Should the market move to Sundays? (40 voters)" in page
    assert "Polls" not in render_html(digest, digest_charts(digest))


def test_an_empty_week_says_so(db: Database, tmp_path: Path) -> None:
    week = week_bounds("2026-W40", "UTC")
    digest = db.transact(lambda s: gather_digest(s, week, category_names={}))
    files = write_digest(digest, tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert "Nothing was received this week" in page
    assert "<img" not in page and files.images == ()
    assert "not a representative sample of residents" in page
    assert "Nothing was received this week" in files.markdown.read_text(encoding="utf-8")
