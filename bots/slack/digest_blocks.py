"""The weekly digest's Slack message: the headline figures as Block Kit, the report attached.

A pure function of a `DigestSummary`, so the message can be tested without Slack. Labels of
emerging issues and category names are escaped: an issue label is derived from residents' words
and must not be able to ping anyone in the workspace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bots.slack.blocks import FIELD_LIMIT, HEADER_LIMIT, SECTION_LIMIT, escape

if TYPE_CHECKING:
    from listening.digest_job import DigestSummary

MAX_EMERGING = 5
NOT_REPRESENTATIVE = "Social media is not a representative sample of residents."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _change(now: int, before: int) -> str:
    if before == 0:
        return ""
    return f" ({(now - before) * 100 / before:+.0f}% vs previous week)"


def _hours(hours: float | None) -> str:
    if hours is None:
        return "n/a"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip(f"*{label}*\n{value}", FIELD_LIMIT)}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def summary_blocks(summary: DigestSummary) -> list[dict[str, Any]]:
    """Header, the figures as fields, the top issues, the emerging issues, a caveat."""
    header = {"type": "header", "text": {
        "type": "plain_text", "text": _clip(f"Weekly digest: {summary.period}", HEADER_LIMIT)}}
    if summary.empty:
        return [header, _section(f"Nothing was received in week {summary.week}: no messages, "
                                 f"no case activity. {summary.cases_open:,} cases are open.")]
    first = _hours(summary.median_first_response_h)
    if summary.first_response_compliance is not None:
        first += f" ({summary.first_response_compliance * 100:.0f}% on time)"
    fields = [
        _field("Messages", f"{summary.messages:,}"
               f"{_change(summary.messages, summary.previous_messages)}"),
        _field("Citizen messages / public posts",
               f"{summary.citizen_messages:,} / {summary.public_posts:,}"),
        _field("Cases opened / resolved", f"{summary.cases_opened:,} / "
               f"{summary.cases_resolved:,} ({summary.cases_open:,} open)"),
        _field("Median first response", first),
    ]
    if summary.satisfaction_average is not None:
        fields.append(_field("Satisfaction", f"{summary.satisfaction_average:.1f} / 5 "
                             f"({summary.ratings:,} ratings)"))
    blocks: list[dict[str, Any]] = [header, {"type": "section", "fields": fields}]
    if summary.top_issues:
        lines = []
        for rank, issue in enumerate(summary.top_issues, 1):
            change = "new" if issue.change_pct is None else f"{issue.change_pct:+.0f}%"
            lines.append(f"{rank}. {escape(issue.name)}: {issue.messages:,} ({change})")
        blocks.append(_section("*Top issues*\n" + "\n".join(lines)))
    if summary.emerging:
        shown = [f"• {escape(label)}" for label in summary.emerging[:MAX_EMERGING]]
        more = len(summary.emerging) - len(shown)
        if more > 0:
            shown.append(f"…and {more} more in the report")
        blocks.append(_section("*Emerging issues*\n" + "\n".join(shown)))
    else:
        blocks.append(_section("*Emerging issues*\nNone this week."))
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Week {summary.week}. {NOT_REPRESENTATIVE}"}]})
    return blocks
