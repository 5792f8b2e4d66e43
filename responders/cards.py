"""The staff card of a case, as a neutral `Card` that each console renders in its own way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bots.slack.blocks import escape
from responders.business_hours import BusinessCalendar
from responders.cases import SENTIMENTS, CaseView
from responders.queues import Queue, mention
from responders.sla import sla_state
from townhall.domain import Button, Card, CardField, CaseStatus, Select, utcnow
from townhall.redact import redact_personal

STATUS_LABELS = {
    CaseStatus.NEW: "New - unclaimed",
    CaseStatus.CLAIMED: "Claimed",
    CaseStatus.ANSWERED: "Answered",
    CaseStatus.WAITING: "Waiting for the citizen",
    CaseStatus.REOPENED: "Reopened - unclaimed",
    CaseStatus.RESOLVED: "Resolved",
}

# How much of a long message a card shows; the full text stays in the database.
MAX_TEXT = 2800


@dataclass(frozen=True)
class CardContext:
    """What a card offers besides the case: names staff read, the queues to move to, the
    saved replies to pick from, and the business calendar its SLA clock runs on."""

    categories: dict[str, str] = field(default_factory=dict)  # id -> name
    queues: tuple[Queue, ...] = ()
    canned: tuple[tuple[str, str], ...] = ()  # (title, id)
    calendar: BusinessCalendar | None = None
    faq: bool = False  # "Add to FAQ" (where a knowledge base can take new entries)
    redact: bool = False  # [privacy] redact_cards: no e-mail, phone or address on cards


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(at: datetime) -> str:
    """A time every staff member reads in their own time zone (Slack's date formatting)."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def sla_text(view: CaseView, calendar: BusinessCalendar, now: datetime | None = None) -> str:
    case = view.case
    state = sla_state(
        calendar, status=case.status, first_response_at=case.first_response_at,
        resolved_at=case.resolved_at, first_response_due=case.first_response_due,
        resolution_due=case.resolution_due, now=now or utcnow(),
    )
    text = state.describe()
    if state.due is not None and not state.settled:
        text += f" ({when(state.due)})"
    return (":rotating_light: " if state.stage == "overdue" else "") + text


def case_card(
    view: CaseView, categories: dict[str, str] | None = None, *, faq: bool = False,
    context: CardContext | None = None,
) -> Card:
    """The card for a case; `categories` maps category ids to the names staff read, `faq` adds
    the "Add to FAQ" button."""
    context = context or CardContext(categories=categories or {}, faq=faq)
    categories = context.categories
    case = view.case
    status = CaseStatus(case.status)
    assert case.id is not None
    queue = next((q for q in context.queues if q.id == case.queue), None)
    fields = [
        CardField("Status", STATUS_LABELS[status]),
        CardField("Assignee", f"<@{case.assignee}>" if case.assignee else "nobody yet"),
        CardField("Channel", case.channel.capitalize()),
        CardField("Language", case.language or "unknown"),
        CardField("Citizen", escape(view.citizen_name or "anonymous")),
        CardField("Category", categories.get(case.category or "", case.category or "unknown")),
        CardField("Sentiment", case.sentiment or "unknown"),
        CardField("Opened", when(case.created_at)),
    ]
    if context.calendar is not None and case.merged_into_id is None:
        fields.append(CardField("SLA", sla_text(view, context.calendar)))
    if view.reporters > 1:
        reporters = f":busts_in_silhouette: {view.reporters} reporters"
        fields.insert(0, CardField("Reporters", reporters))
    if case.abusive:
        fields.insert(0, CardField("Flag", ":warning: abusive language"))
    if view.citizen_blocked:
        fields.insert(0, CardField("Blocked", ":no_entry: this citizen is blocked "
                                   f"(`/townhall unblock {case.reference}`)"))
    if queue is not None and len(context.queues) > 1:
        fields.append(CardField("Queue", queue.name))
    shown = redact_personal if context.redact else (lambda text: text)
    sections = _sections(view, categories, shown)
    selects: list[Select] = []
    buttons: list[Button] = []
    value = str(case.id)
    if status.is_open:
        if status in (CaseStatus.NEW, CaseStatus.REOPENED):
            buttons.append(Button("Claim", "case_claim", value))
        buttons += [Button("Reply", "case_reply", value), Button("Resolve", "case_resolve", value)]
        if context.faq:
            buttons.append(Button("Add to FAQ", "case_faq_add", value))
        if not view.citizen_blocked:
            buttons.append(Button("Block citizen", "case_block", value))
        selects = _selects(view, context)
    title = f"{case.reference} · {STATUS_LABELS[status]}"
    if case.merged_into_id is not None:
        title = f"{case.reference} · Merged"
    return Card(
        title=title,
        text=_clip(shown(case.summary), MAX_TEXT),
        fields=tuple(fields[:10]),
        sections=tuple(sections),
        buttons=tuple(buttons),
        selects=tuple(selects),
        footer="Reply in this thread or with the Reply button: every reporter gets it where "
        "they wrote.",
        mention=mention(queue.mention) if queue is not None else "",
    )


def _sections(
    view: CaseView, categories: dict[str, str], shown: Callable[[str], str]
) -> list[tuple[str, str]]:
    case = view.case
    sections: list[tuple[str, str]] = []
    earlier = [escape(shown(text)) for _, text in view.recent_messages
               if text and text != case.summary]
    if earlier:
        sections.append(("Recent messages", "\n".join(f"• {_clip(t, 300)}" for t in earlier)))
    photos = [a for a in view.attachments if a.kind == "photo"]
    places = [a for a in view.attachments if a.kind == "location"]
    shared = []
    if case.latitude is not None and case.longitude is not None:
        shared.append(
            f":round_pushpin: <https://www.openstreetmap.org/?mlat={case.latitude:.6f}"
            f"&mlon={case.longitude:.6f}#map=18/{case.latitude:.6f}/{case.longitude:.6f}|"
            f"{case.latitude:.5f}, {case.longitude:.5f}>"
            + (f" (+{len(places) - 1} more)" if len(places) > 1 else "")
        )
    if photos:
        shared.append(f":camera: {len(photos)} photo(s), in this card's thread")
    if shared:
        sections.append(("Shared by the citizen", "\n".join(shared)))
    if case.suggestions:
        lines = [
            f"• `{s['id']}` " + ("(answer given, did not help)" if s.get("given")
                                 else f"({s['score']:.2f})")
            for s in case.suggestions
        ]
        sections.append(("Closest FAQ entries", "\n".join(lines)))
    if case.service_request_id or case.open311_error:
        lines = []
        if case.service_request_id:
            lines.append(f"Service request `{case.service_request_id}`: "
                         f"{case.open311_status or 'submitted'}")
            if case.open311_notes:
                lines.append(f"Notes: {escape(_clip(case.open311_notes, 300))}")
            if case.open311_expected:
                lines.append(f"Expected: {when(case.open311_expected)}")
        if case.open311_error:
            lines.append(f":x: {_clip(case.open311_error, 300)}")
        sections.append(("311 system", "\n".join(lines)))
    if view.ratings:
        lines = [
            f"{'★' * r.score}{'☆' * (5 - r.score)} {r.score}/5"
            + (f": {escape(_clip(r.comment, 200))}" if r.comment else "")
            for r in view.ratings
        ]
        sections.append(("Satisfaction", "\n".join(lines)))
    history = [
        f"• {e.kind.replace('_', ' ')} by {_actor(e.actor)}"
        + (f": {escape(_clip(shown(e.text), 200))}" if e.text and e.kind != "opened" else "")
        for e in view.events
        if e.kind != "opened"
    ]
    if history:
        sections.append(("History", "\n".join(history[-8:])))
    return sections


def _actor(actor: str) -> str:
    """Staff are Slack users (a mention); the citizen and the bot's own jobs are named."""
    if actor == "citizen":
        return "citizen"
    if actor == "open311":
        return "the 311 system"
    if actor == "townhall":
        return "Townhall"
    return f"<@{actor}>"


def _selects(view: CaseView, context: CardContext) -> list[Select]:
    case = view.case
    assert case.id is not None
    selects: list[Select] = []
    if context.canned:
        selects.append(Select("Saved replies", "case_canned", case.id, context.canned))
    if context.categories:
        selects.append(
            Select("Recategorize", "case_recategorize", case.id,
                   tuple((name, cid) for cid, name in context.categories.items()))
        )
    selects.append(
        Select("Sentiment is wrong", "case_sentiment", case.id,
               tuple((s.capitalize(), s) for s in SENTIMENTS if s != case.sentiment))
    )
    others = tuple((q.name, q.id) for q in context.queues if q.id != case.queue)
    if others:
        selects.append(Select("Move to queue", "case_move", case.id, others))
    if view.merge_candidates:
        selects.append(
            Select("Merge into…", "case_merge", case.id,
                   tuple((f"{ref}: {_clip(summary, 50)}", str(cid))
                         for cid, ref, summary in view.merge_candidates))
        )
    if view.case_messages:
        selects.append(
            Select("Split out a message", "case_split", case.id,
                   tuple((_clip(text or "(photo or location)", 70), str(mid))
                         for mid, text in view.case_messages[-25:]))
        )
    return selects
