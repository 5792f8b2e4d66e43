"""`townhall train`, `townhall eval` and `townhall bench classify`: the classifiers' commands.

Each eval prints one JSON object on stdout (the interface other tools read); progress and logs go
to stderr.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from classifiers.affect import DEFAULT_MODEL
from townhall.settings import ONNX_CACHE

train_app = typer.Typer(no_args_is_help=True, help="Train a classifier and write its artifact.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate on a JSONL file; prints one JSON.")
console = Console(stderr=True)

SHARED_DATA = Path("../shared/data")
DataOption = Annotated[Path, typer.Option(exists=True, dir_okay=False, help="JSONL file")]
Backend = Literal["onnx", "torch"]
BackendOption = Annotated[Backend, typer.Option(help="run the encoders in ONNX Runtime or torch")]


def _onnx_cache(backend: Backend) -> Path | None:
    return ONNX_CACHE if backend == "onnx" else None


def _emit(result: dict) -> None:
    typer.echo(json.dumps(result, ensure_ascii=False))


def _train_tweet_model(
    sentiment: Path, abuse: Path, sentiment_dev: Path, abuse_dev: Path,
    out: Path, epochs: float, seed: int,
) -> None:
    from classifiers.training import civic_texts, refit_abuse_head, train_tweet_model

    with Progress(
        TextColumn("[bold]training[/] {task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"), TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("sentiment + abuse", total=None)

        def report(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, total=total,
                            description=f"sentiment + abuse (loss {loss:.3f})")

        card = train_tweet_model(
            {"sentiment": sentiment, "abuse": abuse},
            {"sentiment": sentiment_dev, "abuse": abuse_dev},
            out, epochs=epochs, seed=seed, progress=report,
        )
    with console.status("Refitting the abuse head with the city's own (civic) examples…"):
        civic = civic_texts(Path("config/faq.yaml"), Path("config/categories.yaml"))
        card = refit_abuse_head(out, abuse, abuse_dev, civic, seed=seed)
    _emit({"artifact": str(out), "validation_metrics": card["validation_metrics"]})


def _tweet_command(task: str):
    def command(
        sentiment_data: Path = SHARED_DATA / "tweeteval_sentiment/train.jsonl",
        abuse_data: Path = SHARED_DATA / "tweeteval_offensive/train.jsonl",
        sentiment_validation: Path = SHARED_DATA / "tweeteval_sentiment/validation.jsonl",
        abuse_validation: Path = SHARED_DATA / "tweeteval_offensive/validation.jsonl",
        out: Path = DEFAULT_MODEL.parent / "tweet-v2",
        epochs: float = 1.0,
        seed: int = 0,
    ) -> None:
        _train_tweet_model(sentiment_data, abuse_data, sentiment_validation, abuse_validation,
                           out, epochs, seed)

    command.__doc__ = (
        f"Fine-tune the tweet model ({task}). Sentiment and abuse share one encoder so that one "
        "pass serves both heads: training either trains both."
    )
    return command


train_app.command("sentiment")(_tweet_command("sentiment"))
train_app.command("abuse")(_tweet_command("abuse"))


@train_app.command("sentiment-multilingual")
def train_sentiment_multilingual(
    data: Path = SHARED_DATA / "tweeteval_sentiment/train.jsonl",
    validation: Path = SHARED_DATA / "tweeteval_sentiment/validation.jsonl",
    out: Path = Path("classifiers/models/sentiment-multilingual-v2"),
    per_class: int = 3000,
    seed: int = 0,
) -> None:
    """The sentiment head over the multilingual encoder, used for messages not in English."""
    from classifiers.multilingual import train_multilingual_sentiment

    with console.status(f"Embedding {3 * per_class} tweets with multilingual-e5 and training…"):
        card = train_multilingual_sentiment(data, validation, out, per_class=per_class, seed=seed)
    _emit({"artifact": str(out), "validation_metrics": card["validation_metrics"]})


@train_app.command("category")
def train_category(
    data: Annotated[
        Path | None, typer.Option(help="extra labelled JSONL {text, label=category id}")
    ] = None,
    corrections: Annotated[bool, typer.Option(help="include staff corrections")] = True,
    out: Annotated[Path | None, typer.Option(help="artifact folder (default: next version "
                                             "under the data folder's models/)")] = None,
) -> None:
    """Train the category model on the seed examples, staff corrections and optional data."""
    import os

    from classifiers.category import CategoryModel, load_categories
    from classifiers.category_eval import read_rows
    from classifiers.encoder import MiniLMEncoder
    from responders.retraining import category_corrections, next_version_dir
    from townhall.db import Database
    from townhall.settings import Settings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings.load()
    categories = load_categories(settings.classifiers.categories_path)
    rows = read_rows(data) if data else []
    if corrections:
        database = Database(settings.database_url)
        database.ensure_schema()
        rows += [(c.text, c.label) for c in database.transact(category_corrections)]
        database.close()
    known = {c.id for c in categories}
    unknown = sorted({label for _, label in rows} - known)
    if unknown:
        raise typer.BadParameter(f"labels that are not categories: {unknown[:5]}")
    with console.status(f"Training on {len(rows)} labelled messages and the seed examples…"):
        encoder = MiniLMEncoder()
        model = CategoryModel.train(
            [t for t, _ in rows], [label for _, label in rows], encoder.encode,
            categories=categories,
        )
    target = out or next_version_dir(settings.data_dir / "models")
    model.save(target, {"data": {"rows": len(rows), "file": str(data) if data else None,
                                 "corrections": corrections, "seed_examples": True}})
    _emit({"artifact": str(target), "labelled": len(rows)})


@eval_app.command("category")
def eval_category(
    train: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="training JSONL")],
    data: DataOption,
) -> None:
    """Macro F1, accuracy and speed of a category model trained on TRAIN, with the TF-IDF +
    logistic regression baseline trained and measured in the same run."""
    import os

    from classifiers.category_eval import evaluate_category, read_rows
    from classifiers.encoder import MiniLMEncoder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    encoder = MiniLMEncoder()
    _emit(evaluate_category(read_rows(train), read_rows(data), encoder.encode))


@eval_app.command("sentiment")
def eval_sentiment(
    data: DataOption,
    baseline: Annotated[str, typer.Option(help="'vader' adds VADER's figures")] = "",
    model: Path = DEFAULT_MODEL,
    backend: BackendOption = "onnx",
) -> None:
    """Macro recall, macro F1, accuracy and speed of the sentiment head."""
    from classifiers.evaluate import evaluate_head, vader_baseline

    result = evaluate_head("sentiment", data, model, _onnx_cache(backend))
    if baseline == "vader":
        result["baseline"] = vader_baseline(data)
    elif baseline:
        raise typer.BadParameter("the only baseline is 'vader'")
    _emit(result)


@eval_app.command("abuse")
def eval_abuse(
    data: DataOption, model: Path = DEFAULT_MODEL, backend: BackendOption = "onnx"
) -> None:
    """Macro F1, accuracy and speed of the abuse head."""
    from classifiers.evaluate import evaluate_head

    _emit(evaluate_head("abuse", data, model, _onnx_cache(backend)))


@eval_app.command("faq")
def eval_faq(
    kb: Annotated[Path, typer.Option(exists=True, dir_okay=False,
                                     help="knowledge base JSONL: {text: example question, "
                                          "label: entry id, or 'oos' for must-escalate}")],
    data: DataOption,
    threshold: Annotated[float | None, typer.Option(help=r"default: \[faq].threshold")] = None,
    margin: Annotated[float | None, typer.Option(help=r"default: \[faq].margin")] = None,
    min_similarity: Annotated[float | None,
                              typer.Option(help=r"default: \[faq].min_similarity")] = None,
    backend: BackendOption = "onnx",
) -> None:
    r"""In-scope accuracy, out-of-scope recall and wrong answers of the FAQ decision the bot runs
    (its \[faq] settings unless overridden), with a TF-IDF baseline measured in the same run."""
    import os

    import numpy as np
    from rich.progress import MofNCompleteColumn

    from classifiers.datasets import read_rows
    from responders.faq_eval import evaluate_faq
    from responders.faq_match import Policy
    from townhall.settings import Settings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    faq = Settings.load().faq
    policy = Policy(
        faq.threshold if threshold is None else threshold,
        faq.margin if margin is None else margin,
        faq.min_similarity if min_similarity is None else min_similarity,
    )
    try:
        kb_rows, data_rows = read_rows(kb), read_rows(data)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    encoder = _minilm(backend)
    with Progress(
        TextColumn("[bold]eval faq[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=console, transient=True,
    ) as progress:
        current = [progress.add_task("starting", total=None)]

        def stage(description: str) -> None:  # one bar per stage; totals are set by `encode`
            progress.update(current[0], visible=False)
            current[0] = progress.add_task(description, total=None)

        def encode(texts: list[str]) -> np.ndarray:
            progress.update(current[0], total=len(texts))
            parts = [encoder.encode([])]
            for start in range(0, len(texts), 256):
                parts.append(encoder.encode(texts[start : start + 256]))
                progress.advance(current[0], len(parts[-1]))
            return np.vstack(parts)

        result = evaluate_faq(kb_rows, data_rows, encode, policy,
                              encoder=f"all-MiniLM-L6-v2 ({backend})", stage=stage)
    _emit(result)


def _minilm(backend: Backend):
    """The FAQ's sentence encoder as the bot runs it (`Models.load`)."""
    from classifiers.encoder import sentence_encoder

    return sentence_encoder(backend, ONNX_CACHE)


