"""`townhall cases list|show|export`: the case record from the command line, read-only.

Staff and analysts need cases outside the Slack console: a look at the open queue, one case's
whole record for a complaint or an audit, a file for a spreadsheet. These commands never write,
not even the migration other commands apply to an SQLite file that is behind the code: a read is
no reason to change a database, so they stop with the usual `townhall db upgrade` message.
Citizens are pseudonymous: nothing here prints a platform id or a return address (those sit in
`address` columns and message events); a display name appears only where one is still stored.
JSON and CSV go to stdout or the export file alone; progress and errors go to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from townhall.cli_settings import load_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from townhall.db import Database

cases_app = typer.Typer(no_args_is_help=True, help="List, show and export citizens' cases.")
console = Console(stderr=True, soft_wrap=True)
PAGE = 500  # export page size: memory stays flat however many cases there are
CLIP = 60

Status = Literal["open", "all", "new", "claimed", "answered", "waiting", "reopened", "resolved"]
STATUS_HELP = "open (every status but resolved), all, or one status"
SINCE_HELP = "only cases opened on or after this day (UTC), YYYY-MM-DD"
Since = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help=SINCE_HELP)]


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# what each output names, in column order; values that are datetimes become ISO 8601 UTC
LIST_FIELDS = _names(
    "reference status queue category channel reporters created_at age_hours assignee summary"
)
SHOW_FIELDS = _names(
    "reference status queue category sentiment language channel assignee abusive summary "
    "display_name reporters merged_into latitude longitude created_at updated_at "
    "first_response_at resolved_at reopened_at sla_stage first_response_due resolution_due "
    "service_request_id open311_status open311_notes open311_expected open311_error"
)
EXPORT_FIELDS = _names(
    "id reference status queue category sentiment language channel assignee reporters "
    "created_at first_response_at first_response_hours resolved_at resolution_hours "
    "first_response_due resolution_due sla_stage reopened_at merged_into_id rating_average "
    "ratings latitude longitude service_request_id open311_status open311_expected summary"
)
SECTIONS = {  # show: the rows attached to a case, and what is shown of each
    "messages": ("kind", "text", "sent_at"),
    "attachments": ("kind", "size", "latitude", "longitude", "created_at"),
    "ratings": ("score", "comment", "created_at"),
    "events": ("actor", "kind", "text", "created_at"),
}


def _utc(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive (they were stored as UTC); PostgreSQL may not."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    begin, finish = _utc(start), _utc(end)
    if begin is None or finish is None:
        return None
    return round((finish - begin).total_seconds() / 3600, 2)


def _pick(row: Any, names: tuple[str, ...], **computed: Any) -> dict[str, Any]:
    """`names` taken from a row (or from `computed`), in order, with datetimes as ISO text."""
    values = {name: computed[name] if name in computed else getattr(row, name) for name in names}
    return {k: _utc(v).isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


@contextmanager
def _reading() -> Iterator[Database]:
    """The configured database, checked to be at the code's schema without migrating it; exits
    2 with the reason otherwise (the same message `townhall run` gives for a shared database)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from townhall.db import Database, SchemaOutOfDate, head_revision

    settings = load_settings(console)
    url = make_url(settings.database_url)
    path = url.database or ""
    sqlite_file = url.get_backend_name() == "sqlite" and path not in ("", ":memory:")
    if sqlite_file and not Path(path).exists():  # connecting would create an empty file
        console.print(f"[red]There is no database at {escape(path)}.[/red]")
        raise typer.Exit(2)
    database = Database(settings.database_url)
    try:
        current, head = database.current_revision(), head_revision()
        if current != head:
            raise SchemaOutOfDate(
                f"the database schema is at {current or 'nothing'}, the code needs {head}: "
                "run `townhall db upgrade` first"
            )
    except (SchemaOutOfDate, SQLAlchemyError) as exc:
        database.close()
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    try:
        yield database
    finally:
        database.close()


def _cases(
    query: Any, status: str, since: datetime | None, equal: dict[str, Any] | None = None
) -> Any:
    """`query` narrowed to a `--status` choice, the opening day and the `equal` columns set."""
    from sqlmodel import col

    from responders.models import Case
    from townhall.domain import CaseStatus

    if status == "open":
        query = query.where(col(Case.status).in_([s.value for s in CaseStatus if s.is_open]))
    elif status != "all":
        query = query.where(Case.status == status)
    for name, value in (equal or {}).items():
        if value:
            query = query.where(getattr(Case, name) == value)
    return query.where(Case.created_at >= _utc(since)) if since else query


