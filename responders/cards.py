"""The staff card of a case, as a neutral `Card` that each console renders in its own way."""

from __future__ import annotations

from responders.cases import SENTIMENTS, CaseView
from townhall.domain import Button, Card, CardField, CaseStatus, Select

STATUS_LABELS = {
    CaseStatus.NEW: "New - unclaimed",
    CaseStatus.CLAIMED: "Claimed",
    CaseStatus.ANSWERED: "Answered",
    CaseStatus.RESOLVED: "Resolved",
}

# How much of a long message a card shows; the full text stays in the database.
MAX_TEXT = 2800


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def case_card(
    view: CaseView, categories: dict[str, str] | None = None, *, faq: bool = False
) -> Card:
    """The card for a case; `categories` maps category ids to the names staff read, `faq` adds
    the "Add to FAQ" button (where a knowledge base can take new entries)."""
    categories = categories or {}
    case = view.case
    status = CaseStatus(case.status)
    assert case.id is not None
    fields = [
        CardField("Status", STATUS_LABELS[status]),
        CardField("Assignee", f"<@{case.assignee}>" if case.assignee else "nobody yet"),
        CardField("Channel", case.channel.capitalize()),
        CardField("Language", case.language or "unknown"),
        CardField("Citizen", view.citizen_name or "anonymous"),
        CardField("Category", categories.get(case.category or "", case.category or "unknown")),
        CardField("Sentiment", case.sentiment or "unknown"),
        CardField("Opened", case.created_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    if case.abusive:
        fields.insert(0, CardField("Flag", ":warning: abusive language"))
    sections: list[tuple[str, str]] = []
    earlier = [text for _, text in view.recent_messages if text != case.summary]
    if earlier:
        sections.append(("Recent messages", "\n".join(f"• {_clip(t, 300)}" for t in earlier)))
    if case.suggestions:
        lines = [
            f"• `{s['id']}` " + ("(answer given, did not help)" if s.get("given")
                                 else f"({s['score']:.2f})")
            for s in case.suggestions
        ]
        sections.append(("Closest FAQ entries", "\n".join(lines)))
    staff_lines = [
        f"• {e.kind.replace('_', ' ')} by {'citizen' if e.actor == 'citizen' else f'<@{e.actor}>'}"
        + (f": {_clip(e.text, 200)}" if e.text and e.kind != "opened" else "")
        for e in view.events
        if e.kind != "opened"
    ]
    if staff_lines:
        sections.append(("History", "\n".join(staff_lines[-8:])))
    value = str(case.id)
    buttons: list[Button] = []
    if status.is_open:
        if status is CaseStatus.NEW:
            buttons.append(Button("Claim", "case_claim", value))
        buttons += [Button("Reply", "case_reply", value), Button("Resolve", "case_resolve", value)]
        if faq:
            buttons.append(Button("Add to FAQ", "case_faq_add", value))
    selects: list[Select] = []
    if status.is_open:
        if categories:
            selects.append(
                Select("Recategorize", "case_recategorize", case.id,
                       tuple((name, cid) for cid, name in categories.items()))
            )
        selects.append(
            Select("Sentiment is wrong", "case_sentiment", case.id,
                   tuple((s.capitalize(), s) for s in SENTIMENTS if s != case.sentiment))
        )
    return Card(
        title=f"{case.reference} · {STATUS_LABELS[status]}",
        text=_clip(case.summary, MAX_TEXT),
        fields=tuple(fields),
        sections=tuple(sections),
        buttons=tuple(buttons),
        selects=tuple(selects),
        footer="Reply in this thread or with the Reply button: the citizen gets it on "
        f"{case.channel.capitalize()}.",
    )
