"""`townhall citizen block|unblock`: keep a resident's messages from reaching anyone.

A blocked citizen's messages, button presses and votes are still stored (the record stays
complete) but never answered, never counted in polls, consultations or trends. Citizens are
named by channel and platform user id; the pseudonym is computed with the deployment's key, so
the command needs the same `TOWNHALL_SECURITY__PSEUDONYM_KEY` (or key file) as the bot.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from townhall.cli_settings import load_settings

citizen_app = typer.Typer(no_args_is_help=True, help="Block or unblock a resident.")
console = Console(stderr=True)

Channel = Annotated[str, typer.Option(help="telegram or x")]
UserId = Annotated[str, typer.Option("--user-id", help="the platform's user id")]


def _set_blocked(channel: str, user_id: str, blocked: bool) -> None:
    from sqlmodel import select

    from listening.models import Citizen
    from townhall.db import Database
    from townhall.domain import utcnow
    from townhall.privacy import Pseudonymizer

    settings = load_settings(console)
    key = settings.security.pseudonym_key
    pseudonym = Pseudonymizer.from_key_or_file(
        key.get_secret_value() if key else None, settings.data_dir / "pseudonym.key"
    )(channel, user_id)
    database = Database(settings.database_url)
    database.ensure_schema()

    def change(session) -> bool:
        citizen = session.exec(select(Citizen).where(Citizen.pseudonym == pseudonym)).first()
        if citizen is None:
            return False
        citizen.blocked_at = utcnow() if blocked else None
        session.add(citizen)
        return True

    try:
        found = database.transact(change)
    finally:
        database.close()
    if not found:
        console.print(f"[red]No citizen {user_id} on {channel} has written to the city.[/red]")
        raise typer.Exit(2)
    typer.echo(json.dumps({"channel": channel, "user_id": user_id, "blocked": blocked}))


@citizen_app.command("block")
def block(channel: Channel, user_id: UserId) -> None:
    """Block a resident: their messages are stored but never answered or counted."""
    _set_blocked(channel, user_id, True)


@citizen_app.command("unblock")
def unblock(channel: Channel, user_id: UserId) -> None:
    """Lift a block."""
    _set_blocked(channel, user_id, False)