def _counted(session: Session, query: Any) -> dict[int, tuple[Any, ...]]:
    """A `(case_id, aggregates...)` query grouped by case, as a dict keyed by case id."""
    return {int(case_id): tuple(rest) for case_id, *rest in session.exec(query).all()}


def _reporters(session: Session, ids: list[int]) -> dict[int, int]:
    """Citizens attached per case; the opener counts even on a case older than the table."""
    from sqlmodel import col, func, select

    from responders.models import CaseReporter

    case_id = col(CaseReporter.case_id)
    found = _counted(
        session, select(case_id, func.count()).where(case_id.in_(ids)).group_by(case_id)
    )
    return {i: max(found.get(i, (0,))[0], 1) for i in ids}


def _list_rows(
    session: Session, status: str, since: datetime | None, limit: int, equal: dict[str, Any]
) -> list[dict[str, Any]]:
    """Open queues are worked oldest first; any listing with resolved cases shows recent first."""
    from sqlmodel import col, select

    from responders.models import Case

    oldest_first = status not in ("all", "resolved")
    order = [col(Case.created_at), col(Case.id)]
    query = select(Case).order_by(*(o if oldest_first else o.desc() for o in order))
    cases = session.exec(_cases(query, status, since, equal).limit(limit)).all()
    counts = _reporters(session, [c.id for c in cases if c.id is not None])
    now = datetime.now(UTC)
    return [
        _pick(c, LIST_FIELDS, reporters=counts[c.id], age_hours=_hours(c.created_at, now))
        for c in cases
        if c.id is not None
    ]


def _age(hours: float) -> str:
    if hours < 1:
        return f"{int(hours * 60)}m"
    return f"{int(hours)}h" if hours < 48 else f"{int(hours // 24)}d"


def _clip(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= CLIP else line[: CLIP - 1] + "…"


def _cell(value: Any) -> str:
    return escape("" if value is None else str(value))  # stored text is not rich markup


@cases_app.command("list")
def list_cases(
    status: Annotated[Status, typer.Option(help=STATUS_HELP)] = "open",
    queue: Annotated[str | None, typer.Option(help="only this queue")] = None,
    category: Annotated[str | None, typer.Option(help="only this category")] = None,
    since: Since = None,
    limit: Annotated[int, typer.Option(min=1, help="at most this many cases")] = 50,
    format: Annotated[Literal["table", "json", "csv"], typer.Option(help="output")] = "table",
) -> None:
    """Cases, open ones oldest first (the order they should be worked in)."""
    with _reading() as database:
        rows = database.transact(
            _list_rows, status, since, limit, {"queue": queue, "category": category}
        )
    if format == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False))
    elif format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=LIST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        typer.echo(out.getvalue(), nl=False)
    elif not rows:
        console.print("No matching cases.")
    else:
        shown = [f for f in LIST_FIELDS if f != "created_at"]
        table = Table(*(f.removesuffix("_hours").capitalize() for f in shown))
        for row in rows:
            row.update(age_hours=_age(row["age_hours"] or 0), summary=_clip(row["summary"]))
            table.add_row(*(_cell(row[f]) for f in shown))
        Console().print(table)


def _case_record(session: Session, reference: str) -> dict[str, Any] | None:
    """Everything stored about one case except the return addresses and platform ids."""
    from sqlmodel import col, select

    from listening.models import Citizen, Message
    from responders.models import Case, CaseAttachment, CaseEvent, CaseRating

    case = session.exec(select(Case).where(Case.reference == reference.strip().upper())).first()
    if case is None or case.id is None:
        return None
    citizen = session.get(Citizen, case.citizen_id)
    merged = session.get(Case, case.merged_into_id) if case.merged_into_id else None
    record = _pick(
        case,
        SHOW_FIELDS,
        display_name=citizen.display_name if citizen else None,
        reporters=_reporters(session, [case.id])[case.id],
        merged_into=merged.reference if merged else None,
    )
    tables = zip(SECTIONS, (Message, CaseAttachment, CaseRating, CaseEvent), strict=True)
    for section, model in tables:
        order = [col(model.sent_at)] if model is Message else []
        found = session.exec(
            select(model).where(model.case_id == case.id).order_by(*order, col(model.id))
        )
        record[section] = [_pick(row, SECTIONS[section]) for row in found]
    return record


