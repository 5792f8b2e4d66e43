"""Staff corrections retrain the category model, which is replaced only if it is not worse.

A scheduled job (weekly by default) looks at the category corrections made since the current
model was trained. With enough of them it trains a candidate on the categories' seed examples plus
four fifths of all corrections, and compares candidate and current model on the held-out fifth
(and on an optional labelled validation file). The candidate replaces the running model only if
its macro-F1 there is at least the current one's; either way the comparison is logged and
announced to staff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from classifiers.category import Category, CategoryModel, CategoryStage
from classifiers.metrics import scores
from listening.models import Message
from responders.models import Correction
from townhall.db import Database

log = logging.getLogger(__name__)

Encode = Callable[[list[str]], object]
Announce = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class LabelledText:
    id: int
    text: str
    label: str
    created_at: datetime


def category_corrections(session: Session) -> list[LabelledText]:
    """The latest category correction of each message, with the message's text."""
    rows = session.exec(
        select(Correction.id, Message.text, Correction.value, Correction.created_at, Message.id)
        .join(Message, col(Message.id) == Correction.message_id)
        .where(Correction.kind == "category")
        .order_by(col(Correction.id))
    ).all()
    latest: dict[int, LabelledText] = {}
    for correction_id, text, value, created_at, message_id in rows:
        latest[message_id] = LabelledText(correction_id, text, value, created_at)
    return list(latest.values())


def next_version_dir(models_dir: Path, name: str = "category") -> Path:
    versions = [
        int(p.name.rsplit("-v", 1)[1])
        for p in models_dir.glob(f"{name}-v*")
        if p.name.rsplit("-v", 1)[1].isdigit()
    ]
    return models_dir / f"{name}-v{max(versions, default=0) + 1}"


def latest_model_dir(models_dir: Path, name: str = "category") -> Path | None:
    candidates = [p for p in models_dir.glob(f"{name}-v*") if (p / "model_card.json").exists()]
    if not candidates:
        return None
    return max(candidates, key=lambda p: int(p.name.rsplit("-v", 1)[1]))


class CategoryRetrainer:
    def __init__(
        self,
        *,
        db: Database,
        stage: CategoryStage,
        categories: list[Category],
        encode: Encode,
        models_dir: Path,
        min_corrections: int,
        announce: Announce | None = None,
        validation: list[tuple[str, str]] | None = None,
        trained_at: datetime | None = None,
    ):
        self.db = db
        self.stage = stage
        self.categories = categories
        self.encode = encode
        self.models_dir = models_dir
        self.min_corrections = min_corrections
        self.announce = announce
        self.validation = validation or []
        self.trained_at = trained_at  # of the running model; None for the zero-shot one

    async def run(self) -> dict[str, object]:
        corrections = await self.db.run(category_corrections)
        since = self.trained_at
        fresh = [c for c in corrections if since is None or c.created_at > since]
        if len(fresh) < self.min_corrections:
            return {"retrained": False, "new_corrections": len(fresh),
                    "reason": f"fewer than {self.min_corrections} new corrections"}
        report = await asyncio.to_thread(self._train_and_compare, corrections)
        message = (
            f"Category model: {report['corrections']} staff corrections, macro-F1 on held-out "
            f"corrections {report['current_macro_f1']:.3f} (current) vs "
            f"{report['candidate_macro_f1']:.3f} (retrained): "
            + (f"switched to {report['model']}" if report["kept"] else "kept the current model")
        )
        log.info(message)
        if self.announce is not None:
            await self.announce(message)
        return {"retrained": True, **report}

    def _train_and_compare(self, corrections: list[LabelledText]) -> dict[str, object]:
        held_out = [c for c in corrections if c.id % 5 == 0]
        train = [c for c in corrections if c.id % 5 != 0]
        texts = [c.text for c in train]
        labels = [c.label for c in train]
        candidate = CategoryModel.train(texts, labels, self.encode, categories=self.categories)
        check = [(c.text, c.label) for c in held_out] + list(self.validation)
        current_f1 = candidate_f1 = 0.0
        if check:
            check_texts = [text for text, _ in check]
            embeddings = self.encode(check_texts)
            truth = [label for _, label in check]
            names = sorted(set(truth) | set(candidate.labels))
            index = {name: i for i, name in enumerate(names)}

            def f1(model: CategoryModel) -> float:
                predicted = [index.get(p, -1) for p in model.predict(embeddings, check_texts)]
                return scores([index[t] for t in truth], predicted)["macro_f1"]

            current_f1, candidate_f1 = f1(self.stage.model), f1(candidate)
        kept = candidate_f1 >= current_f1
        out = next_version_dir(self.models_dir)
        report = {
            "corrections": len(corrections),
            "held_out": len(held_out),
            "current_model": f"{self.stage.model.name}-v{self.stage.model.version}",
            "current_macro_f1": round(current_f1, 4),
            "candidate_macro_f1": round(candidate_f1, 4),
            "kept": kept,
            "model": out.name if kept else f"{self.stage.model.name}-v{self.stage.model.version}",
        }
        if kept:
            now = datetime.now(UTC)
            candidate.name, candidate.version = out.name.rsplit("-v", 1)
            candidate.save(out, {
                "trained_at": now.isoformat(timespec="seconds"),
                "data": {"corrections": len(train), "seed_examples": True},
                "comparison": report,
            })
            self.stage.model = CategoryModel.load(out)
            self.trained_at = now
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with open(self.models_dir / "retraining.log", "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"at": datetime.now(UTC).isoformat(), **report}) + "\n")
        return report


def trained_at_of(directory: Path | None) -> datetime | None:
    """When the artifact in `directory` was trained (its model card says)."""
    if directory is None:
        return None
    card = json.loads((directory / "model_card.json").read_text())
    return datetime.fromisoformat(card["trained_at"]) if card.get("trained_at") else None
