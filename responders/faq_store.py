"""FAQ entries added at run time (from Slack, or imported from a file), and answer feedback.

`config/faq.yaml` is the reviewed starting point and is never written at run time; what staff add
lives in the database, so it survives restarts and every replica sees it. The two are merged by id
with the database winning, so an imported file can also correct a configured entry without a
deployment. Everything here is a plain function on a `Session`: the callers decide the
transaction (`Database.run`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import JSON, Column, Text, UniqueConstraint, case, func
from sqlmodel import Field, Session, SQLModel, col, select

from responders.faq import FaqEntry
from townhall.db import insert_or_ignore
from townhall.domain import FieldError, utcnow

ENTRY_ID = re.compile(r"[a-z0-9-]+")
MAX_ID = 64
MAX_ANSWER = 2000
MAX_CATEGORY = 32
MAX_LANGUAGE = 8
# A slug made from a citizen's message stops at a word boundary before this length: long enough
# to say what the entry is about, short enough to type and to read in statistics.
SLUG_LENGTH = 48

Source = Literal["slack", "import"]
Outcome = Literal["added", "updated", "unchanged"]


class FaqRecord(SQLModel, table=True):
    """One FAQ entry added at run time; `source` says how it came (a Slack form or an import)."""

    __tablename__ = "faq_entries"

    id: str = Field(primary_key=True, max_length=MAX_ID)
    questions: list[str] = Field(sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(default="other", max_length=MAX_CATEGORY)
    escalate: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    translations: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    source: str = Field(max_length=16)
    created_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def to_entry(self) -> FaqEntry:
        return FaqEntry(
            id=self.id,
            questions=tuple(self.questions),
            answer=self.answer,
            category=self.category,
            escalate=self.escalate,
            translations=dict(self.translations),
        )


class FaqFeedback(SQLModel, table=True):
    """A citizen's "Did this help?" on one FAQ answer. `message_id` is the citizen's message that
    was answered, unique so that pressing the button twice counts once."""

    __tablename__ = "faq_feedback"
    __table_args__ = (UniqueConstraint("message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(max_length=MAX_ID, index=True)
    citizen_id: int = Field(foreign_key="citizens.id")
    message_id: int = Field(foreign_key="messages.id")
    helpful: bool
    created_at: datetime = Field(default_factory=utcnow)


# --- validation -------------------------------------------------------------------------------


def slugify(text: str, limit: int = SLUG_LENGTH) -> str:
    """An entry id made from a question: `When is trash day?` -> `when-is-trash-day`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug


def _clean_texts(values: Iterable[object]) -> tuple[str, ...]:
    """Stripped, non-empty, each once, in their order."""
    return tuple(dict.fromkeys(t for t in (str(v).strip() for v in values) if t))


def _check_answer(answer: str, where: str = "") -> None:
    if not answer:
        raise FieldError("answer", f"The answer{where} is empty.")
    if len(answer) > MAX_ANSWER:
        raise FieldError(
            "answer",
            f"The answer{where} has {len(answer)} characters; keep it under {MAX_ANSWER + 1}.",
        )


def _clean_translations(translations: dict[str, Any]) -> dict[str, dict[str, object]]:
    cleaned: dict[str, dict[str, object]] = {}
    for language, raw in translations.items():
        where = f" in {language!r}"
        if not isinstance(raw, dict) or len(str(language)) > MAX_LANGUAGE:
            raise FieldError("answer", f"The translation{where} must be a mapping per language.")
        item: dict[str, object] = {}
        questions = raw.get("questions") or []
        if not isinstance(questions, list):
            raise FieldError("question", f"The questions{where} must be a list.")
        if questions:
            item["questions"] = list(_clean_texts(questions))
        if raw.get("answer") is not None:
            answer = str(raw["answer"]).strip()
            _check_answer(answer, where)
            item["answer"] = answer
        cleaned[str(language)] = item
    return cleaned


