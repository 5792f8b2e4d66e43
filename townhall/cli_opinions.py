"""`townhall eval opinions` and `townhall opinions report`, on a Polis export folder.

`eval opinions` prints one JSON object on stdout (details go to stderr):

- `participants`: people who cast at least one vote; `statements`: statements that shaped the
  groups (voted on, not moderated out, not meta);
- `groups`: how many opinion groups were found;
- `ari_vs_reference`: adjusted Rand index of our groups against Polis's `group-id`, over every
  participant Polis grouped. Someone Polis grouped but we left out (too few votes) counts in
  the group whose centre is nearest on the chart, so leaving people out cannot raise the score.
  `null` when the export has no groups;
- `consensus`: ids of the 5 statements with the highest group-informed consensus;
- `wall_s`: seconds to read the export and compute the groups.

Heavy imports (numpy, scikit-learn, matplotlib) happen inside the commands so that
`townhall --help` stays quick.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from polls.opinions import OpinionResult
    from polls.polis_export import PolisExport

console = Console(stderr=True, soft_wrap=True)
ConversationOption = Annotated[Path, typer.Option(
    "--conversation", help="a Polis export folder (comments.csv, votes.csv, "
    "participants-votes.csv)", file_okay=False)]


def _read(conversation: Path) -> PolisExport:
    from polls.polis_export import read_export

    try:
        return read_export(conversation)
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc


def reference_ari(export: PolisExport, result: OpinionResult) -> float | None:
    """ARI against Polis's groups over the participants Polis grouped (see the module doc)."""
    from sklearn.metrics import adjusted_rand_score

    row = {p: i for i, p in enumerate(result.participants)}
    compared = [p for p in export.reference_groups if p in row]
    if not compared:
        return None
    ours = result.nearest_group()
    return float(adjusted_rand_score([export.reference_groups[p] for p in compared],
                                     [int(ours[row[p]]) for p in compared]))


def evaluate(conversation: Path) -> dict[str, Any]:
    """The figures `eval opinions` prints (a function, so tests and scripts can call it)."""
    from polls.opinions import compute_opinions

    started = time.perf_counter()
    export = _read(conversation)
    result = compute_opinions(export.votes)
    wall = time.perf_counter() - started
    ari = reference_ari(export, result)
    console.print(
        f"{escape(conversation.name)}: {result.grouped:,} of {len(result.participants):,} "
        f"participants grouped (at least {result.min_votes} votes), sizes "
        f"{[g.size for g in result.groups]}, {len(result.excluded)} statements excluded, "
        "silhouette by k: " + ", ".join(f"{k}: {s:.3f}" for k, s in result.silhouettes.items())
        + f"; Polis grouped {len(export.reference_groups):,}")
    return {
        "participants": len(result.participants),
        "statements": len(result.statements),
        "groups": len(result.groups),
        "ari_vs_reference": None if ari is None else round(ari, 4),
        "consensus": [item.statement for item in result.consensus[:5]],
        "wall_s": round(wall, 3),
    }


def eval_opinions(conversation: ConversationOption) -> None:
    """Compute opinion groups on a Polis export and compare them with Polis's own groups;
    prints one JSON object."""
    typer.echo(json.dumps(evaluate(conversation)))


def opinions_report(
    conversation: ConversationOption,
    out: Annotated[Path, typer.Option(help="the HTML file to write", dir_okay=False)],
    blocks: Annotated[Path | None, typer.Option(
        help="also write the Slack summary (Block Kit JSON) to this file",
        dir_okay=False)] = None,
) -> None:
    """Write the plain-words opinion report (HTML with a chart of the groups) for a Polis
    export, and optionally its Slack summary."""
    from polls.opinion_report import opinion_blocks, render_opinion_html
    from polls.opinions import compute_opinions

    export = _read(conversation)
    result = compute_opinions(export.votes)
    question = export.description or export.topic
    title = f"Opinion groups: {export.topic}" if export.topic else "Opinion groups"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_opinion_html(result, export.texts, title=title, question=question),
                   encoding="utf-8")
    console.print(f"{len(result.groups)} groups among {result.grouped:,} of "
                  f"{len(result.participants):,} participants. [green]HTML[/green] {out}")
    if blocks is not None:
        summary = opinion_blocks(result, export.texts, question=export.topic or question)
        blocks.parent.mkdir(parents=True, exist_ok=True)
        blocks.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
        console.print(f"[green]Slack blocks[/green] {blocks}")


opinions_app = typer.Typer(no_args_is_help=True, help="Opinion groups of a consultation.")
opinions_app.command("report")(opinions_report)
