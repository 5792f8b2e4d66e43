"""The digest as files: one self-contained HTML page and a Markdown version with PNGs beside it.

The content is written once, as a list of neutral blocks (`digest_document`), and each format
renders the blocks: the two versions cannot drift apart. The HTML is meant for mail clients and
phones: one column at most 680 px wide, inline styles only (many clients drop `<style>`), images
embedded as base64 data URIs, no script and nothing fetched from elsewhere. Every chart comes
with its alt text and its data table, so the report reads fully without images.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from listening.digest import Digest
from listening.digest_charts import Chart, Table, digest_charts
from listening.digest_document import (
    Block,
    ChartBlock,
    Figures,
    Heading,
    Note,
    Paragraph,
    Quotes,
    TableBlock,
    digest_document,
)

FONT = "font-family:Arial,Helvetica,sans-serif;"
TEXT = "#222222"
MUTED = "#555555"
RIGHT = "text-align:right;"
CELL = "padding:4px 8px;border-bottom:1px solid #dddddd;text-align:left;vertical-align:top;"


@dataclass(frozen=True)
class DigestFiles:
    html: Path
    markdown: Path
    images: tuple[Path, ...]


def base_name(digest: Digest) -> str:
    return f"digest-{digest.week.label}"


# --- HTML -------------------------------------------------------------------------------------


def _html_table(table: Table) -> str:
    head = "".join(
        f'<th scope="col" style="{CELL}background:#f0f0f0;{"" if i == 0 else RIGHT}">'
        f"{html.escape(h)}</th>"
        for i, h in enumerate(table.headers)
    )
    body = "".join(
        "<tr>" + "".join(
            f'<td style="{CELL}{"" if i == 0 else RIGHT}">{html.escape(v)}</td>'
            for i, v in enumerate(row)
        ) + "</tr>"
        for row in table.rows
    )
    return (
        '<table role="table" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 16px 0;">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        size = {1: 24, 2: 19, 3: 16}[block.level]
        return (f'<h{block.level} style="{FONT}font-size:{size}px;color:{TEXT};'
                f'margin:24px 0 8px 0;">{html.escape(block.text)}</h{block.level}>')
    if isinstance(block, Paragraph):
        colour = MUTED if block.muted else TEXT
        return f'<p style="margin:8px 0;color:{colour};">{html.escape(block.text)}</p>'
    if isinstance(block, Figures):
        rows = "".join(
            f'<tr><th scope="row" style="{CELL}width:40%;">{html.escape(label)}</th>'
            f'<td style="{CELL}">{html.escape(value)}</td></tr>'
            for label, value in block.items
        )
        return ('<table role="table" cellpadding="0" cellspacing="0" style="border-collapse:'
                f'collapse;width:100%;font-size:14px;margin:8px 0;"><tbody>{rows}</tbody></table>')
    if isinstance(block, ChartBlock):
        data = base64.b64encode(block.chart.png).decode("ascii")
        return (
            f'<img src="data:image/png;base64,{data}" alt="{html.escape(block.chart.alt)}" '
            'width="640" style="display:block;width:100%;max-width:640px;height:auto;'
            'border:0;margin:8px 0;">'
            + _html_table(block.chart.table)
        )
    if isinstance(block, TableBlock):
        return _html_table(block.table)
    if isinstance(block, Quotes):
        return "".join(
            f'<blockquote style="margin:8px 0;padding:4px 12px;border-left:4px solid #cccccc;'
            f'color:{TEXT};">\u201c{html.escape(text)}\u201d'
            f'<br><span style="font-size:12px;color:{MUTED};">{html.escape(source)}</span>'
            "</blockquote>"
            for text, source in block.items
        )
    if isinstance(block, Note):
        return (f'<div style="margin:16px 0;padding:8px 12px;background:#fff8e1;'
                f'border:1px solid #f0d98c;font-size:13px;color:{TEXT};">'
                f"{html.escape(block.text)}</div>")
    raise TypeError(f"unknown block {block!r}")


def render_html(digest: Digest, charts: Sequence[Chart]) -> str:
    blocks = digest_document(digest, charts)
    title = blocks[0].text if isinstance(blocks[0], Heading) else "Weekly digest"
    body = "\n".join(_html_block(block) for block in blocks)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f4f4;">\n'
        f'<div style="max-width:680px;margin:0 auto;padding:16px;background:#ffffff;{FONT}'
        f'font-size:15px;line-height:1.5;color:{TEXT};">\n{body}\n</div>\n</body></html>\n'
    )


# --- Markdown ---------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    """Text that Markdown shows as written (no emphasis, links or HTML from residents)."""
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _md_table(table: Table) -> str:
    lines = [
        "| " + " | ".join(_md_escape(h) for h in table.headers) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(table.headers) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(_md_escape(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _md_block(block: Block, images: dict[str, str]) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {_md_escape(block.text)}"
    if isinstance(block, Paragraph):
        return f"*{_md_escape(block.text)}*" if block.muted else _md_escape(block.text)
    if isinstance(block, Figures):
        return "\n".join(f"- **{_md_escape(k)}**: {_md_escape(v)}" for k, v in block.items)
    if isinstance(block, ChartBlock):
        alt = block.chart.alt.replace("[", "(").replace("]", ")")
        return f"![{alt}]({images[block.chart.name]})\n\n{_md_table(block.chart.table)}"
    if isinstance(block, TableBlock):
        return _md_table(block.table)
    if isinstance(block, Quotes):
        return "\n\n".join(
            f"> \u201c{_md_escape(text)}\u201d  \n> \u2014 {_md_escape(source)}"
            for text, source in block.items
        )
    if isinstance(block, Note):
        return f"> **Note:** {_md_escape(block.text)}"
    raise TypeError(f"unknown block {block!r}")


def render_markdown(digest: Digest, charts: Sequence[Chart], images: dict[str, str]) -> str:
    """Markdown; `images` maps a chart's name to the relative path of its PNG file."""
    blocks = digest_document(digest, charts)
    return "\n\n".join(_md_block(block, images) for block in blocks) + "\n"


# --- files ------------------------------------------------------------------------------------


def write_digest(
    digest: Digest, out_dir: Path, charts: Sequence[Chart] | None = None
) -> DigestFiles:
    """Write `digest-<week>.html`, `digest-<week>.md` and its `digest-<week>-<chart>.png`
    files into `out_dir` (created if needed); an earlier digest of the same week is replaced."""
    charts = digest_charts(digest) if charts is None else charts
    out_dir.mkdir(parents=True, exist_ok=True)
    base = base_name(digest)
    images: dict[str, str] = {}
    paths: list[Path] = []
    for chart in charts:
        path = out_dir / f"{base}-{chart.name}.png"
        path.write_bytes(chart.png)
        images[chart.name] = path.name
        paths.append(path)
    html_path = out_dir / f"{base}.html"
    html_path.write_text(render_html(digest, charts), encoding="utf-8")
    markdown_path = out_dir / f"{base}.md"
    markdown_path.write_text(render_markdown(digest, charts, images), encoding="utf-8")
    return DigestFiles(html_path, markdown_path, tuple(paths))