def validate_entry(entry: FaqEntry) -> FaqEntry:
    """The entry with its texts tidied, or `FieldError` (a ValueError) saying what is wrong.

    The rules are what the rest of the system relies on: ids are slugs (they appear in case
    statistics and in YAML), there is at least one example question to match, and an answer fits
    in one chat message.
    """
    entry_id = entry.id.strip()
    if not entry_id:
        raise FieldError("id", "The id is empty.")
    if len(entry_id) > MAX_ID or not ENTRY_ID.fullmatch(entry_id):
        raise FieldError(
            "id",
            f"The id {entry_id[:80]!r} must be 1 to {MAX_ID} lowercase letters, digits or "
            "hyphens, e.g. `bus-shelter-repair`.",
        )
    questions = _clean_texts(entry.questions)
    if not questions:
        raise FieldError("question", "The question is empty.")
    answer = entry.answer.strip()
    _check_answer(answer)
    category = entry.category.strip() or "other"
    if len(category) > MAX_CATEGORY:
        raise FieldError("category", f"The category {category!r} is longer than {MAX_CATEGORY}.")
    return replace(
        entry,
        id=entry_id,
        questions=questions,
        answer=answer,
        category=category,
        translations=_clean_translations(entry.translations),
    )


def canonical(entry: FaqEntry) -> FaqEntry:
    """An entry in validated form if it can be, else as it is: for comparing entries."""
    try:
        return validate_entry(entry)
    except FieldError:
        return entry


# --- entries ----------------------------------------------------------------------------------


def load_entries(session: Session) -> list[FaqEntry]:
    """The database's entries, oldest first (the order a merged knowledge base lists them)."""
    records = session.exec(
        select(FaqRecord).order_by(col(FaqRecord.created_at), col(FaqRecord.id))
    ).all()
    return [record.to_entry() for record in records]


def upsert_entry(
    session: Session, entry: FaqEntry, *, source: Source, staff_id: str = ""
) -> Outcome:
    """Store a validated entry under its id; says whether that added, changed or did nothing.

    An update keeps who created the entry and when; `source` becomes that of the latest write.
    """
    entry = validate_entry(entry)
    record = session.get(FaqRecord, entry.id)
    outcome: Outcome = "updated"
    if record is None:
        record = FaqRecord(id=entry.id, questions=[], answer="", source=source,
                           created_by=staff_id)
        outcome = "added"
    elif record.to_entry() == entry:
        return "unchanged"
    record.questions = list(entry.questions)
    record.answer = entry.answer
    record.category = entry.category
    record.escalate = entry.escalate
    record.translations = dict(entry.translations)
    record.source = source
    record.updated_at = utcnow()
    session.add(record)
    session.flush()
    return outcome


def merge_entries(
    configured: Iterable[FaqEntry], stored: Iterable[FaqEntry]
) -> list[FaqEntry]:
    """One knowledge base: configured entries in file order, a stored entry replacing the one
    with its id, then the stored entries the file does not have."""
    by_id = {entry.id: entry for entry in stored}
    merged = [by_id.pop(entry.id, entry) for entry in configured]
    return merged + list(by_id.values())


# --- feedback ---------------------------------------------------------------------------------


def record_feedback(
    session: Session, *, entry_id: str, citizen_id: int, message_id: int, helpful: bool
) -> bool:
    """Count one "Did this help?" answer; False if that message's answer was already rated."""
    values = {
        "entry_id": entry_id, "citizen_id": citizen_id, "message_id": message_id,
        "helpful": helpful, "created_at": utcnow(),
    }
    return insert_or_ignore(session, FaqFeedback, values, ["message_id"])


def feedback_counts(session: Session) -> dict[str, tuple[int, int]]:
    """entry id -> (helpful, not helpful) over all feedback."""
    yes = func.sum(case((col(FaqFeedback.helpful), 1), else_=0))
    no = func.sum(case((col(FaqFeedback.helpful), 0), else_=1))
    rows = session.exec(
        select(FaqFeedback.entry_id, yes, no).group_by(col(FaqFeedback.entry_id))
    ).all()
    return {entry_id: (int(y or 0), int(n or 0)) for entry_id, y, n in rows}
