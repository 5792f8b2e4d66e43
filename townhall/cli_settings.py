"""Settings for a command-line command: a wrong setting ends the command with its reason."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from townhall.settings import Settings


def load_settings(console: Console) -> Settings:
    """The settings, or exit code 2 with pydantic's message (it names the bad key and value)."""
    try:
        return Settings.load()
    except Exception as exc:
        console.print(f"[red]Invalid settings:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