def bench_classify(
    n: int = 2000,
    batch_size: Annotated[int, typer.Option(help="largest micro-batch (the bot's default)")] = 64,
    singles: int = 100,
    backend: BackendOption = "onnx",
    data: Annotated[Path | None, typer.Option(help="JSONL with a text field; default: the "
                                              "FAQ's English example questions")] = None,
) -> None:
    """The whole classification pipeline: batched throughput and single-message latency."""
    from classifiers.pipeline import Pipeline
    from responders.faq import load_knowledge_base
    from townhall.models import Models

    if data is not None:
        texts = [json.loads(line)["text"] for line in data.read_text().splitlines() if line]
    else:
        _, entries = load_knowledge_base(Path("config/faq.yaml"))
        texts = [question for entry in entries for question in entry.questions]
    texts = (texts * (n // len(texts) + 1))[:n]
    models = Models.load(backend, ONNX_CACHE)
    pipeline = Pipeline(models.stages(_category_stage(models.encoder)), batch_size=batch_size)
    pipeline.classify_batch(texts[:batch_size])  # warm up
    started = time.perf_counter()
    for start in range(0, n, batch_size):
        pipeline.classify_batch(texts[start : start + batch_size])
    batched = n / (time.perf_counter() - started)
    latencies = []
    for text in texts[:singles]:
        began = time.perf_counter()
        pipeline.classify_batch([text])
        latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    _emit({
        "benchmark": "classify",
        "backend": backend,
        "stages": [stage.name for stage in pipeline.stages],
        "n": n,
        "batch_size": batch_size,
        "msgs_per_s": round(batched, 1),
        "single_p50_ms": round(statistics.median(latencies), 2),
        "single_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
    })


def _category_stage(encoder):
    from classifiers.category import CategoryModel, CategoryStage, load_categories

    categories = load_categories(Path("config/categories.yaml"))
    return CategoryStage(CategoryModel.zero_shot(categories, encoder.encode))
