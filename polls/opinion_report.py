"""The opinion groups in plain words: a self-contained HTML page and a short Slack summary.

Readers are city staff, not statisticians, so the page says what a dot, a group and a
representative statement are, gives each figure as "x% of Group A agreed, against y% of the
others", and says who is left out and why. The HTML follows the digest's rules (one column, inline
styles, the chart embedded as a base64 PNG with alt text, no script, nothing fetched), so it can
be mailed or opened offline. Statement texts come from residents: they are HTML-escaped on the
page and Slack-escaped in the blocks, so `<!channel>` in a statement pings nobody.

Drawing uses matplotlib's object API on the Agg canvas (never pyplot), like
`listening.digest_charts`: reports are made off the event loop, and pyplot's global state is
neither thread-safe nor needed.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bots.slack.blocks import HEADER_LIMIT, SECTION_LIMIT, escape
from polls.opinions import Id, OpinionGroup, OpinionResult, RepresentativeStatement

matplotlib.use("Agg")  # headless: no display on a server

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")  # Okabe-Ito
LEFT_OUT = "#BBBBBB"
FONT = "font-family:Arial,Helvetica,sans-serif;"
TEXT, MUTED = "#222222", "#555555"
SLACK_GROUPS, SLACK_STATEMENTS, SLACK_TEXT = 5, 3, 200
NOT_REPRESENTATIVE = ("The groups describe the people who took part, not every resident of "
                      "the city.")


@dataclass(frozen=True)
class OpinionChart:
    png: bytes
    alt: str


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%"


def _people(n: int) -> str:
    return f"{n:,} participant" + ("" if n == 1 else "s")


def _text(statements: Mapping[Id, str], sid: Id) -> str:
    return statements.get(sid) or f"Statement {sid}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(group: OpinionGroup, result: OpinionResult) -> str:
    """Where a group sits on the chart, in words (relative to the spread of the dots)."""
    spread = result.coords.std(axis=0) if len(result.coords) else (1.0, 1.0)
    x, y = (c / (s or 1.0) for c, s in zip(group.center, spread, strict=True))
    if math.hypot(x, y) < 0.25:
        return "in the middle"
    angle = math.degrees(math.atan2(y, x)) % 360
    names = ("right", "upper right", "top", "upper left", "left", "lower left", "bottom",
             "lower right")
    return "on the " + names[int((angle + 22.5) // 45) % 8]


def _left_out(result: OpinionResult) -> int:
    return len(result.participants) - result.grouped


def opinion_chart(result: OpinionResult) -> OpinionChart:
    """Every participant as a dot, coloured by group; those left out in light grey."""
    figure = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    out = result.group < 0
    if out.any():
        axes.scatter(result.coords[out, 0], result.coords[out, 1], s=8, c=LEFT_OUT,
                     label=f"not grouped ({_left_out(result):,})", linewidths=0)
    for group in result.groups:
        mine = result.group == group.id
        colour = PALETTE[group.id % len(PALETTE)]
        axes.scatter(result.coords[mine, 0], result.coords[mine, 1], s=16, c=colour,
                     label=f"Group {group.label} ({group.size:,})", linewidths=0)
        axes.annotate(group.label, group.center, fontsize=14, fontweight="bold", color=colour,
                      ha="center", va="center",
                      bbox={"boxstyle": "circle", "fc": "white", "ec": colour})
    first, second = result.explained
    axes.set_xlabel(f"main difference in votes ({_pct(first)} of the variation)", fontsize=9)
    axes.set_ylabel(f"second difference ({_pct(second)})", fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if axes.get_legend_handles_labels()[0]:  # nobody has voted yet: no dots, no legend
        axes.legend(frameon=False, fontsize=9, loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    if result.groups:
        placed = "; ".join(f"Group {g.label} ({_people(g.size)}) {_where(g, result)}"
                           for g in result.groups)
        alt = (f"Scatter chart of {_people(len(result.participants))}, each placed by how they "
               f"voted, so that people who voted alike are close together. {placed}.")
    else:
        alt = (f"Scatter chart of {_people(len(result.participants))}, each placed by how they "
               "voted. No opinion groups could be formed yet.")
    if out.any():
        alt += (f" {_people(_left_out(result))} with fewer than {result.min_votes} votes are "
                "shown in grey, in no group.")
    return OpinionChart(buffer.getvalue(), alt)


def _stance(item: RepresentativeStatement, label: str) -> str:
    verb = "agreed" if item.direction == "agree" else "disagreed"
    mine = item.agree if item.direction == "agree" else item.disagree
    theirs = item.others_agree if item.direction == "agree" else item.others_disagree
    return (f"{_pct(mine)} of Group {label} {verb} (of {item.seen:,} who voted on it), "
            f"against {_pct(theirs)} of the other participants.")


def _consensus_line(result: OpinionResult, agree: tuple[float, ...]) -> str:
    if not result.groups:
        return f"{_pct(agree[0])} of participants agreed."
    return "Agreed by " + ", ".join(
        f"{_pct(share)} of Group {g.label}" for g, share in zip(result.groups, agree,
                                                                   strict=True)) + "."


def _common_ground(result: OpinionResult) -> str:
    """Says whether the top statements really have a majority in every group: group-informed
    consensus ranks them all the same, even when no statement does."""
    shared = sum(all(share > 0.5 for share in item.agree) for item in result.consensus)
    ranked = "ranked by how much every group agreed"
    if shared == len(result.consensus):
        return f"Most people in every group agreed with these statements ({ranked})."
    if shared:
        return (f"Most people in every group agreed with {shared} of these statements; the "
                f"others came closest ({ranked}).")
    return ("No statement was agreed by most people in every group; these came closest "
            f"({ranked}).")


def _summary(result: OpinionResult) -> str:
    grouped, left = result.grouped, _left_out(result)
    text = (f"{_people(len(result.participants))} voted on {len(result.statements):,} "
            "statements. ")
    if result.groups:
        text += (f"Among the {_people(grouped)} who voted on at least {result.min_votes} "
                 f"statements, {len(result.groups)} opinion groups stand out")
    else:
        text += "Too few people have voted for opinion groups to stand out yet"
    if left:
        text += f"; {_people(left)} voted too little to be placed in a group"
    return text + "."


def render_opinion_html(result: OpinionResult, statements: Mapping[Id, str], *,
                        title: str = "Opinion groups", question: str = "",
                        chart: OpinionChart | None = None) -> str:
    chart = chart or opinion_chart(result)
    e = html.escape
    parts = [f'<h1 style="{FONT}font-size:24px;margin:8px 0;">{e(title)}</h1>']
    if question:
        parts.append(f'<p style="margin:8px 0;font-size:17px;"><strong>Question:</strong> '
                     f"{e(question)}</p>")
    parts.append(f'<p style="margin:8px 0;">{e(_summary(result))}</p>')
    parts.append(
        f'<p style="margin:8px 0;color:{MUTED};">How to read this: each dot is a participant. '
        "People who voted the same way on the same statements are placed close together, and "
        "a group is a cluster of people who tend to vote alike, found from the votes alone (the "
        "method of Polis). A group's representative statements are those it agreed or disagreed "
        "with clearly more often than everyone else. Common ground is what every group mostly "
        "agreed with.</p>")
    data = base64.b64encode(chart.png).decode("ascii")
    parts.append(f'<img src="data:image/png;base64,{data}" alt="{e(chart.alt)}" width="640" '
                 'style="display:block;width:100%;max-width:640px;height:auto;border:0;'
                 'margin:8px 0;">')
    for group in result.groups:
        colour = PALETTE[group.id % len(PALETTE)]
        share = group.size / result.grouped if result.grouped else 0.0
        parts.append(
            f'<h2 style="{FONT}font-size:19px;margin:24px 0 8px 0;border-left:6px solid '
            f'{colour};padding-left:8px;">Group {group.label}: {e(_people(group.size))} '
            f"({_pct(share)} of those grouped)</h2>")
        parts.append(f'<p style="margin:8px 0;">What sets Group {group.label} apart:</p>')
        parts.append("<ul>" + "".join(
            f'<li style="margin:6px 0;">\u201c{e(_text(statements, item.statement))}\u201d '
            f'<span style="color:{MUTED};">{e(_stance(item, group.label))}</span></li>'
            for item in group.representative) + "</ul>")
    if result.consensus:
        parts.append(f'<h2 style="{FONT}font-size:19px;margin:24px 0 8px 0;">Common ground</h2>')
        parts.append(f'<p style="margin:8px 0;">{e(_common_ground(result))}</p>')
        parts.append("<ul>" + "".join(
            f'<li style="margin:6px 0;">\u201c{e(_text(statements, item.statement))}\u201d '
            f'<span style="color:{MUTED};">{e(_consensus_line(result, item.agree))}</span></li>'
            for item in result.consensus) + "</ul>")
    note = (f"{NOT_REPRESENTATIVE} The chart shows {_pct(sum(result.explained))} of the "
            "differences between people's votes; groups are found from the votes, not from the "
            "chart alone.")
    if result.excluded:
        note += (f" {len(result.excluded):,} statements removed by moderators are not counted.")
    parts.append(f'<div style="margin:16px 0;padding:8px 12px;background:#fff8e1;'
                 f'border:1px solid #f0d98c;font-size:13px;">{e(note)}</div>')
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title></head>\n"
            '<body style="margin:0;padding:0;background:#f4f4f4;">\n'
            f'<div style="max-width:680px;margin:0 auto;padding:16px;background:#ffffff;{FONT}'
            f'font-size:15px;line-height:1.5;color:{TEXT};">\n{body}\n</div>\n</body></html>\n')


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def _quote(statements: Mapping[Id, str], sid: Id) -> str:
    return "\u201c" + escape(_clip(_text(statements, sid), SLACK_TEXT)) + "\u201d"


def opinion_blocks(result: OpinionResult, statements: Mapping[Id, str], *,
                   question: str = "") -> list[dict[str, Any]]:
    """Header, the figures, each group with its top statements, the common ground, a caveat;
    at most 10 blocks, every text within Block Kit's limits."""
    header = _clip(f"Opinion groups: {question}" if question else "Opinion groups",
                   HEADER_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        _section(escape(_summary(result))),
    ]
    for group in result.groups[:SLACK_GROUPS]:
        lines = [f"*Group {group.label}* \u00b7 {_people(group.size)}"]
        for item in group.representative[:SLACK_STATEMENTS]:
            lines.append(f"\u2022 {_quote(statements, item.statement)} "
                         f"_{escape(_stance(item, group.label))}_")
        blocks.append(_section("\n".join(lines)))
    if result.consensus:
        lines = ["*Common ground*"] + [
            f"\u2022 {_quote(statements, item.statement)} "
            f"_{escape(_consensus_line(result, item.agree))}_"
            for item in result.consensus[:SLACK_STATEMENTS]]
        blocks.append(_section("\n".join(lines)))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(
        "Groups found from the votes as Polis does; the full report has the chart. "
        + NOT_REPRESENTATIVE, 3000)}]})
    return blocks
