"""`townhall poll create|results|list`: polls from the command line.

`create` writes the poll and its deliveries to the database; the running bot's outbox sends
them (it reads the outbox every second), so this works against a live deployment.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape

from townhall.cli_settings import load_settings

poll_app = typer.Typer(no_args_is_help=True, help="Create polls and read their results.")
console = Console(stderr=True)


def _database():
    from townhall.db import Database

    settings = load_settings(console)
    database = Database(settings.database_url)
    database.ensure_schema()
    return settings, database


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date and time: {text!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@poll_app.command("create")
def create(
    question: Annotated[str, typer.Option(help="the question (at most 300 characters)")],
    option: Annotated[list[str], typer.Option(help="an option; give 2 to 10")],
    audience: Annotated[str, typer.Option(help="topic:<id> or group:<Telegram chat id>")],
    closes: Annotated[str, typer.Option(help="closing time, ISO 8601 (UTC if no offset)")],
    announce: Annotated[bool, typer.Option(help="tell the audience the result at close")] = False,
    by: Annotated[str, typer.Option(help="who creates it (shown on the Slack card)")] = "cli",
) -> None:
    """Create a poll; prints its id."""
    from polls.service import PollDraft, PollError, check_draft, create_poll
    from polls.subscriptions import Topics
    from townhall.domain import utcnow

    settings, database = _database()
    draft = PollDraft(question, option, audience, _when(closes), by, announce)
    topics = Topics.from_names(settings.polls.topics, settings.polls.neighbourhoods)
    try:
        check_draft(draft, topics, utcnow())
        poll_id = database.transact(
            create_poll, draft, utcnow(), settings.polls.tally_seconds
        )
    except PollError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    finally:
        database.close()
    typer.echo(json.dumps({"poll_id": poll_id}))


@poll_app.command("results")
def results(
    poll_id: int,
    format: Annotated[Literal["json", "csv"], typer.Option(help="json or csv")] = "json",
) -> None:
    """Counts and percentages per option and per channel, with the number of voters."""
    from polls.results import PollError, poll_results

    _, database = _database()
    try:
        found = database.transact(poll_results, poll_id)
    except PollError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    finally:
        database.close()
    if format == "json":
        typer.echo(json.dumps(found.as_dict(), ensure_ascii=False))
        return
    channels = sorted(found.by_channel)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["option", "votes", "percent", *channels])
    for index, (option, votes, percent) in enumerate(
        zip(found.options, found.counts, found.percentages, strict=True)
    ):
        writer.writerow([option, votes, percent, *(found.by_channel[c][index] for c in channels)])
    typer.echo(out.getvalue().rstrip("\n"))
