"""`townhall faq ...`: the knowledge base outside the running bot.

`export` writes what the bot answers from (config/faq.yaml merged with the entries staff added in
Slack) as one YAML file, to review or to make the configuration; `import` loads such a file into
the database. A running bot sees imported entries at its next start.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from responders.knowledge import KnowledgeBase
    from townhall.settings import Settings

faq_app = typer.Typer(
    no_args_is_help=True,
    help="The FAQ knowledge base: export it, import entries into it, calibrate its thresholds.",
)
# soft_wrap: paths and messages stay on one line, whatever the terminal's width
console = Console(stderr=True, soft_wrap=True)


@contextmanager
def _knowledge_base() -> Iterator[tuple[KnowledgeBase, Settings]]:
    """The configured knowledge base with the database's entries, and the database closed
    afterwards; exits 2 with the reason when the settings, the file or the schema are wrong."""
    from responders.faq import KnowledgeBaseError
    from responders.knowledge import KnowledgeBase
    from townhall.cli_settings import load_settings
    from townhall.db import Database, SchemaOutOfDate

    settings = load_settings(console)
    database = Database(settings.database_url)
    try:
        database.ensure_schema()
        knowledge = KnowledgeBase.from_file(database, settings.faq.path)
        knowledge.load_stored()
    except (SchemaOutOfDate, KnowledgeBaseError) as exc:
        database.close()
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    try:
        yield knowledge, settings
    finally:
        database.close()


@faq_app.command("export")
def export(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", dir_okay=False,
            help="File to write, or - for standard output. [default: DATA_DIR/faq-export.yaml]",
        ),
    ] = None,
) -> None:
    """Write the merged knowledge base (config file + database) as YAML."""
    with _knowledge_base() as (knowledge, settings):
        if out is not None and str(out) == "-":
            sys.stdout.write(knowledge.to_yaml())
            return
        target = out or settings.data_dir / "faq-export.yaml"
        count = knowledge.export(target)
        stored = len(knowledge.stored_ids)
        console.print(
            f"Wrote {count} entries ({stored} from the database) to {escape(str(target))}"
        )


@faq_app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="YAML in the format of faq.yaml")
    ],
) -> None:
    """Load the entries of a YAML file into the database (all or nothing)."""
    from responders.faq import KnowledgeBaseError

    with _knowledge_base() as (knowledge, _):
        try:
            result = asyncio.run(knowledge.import_file(file))
        except KnowledgeBaseError as exc:
            console.print(f"[red]Nothing imported:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from exc
    console.print(
        f"Imported {escape(str(file))}: {result.added} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


@faq_app.command("calibrate")
def calibrate(
    data: Annotated[
        Path,
        typer.Option(exists=True, dir_okay=False, help="JSONL lines {text, label}: an entry id, "
                     "or 'oos' for a message that must go to staff"),
    ],
    encoder: Annotated[
        str, typer.Option(help="minilm (English messages) or multilingual (the others)")
    ] = "minilm",
    target: Annotated[float, typer.Option(help="highest acceptable wrong-answer rate")] = 0.03,
    write: Annotated[bool, typer.Option(help="write the chosen values to the settings")] = True,
) -> None:
    """Choose the FAQ threshold and margin that answer the most messages right while holding
    the target wrong-answer rate, and write them to the [faq] settings.

    Use messages the knowledge base was not written from (real questions from citizens, with
    the entry that answers them): on its own example questions every matcher looks sure.
    """
    import json

    from classifiers.datasets import read_rows
    from responders.faq import FaqMatcher
    from responders.faq_match import OOS
    from responders.faq_match import calibrate as choose
    from townhall.config_file import config_path, set_values

    if encoder not in ("minilm", "multilingual"):
        raise typer.BadParameter("minilm or multilingual", param_hint="--encoder")
    with _knowledge_base() as (knowledge, settings):
        entries = knowledge.entries()
        rows = read_rows(data)
        known = {entry.id for entry in entries} | {OOS}
        unknown = sorted({label for _, label in rows} - known)
        if unknown:
            console.print(f"[red]Labels that are not entries:[/red] {escape(', '.join(unknown))}")
            raise typer.Exit(2)
        with console.status("Encoding the knowledge base and the messages…"):
            encode = _encoder(encoder, settings)
            matcher = FaqMatcher(entries, encode)
            scores = matcher.scores(encode([text for text, _ in rows]))
        prefix = "" if encoder == "minilm" else "multilingual_"
        floor = getattr(settings.faq, f"{prefix}min_similarity")
        chosen = choose(scores, [label for _, label in rows], min_similarity=floor,
                        target_wrong_rate=target)
        result = {
            "encoder": encoder, "threshold": chosen.threshold, "margin": chosen.margin,
            "min_similarity": floor, "met_target": chosen.met_target, **chosen.figures,
        }
        typer.echo(json.dumps(result))
        if not chosen.met_target:
            console.print(f"[yellow]No setting holds {target:.0%} wrong answers; these make "
                          "the fewest.[/yellow]")
        if write:
            path = config_path()
            set_values(path, "faq", {f"{prefix}threshold": chosen.threshold,
                                     f"{prefix}margin": chosen.margin})
            console.print(f"Wrote {prefix}threshold and {prefix}margin to {escape(str(path))}")


def _encoder(kind: str, settings: Settings):
    """The encode function the bot uses for this kind of message."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if kind == "multilingual":
        from classifiers.multilingual import E5Encoder

        return E5Encoder().encode
    from classifiers.encoder import sentence_encoder

    classifiers = settings.classifiers
    return sentence_encoder(classifiers.backend, classifiers.onnx_cache).encode
