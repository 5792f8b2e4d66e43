"""`townhall audit --case REF`: everything that happened to a case, automated and human.

For each message of the case: what the models decided (language, category, sentiment, abuse,
with their confidence and the model's name and version) and which responder answered; every
staff action and every change by the bot's own jobs (SLA, 311) from the case's history; and every
delivery made about it (to the citizens and to Slack) with its outcome. Read-only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from townhall.cli_cases import _reading

console = Console()


def _decisions(session: Any, case_id: int) -> list[dict[str, Any]]:
    from sqlmodel import col, select

    from listening.models import Message

    rows = session.exec(
        select(Message).where(Message.case_id == case_id).order_by(col(Message.id))
    ).all()
    out = []
    for message in rows:
        found = message.classification or {}
        out.append({
            "at": message.received_at.isoformat(), "message_id": message.id,
            "kind": message.kind, "responder": message.responder,
            "language": found.get("language"), "language_score": found.get("language_score"),
            "labels": found.get("labels") or {}, "scores": found.get("scores") or {},
            "models": found.get("models") or {},
        })
    return out


def _history(session: Any, case_id: int) -> list[dict[str, Any]]:
    from sqlmodel import col, select

    from responders.models import CaseEvent

    return [
        {"at": e.created_at.isoformat(), "actor": e.actor, "kind": e.kind, "text": e.text}
        for e in session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                              .order_by(col(CaseEvent.id))).all()
    ]


def _deliveries(session: Any, case_id: int, message_ids: list[int]) -> list[dict[str, Any]]:
    from sqlmodel import col, or_, select

    from listening.models import OutboxItem

    keys = [f"reply:{m}" for m in message_ids] + [f"note:message:{m}" for m in message_ids]
    rows = session.exec(
        select(OutboxItem).where(or_(
            col(OutboxItem.stream).startswith(f"case:{case_id}"),
            col(OutboxItem.key).in_(keys),
            col(OutboxItem.key).like(f"notify:%:{case_id}:%"),
        )).order_by(col(OutboxItem.id))
    ).all()
    return [
        {"at": i.created_at.isoformat(), "kind": i.kind, "key": i.key, "status": i.status,
         "attempts": i.attempts, "sent_at": i.sent_at.isoformat() if i.sent_at else None,
         "error": i.last_error}
        for i in rows
    ]


def audit(
    case: Annotated[str, typer.Option("--case", help="the case reference, e.g. TH-00012")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
) -> None:
    """A case's audit trail: automated decisions, staff actions and deliveries."""
    from sqlmodel import select

    from responders.models import Case

    reference = case.strip().upper()
    with _reading() as database:
        def gather(session: Any) -> dict[str, Any] | None:
            found = session.exec(select(Case).where(Case.reference == reference)).first()
            if found is None or found.id is None:
                return None
            decisions = _decisions(session, found.id)
            return {
                "case": reference, "status": found.status, "queue": found.queue,
                "decisions": decisions, "history": _history(session, found.id),
                "deliveries": _deliveries(session, found.id,
                                          [d["message_id"] for d in decisions]),
            }

        trail = database.transact(gather)
    if trail is None:
        Console(stderr=True).print(f"[red]No case {escape(reference)}.[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(trail, ensure_ascii=False))
        return
    _print(trail)


def _print(trail: dict[str, Any]) -> None:
    console.rule(f"{trail['case']} ({trail['status']}, queue {trail['queue']})")
    decisions = Table("when", "message", "answered by", "language", "decisions (confidence, model)",
                      title="Automated decisions")
    for d in trail["decisions"]:
        labels = ", ".join(
            f"{name}={value} ({d['scores'].get(name, 0):.2f}, {d['models'].get(name, '?')})"
            for name, value in d["labels"].items())
        language = f"{d['language']} ({(d['language_score'] or 0):.2f})" if d["language"] else ""
        decisions.add_row(d["at"][:19], str(d["message_id"]), d["responder"] or "",
                          language, escape(labels))
    console.print(decisions)
    history = Table("when", "who", "what", "detail", title="History")
    for e in trail["history"]:
        history.add_row(e["at"][:19], e["actor"], e["kind"], escape((e["text"] or "")[:80]))
    console.print(history)
    deliveries = Table("when", "what", "status", "attempts", "error", title="Deliveries")
    for d in trail["deliveries"]:
        deliveries.add_row(d["at"][:19], f"{d['kind']} {d['key'][:40]}", d["status"],
                           str(d["attempts"]), escape((d["error"] or "")[:60]))
    console.print(deliveries)
