"""`townhall eval duplicates`: the duplicate-report rule replayed on timestamped, located requests.

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from responders.duplicates import DEFAULT_RULE, DuplicateRule
from responders.duplicates_eval import TRUTH_HOURS, TRUTH_RADIUS_M, Categorize, Row
from townhall.cli_ml import DataOption
from townhall.cli_settings import load_settings

if TYPE_CHECKING:
    from classifiers.category import CategoryModel

console = Console(stderr=True)
ENCODE_CHUNK = 128
CategorySource = Literal["model", "label"]


def eval_duplicates(
    data: DataOption,
    similarity: Annotated[
        float, typer.Option(help="cosine needed when both reports are located")
    ] = DEFAULT_RULE.similarity,
    similarity_without_location: Annotated[
        float, typer.Option(help="cosine needed when a report has no location")
    ] = DEFAULT_RULE.similarity_without_location,
    window_hours: Annotated[
        float, typer.Option(help="how old an open report may be")
    ] = DEFAULT_RULE.window_hours,
    radius_m: Annotated[
        float, typer.Option(help="how far apart two located reports may be")
    ] = DEFAULT_RULE.radius_m,
    truth_hours: Annotated[
        float, typer.Option(help="truth: same label within this many hours...")
    ] = TRUTH_HOURS,
    truth_radius_m: Annotated[float, typer.Option(help="...and this many metres")] = TRUTH_RADIUS_M,
    category_source: Annotated[
        CategorySource,
        typer.Option(
            help="the rule's categories: the city's category model (as the bot runs) "
            "or the file's label (an optimistic upper bound)"
        ),
    ] = "model",
    ignore_locations: Annotated[
        bool,
        typer.Option(
            "--ignore-locations", help="drop every coordinate, to measure the location-free rule"
        ),
    ] = False,
) -> None:
    """Replay JSONL requests {text, label, created_at, lat, lng} in time order, attach each to
    an open earlier one when the rule says duplicate, and score the merges against "same label,
    close in time and place"."""
    from classifiers.category import build_category_model
    from classifiers.encoder import MiniLMEncoder
    from responders.duplicates_eval import evaluate_duplicates, read_rows
    from responders.retraining import latest_model_dir

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        rule = DuplicateRule(similarity, similarity_without_location, window_hours, radius_m)
        rows = read_rows(data)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not rows:
        raise typer.BadParameter(f"{data}: no rows")
    with console.status("Loading the sentence encoder…"):
        encoder = MiniLMEncoder()
    model_name: str | None = None
    categorize = _labels(rows)
    if category_source == "model":
        settings = load_settings(console)
        with console.status("Building the category model…"):  # the bot's: trained or zero-shot
            model = build_category_model(
                settings.classifiers.categories_path,
                encoder.encode,
                latest_model_dir(settings.data_dir / "models"),
            )
        model_name = f"{model.name}-{model.kind}-v{model.version}"
        categorize = _predicted(model)

    with Progress(
        TextColumn("[bold]eval duplicates[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("encoding", total=len(rows))

        def encode(texts: list[str]) -> np.ndarray:
            parts = [encoder.encode([])]
            for start in range(0, len(texts), ENCODE_CHUNK):
                parts.append(encoder.encode(texts[start : start + ENCODE_CHUNK]))
                progress.advance(task, len(parts[-1]))
            progress.update(task, description="replaying")
            return np.vstack(parts)

        result = evaluate_duplicates(
            rows,
            encode,
            categorize,
            rule,
            truth_hours=truth_hours,
            truth_radius_m=truth_radius_m,
            locations=not ignore_locations,
        )
    result["category_source"] = category_source
    result["category_model"] = model_name
    result["data"] = str(data)
    typer.echo(json.dumps(result, ensure_ascii=False))


def _predicted(model: CategoryModel) -> Categorize:
    """The category the bot would route each request to."""

    def categorize(texts: list[str], vectors: np.ndarray) -> Sequence[str | None]:
        return model.predict(vectors, texts)

    return categorize


def _labels(rows: Sequence[Row]) -> Categorize:
    """The file's labels as the "predicted" categories: what a perfect router would give."""
    labels = [row.label for row in rows]
    return lambda texts, vectors: labels
