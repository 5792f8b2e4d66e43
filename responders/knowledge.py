"""The knowledge base the bot answers from: `config/faq.yaml` merged with the database's entries.

One object owns both halves so that every reader (the FAQ matcher, the escalation suggestions,
`townhall faq export`) sees the same merged list, and so that a change made from Slack reaches
them at once: `add`, `import_file` and `reload` call every `on_change` listener with the new list
(the FAQ matcher rebuilds itself there, so the next citizen already gets the new answer).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from responders.faq import FaqEntry, KnowledgeBaseError, load_knowledge_base
from responders.faq_store import (
    FaqRecord,
    canonical,
    load_entries,
    merge_entries,
    upsert_entry,
    validate_entry,
)
from townhall.db import Database
from townhall.domain import FieldError

log = logging.getLogger(__name__)

Listener = Callable[[list[FaqEntry]], Awaitable[None] | None]


@dataclass(frozen=True)
class ImportResult:
    """What `import_file` did; `unchanged` counts entries already stored or configured as-is."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


class KnowledgeBase:
    """The configured entries (read-only at run time) plus the stored ones, merged by id."""

    def __init__(
        self,
        db: Database,
        path: Path,
        *,
        default_language: str = "en",
        configured: list[FaqEntry] | None = None,
        stored: list[FaqEntry] | None = None,
    ):
        self.db = db
        self.path = Path(path)
        self.default_language = default_language
        self._configured = list(configured or [])
        self._stored = list(stored or [])
        self._merged = merge_entries(self._configured, self._stored)
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()  # one change at a time, so listeners see them in order

    @classmethod
    def from_file(cls, db: Database, path: Path) -> KnowledgeBase:
        """The configured entries only: the database may not be migrated yet (see `reload`)."""
        default_language, entries = load_knowledge_base(path)
        return cls(db, path, default_language=default_language, configured=entries)

    # --- reading ------------------------------------------------------------------------------

    def entries(self) -> list[FaqEntry]:
        """Every entry, configured ones in file order (a stored one replacing its id), then the
        stored ones the file does not have."""
        return list(self._merged)

    def get(self, entry_id: str) -> FaqEntry | None:
        return next((e for e in self._merged if e.id == entry_id), None)

    def is_configured(self, entry_id: str) -> bool:
        return any(e.id == entry_id for e in self._configured)

    @property
    def stored_ids(self) -> set[str]:
        return {e.id for e in self._stored}

    def on_change(self, callback: Listener) -> None:
        """Call `callback(entries)` after every change. A slow callback delays the staff's
        confirmation in Slack (which must come within 3 s): move heavy work off the loop."""
        self._listeners.append(callback)

    # --- changing -----------------------------------------------------------------------------

    async def add(self, entry: FaqEntry, staff_id: str) -> FaqEntry:
        """Store a new entry written by staff; `FieldError` says what to fix.

        Refuses an id that is already taken: a configured entry is changed by editing the file
        (and reviewed there), and another person's entry is not overwritten by accident. Sending
        the same entry twice (a redelivered form) is not an error.
        """
        entry = validate_entry(entry)
        if self.is_configured(entry.id):
            raise FieldError(
                "id", f"`{entry.id}` is already an entry of {self.path.name}: choose another id."
            )

        def taken() -> FieldError:
            message = f"There is already an FAQ entry `{entry.id}`: choose another id."
            return FieldError("id", message)

        def work(session: Session) -> tuple[str, list[FaqEntry]]:
            existing = session.get(FaqRecord, entry.id)
            if existing is not None and existing.to_entry() != entry:
                raise taken()
            outcome = upsert_entry(session, entry, source="slack", staff_id=staff_id)
            return outcome, load_entries(session)

        async with self._lock:
            try:
                outcome, stored = await self.db.run(work)
            except IntegrityError as exc:  # another replica stored the same id a moment ago
                raise taken() from exc
            await self._changed(self._configured, stored, announce=outcome != "unchanged")
        log.info("faq: %s added entry %s (%s)", staff_id, entry.id, outcome)
        return entry

    async def import_file(self, path: Path) -> ImportResult:
        """Store every entry of a YAML file in the format of `config/faq.yaml` (all or nothing).

        The whole file is checked first; `KnowledgeBaseError` lists every problem with its entry.
        An entry identical to the configured one of the same id is not stored: otherwise it
        would shadow later edits of the file.
        """
        _, entries = load_knowledge_base(path)
        problems: list[str] = []
        valid: list[FaqEntry] = []
        for index, entry in enumerate(entries):
            try:
                valid.append(validate_entry(entry))
            except FieldError as exc:
                problems.append(f"entry {index} ({entry.id}): {exc}")
        if problems:
            raise KnowledgeBaseError(f"{path}: " + "; ".join(problems))
        configured = {e.id: canonical(e) for e in self._configured}
        new = [e for e in valid if configured.get(e.id) != e]

        def work(session: Session) -> tuple[Counter[str], list[FaqEntry]]:
            outcomes = Counter(upsert_entry(session, e, source="import") for e in new)
            return outcomes, load_entries(session)

        async with self._lock:
            outcomes, stored = await self.db.run(work)
            await self._changed(
                self._configured, stored, announce=bool(outcomes["added"] + outcomes["updated"])
            )
        return ImportResult(
            added=outcomes["added"],
            updated=outcomes["updated"],
            unchanged=outcomes["unchanged"] + len(valid) - len(new),
        )

    async def reload(self) -> None:
        """Read the file and the database again (at start, or after another process changed
        them). On a malformed file this raises and the knowledge base stays as it was."""
        default_language, configured = await asyncio.to_thread(load_knowledge_base, self.path)
        async with self._lock:
            stored = await self.db.run(load_entries)
            self.default_language = default_language
            await self._changed(configured, stored)

    def load_stored(self) -> None:
        """`reload` for scripts without an event loop (the CLI): the database half, no
        listeners."""
        self._stored = self.db.transact(load_entries)
        self._merged = merge_entries(self._configured, self._stored)

    async def _changed(
        self, configured: list[FaqEntry], stored: list[FaqEntry], *, announce: bool = True
    ) -> None:
        self._configured, self._stored = list(configured), list(stored)
        self._merged = merge_entries(self._configured, self._stored)
        if not announce:
            return
        entries = self.entries()
        for listener in self._listeners:
            try:
                result = listener(entries)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # the change is stored; one broken reader must not undo it
                log.exception("faq: a knowledge-base listener failed")

    # --- export -------------------------------------------------------------------------------

    def to_yaml(self) -> str:
        """The merged knowledge base in the format of `config/faq.yaml`."""
        stored = self.stored_ids
        header = (
            f"# Townhall knowledge base, exported {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by "
            "`townhall faq export`:\n"
            f"# {self.path} merged with {len(stored)} entries from the database "
            "(added from Slack or imported).\n"
            "# Review it; it can replace the configured file or be loaded with "
            "`townhall faq import`.\n"
        )
        return header + entries_to_yaml(self.default_language, self._merged)

    def export(self, path: Path) -> int:
        """Write `to_yaml()` to `path` (atomically: a reader never sees half a file); returns
        the number of entries written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(self.to_yaml(), encoding="utf-8")
        os.replace(partial, path)
        return len(self._merged)


def entries_to_yaml(default_language: str, entries: list[FaqEntry]) -> str:
    """Entries as a document `load_knowledge_base` reads back to the same entries."""
    document = {
        "version": 1,
        "default_language": default_language,
        "entries": [_entry_dict(e) for e in entries],
    }
    return yaml.dump(document, Dumper=_FaqDumper, sort_keys=False, allow_unicode=True, width=88)


class _FaqDumper(yaml.SafeDumper):
    """Writes YAML the way config/faq.yaml is written by hand: list items indented under their
    key, long answers as folded blocks (`>-`) and answers with line breaks as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else ">" if len(value) > 80 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_FaqDumper.add_representer(str, _represent_text)


def _entry_dict(entry: FaqEntry) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": entry.id,
        "category": entry.category,
        "questions": list(entry.questions),
        "answer": entry.answer,
    }
    if entry.escalate:
        data["escalate"] = True
    if entry.translations:
        data["translations"] = {
            language: dict(item) for language, item in entry.translations.items()
        }
    return data