def _print_record(record: dict[str, Any]) -> None:
    out = Console()
    fields = Table.grid(padding=(0, 2))
    for key in SHOW_FIELDS:
        if record[key] is not None:
            fields.add_row(f"[bold]{key}[/bold]", _cell(record[key]))
    out.print(fields)
    for section, names in SECTIONS.items():
        if record[section]:
            table = Table(*names, title=section.capitalize(), title_justify="left")
            for item in record[section]:
                table.add_row(*(_cell(item[n]) for n in names))
            out.print(table)


@cases_app.command("show")
def show(
    reference: Annotated[str, typer.Argument(help="the case reference, e.g. CASE-00042")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object")] = False,
) -> None:
    """One case in full: fields, messages, attachments, ratings, history, SLA and 311 state."""
    with _reading() as database:
        record = database.transact(_case_record, reference)
    if record is None:
        console.print(f"[red]No case {escape(reference.strip().upper())}.[/red]")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False))
    else:
        _print_record(record)


def _export_page(
    session: Session, status: str, since: datetime | None, after: int
) -> list[dict[str, Any]]:
    """The next PAGE cases by id after `after`: keyset paging stays fast deep into a table."""
    from sqlmodel import col, func, select

    from responders.models import Case, CaseRating

    query = _cases(select(Case).where(col(Case.id) > after), status, since)
    cases = session.exec(query.order_by(col(Case.id)).limit(PAGE)).all()
    ids = [c.id for c in cases if c.id is not None]
    counts = _reporters(session, ids)
    case_id = col(CaseRating.case_id)
    ratings = _counted(
        session,
        select(case_id, func.avg(CaseRating.score), func.count())
        .where(case_id.in_(ids))
        .group_by(case_id),
    )
    rows = []
    for case in cases:
        average, count = ratings.get(case.id or 0, (None, 0))
        rows.append(
            _pick(
                case,
                EXPORT_FIELDS,
                reporters=counts[case.id or 0],
                ratings=count,
                rating_average=None if average is None else round(float(average), 2),
                first_response_hours=_hours(case.created_at, case.first_response_at),
                resolution_hours=_hours(case.created_at, case.resolved_at),
            )
        )
    return rows


def _write(handle: Any, format: str, pages: Iterator[list[dict[str, Any]]]) -> int:
    """Stream the pages as one JSON array (valid with no rows too) or CSV with a header."""
    writer = csv.DictWriter(handle, fieldnames=EXPORT_FIELDS)
    if format == "csv":
        writer.writeheader()
    written = 0
    for rows in pages:
        for row in rows:
            if format == "csv":
                writer.writerow(row)
            else:
                handle.write(
                    ("[\n" if written == 0 else ",\n") + json.dumps(row, ensure_ascii=False)
                )
            written += 1
    if format == "json":
        handle.write("\n]\n" if written else "[]\n")
    return written


@cases_app.command("export")
def export(
    format: Annotated[Literal["json", "csv"], typer.Option(help="json or csv")],
    out: Annotated[Path, typer.Option(help="the file to write", dir_okay=False)],
    since: Since = None,
    status: Annotated[Status, typer.Option(help=STATUS_HELP)] = "all",
) -> None:
    """Every matching case, one object or row each, written page by page; prints a summary."""
    from rich.progress import Progress
    from sqlmodel import func, select

    from responders.models import Case

    count = _cases(select(func.count()).select_from(Case), status, since)
    partial = out.with_name(f".{out.name}.part")  # a failed export leaves no truncated file
    with _reading() as database, Progress(console=console) as progress:
        out.parent.mkdir(parents=True, exist_ok=True)
        task = progress.add_task(
            "Exporting cases", total=database.transact(lambda session: session.exec(count).one())
        )

        def pages() -> Iterator[list[dict[str, Any]]]:
            after = 0
            while rows := database.transact(_export_page, status, since, after):
                yield rows
                progress.advance(task, len(rows))
                after = rows[-1]["id"]

        try:
            with partial.open("w", encoding="utf-8", newline="") as handle:
                written = _write(handle, format, pages())
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    typer.echo(json.dumps({"cases": written, "out": str(out), "format": format}))
