"""FAQ entries staff add at run time: validation, storage, merging with the file, export/import
and answer feedback, on both databases."""

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from listening.ingest import store_event
from responders.faq import FaqEntry, KnowledgeBaseError, load_knowledge_base
from responders.faq_store import (
    FaqRecord,
    Source,
    feedback_counts,
    load_entries,
    merge_entries,
    record_feedback,
    slugify,
    upsert_entry,
    validate_entry,
)
from responders.knowledge import ImportResult, KnowledgeBase, entries_to_yaml
from townhall.db import Database
from townhall.domain import Address, FieldError, InboundMessage, Sender, utcnow

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {
    "version": 1,
    "default_language": "en",
    "entries": [
        {
            "id": "trash-day", "category": "waste_recycling",
            "questions": ["When is trash day?", "garbage pickup day"],
            "answer": "Trash goes out on your street's day: https://city.example/collection.",
            "translations": {"es": {"questions": ["¿Qué día pasa la basura?"],
                                    "answer": "Consulte su día en https://city.example."}},
        },
        {
            "id": "talk-to-a-person", "category": "other", "escalate": True,
            "questions": ["I want to talk to a person"], "answer": "Passing you to our staff.",
        },
    ],
}
BUS = FaqEntry(
    id="bus-shelter-glass", questions=("Broken glass at the bus shelter",),
    answer="A crew cleans bus shelters within a day of a report.", category="transport",
)


@pytest.fixture
def faq_file(tmp_path: Path) -> Path:
    path = tmp_path / "faq.yaml"
    path.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    return path


def _entry(
    entry_id: str = "bus-shelter-glass", question: str = "q?", answer: str = "a."
) -> FaqEntry:
    return FaqEntry(id=entry_id, questions=(question,), answer=answer)


def test_slugs_and_validation_say_what_to_fix() -> None:
    assert slugify("When is my trash picked up?") == "when-is-my-trash-picked-up"
    assert slugify("¿Dónde está el ayuntamiento?") == "donde-esta-el-ayuntamiento"
    long = slugify("The bus shelter on 5th Ave has had broken glass everywhere since Monday")
    assert len(long) <= 48 and not long.endswith("-") and long.startswith("the-bus-shelter")
    assert slugify("!!!") == ""

    tidy = validate_entry(FaqEntry("ok-1", ("  q?  ", "", "q?"), "  a.  ", category=""))
    assert (tidy.questions, tidy.answer, tidy.category) == (("q?",), "a.", "other")

    cases = [
        (_entry("Bus Shelter"), "id", "lowercase letters"),
        (_entry("a" * 65), "id", "64"),
        (_entry(""), "id", "empty"),
        (_entry(question="   "), "question", "question is empty"),
        (_entry(answer=" "), "answer", "answer is empty"),
        (_entry(answer="x" * 2001), "answer", "2001 characters"),
    ]
    for entry, field, message in cases:
        with pytest.raises(FieldError, match=message) as error:
            validate_entry(entry)
        assert error.value.field == field
        assert isinstance(error.value, ValueError)


def test_merging_keeps_file_order_and_the_database_wins() -> None:
    a, b = _entry("a"), _entry("b")
    b_stored, c = _entry("b", answer="newer."), _entry("c")
    assert merge_entries([a, b], [c, b_stored]) == [a, b_stored, c]
    assert merge_entries([a], []) == [a]


async def test_store_adds_updates_and_keeps_the_creator(db: Database) -> None:
    def upsert(entry: FaqEntry, source: Source, staff_id: str = "") -> str:
        return db.transact(lambda s: upsert_entry(s, entry, source=source, staff_id=staff_id))

    assert upsert(BUS, "slack", "U1") == "added"
    assert upsert(BUS, "import") == "unchanged"
    changed = FaqEntry(BUS.id, BUS.questions, "Crews clean shelters the same day.", "transport")
    assert upsert(changed, "import") == "updated"
    assert db.transact(load_entries) == [changed]
    record = db.transact(lambda s: s.exec(select(FaqRecord)).one())
    assert (record.created_by, record.source) == ("U1", "import")
    assert record.updated_at >= record.created_at
    with pytest.raises(FieldError):
        upsert(_entry("no spaces"), "import")


async def test_staff_entries_are_stored_merged_and_announced(db: Database, faq_file: Path) -> None:
    knowledge = KnowledgeBase.from_file(db, faq_file)
    heard: list[list[str]] = []
    knowledge.on_change(lambda entries: heard.append([e.id for e in entries]))

    async def async_listener(entries: list[FaqEntry]) -> None:
        heard.append(["async", *(e.id for e in entries)])

    knowledge.on_change(async_listener)
    stored = await knowledge.add(BUS, "U0STAFF001")
    assert stored == BUS
    ids = ["trash-day", "talk-to-a-person", "bus-shelter-glass"]
    assert [e.id for e in knowledge.entries()] == ids
    assert heard == [ids, ["async", *ids]]

    with pytest.raises(FieldError, match=r"already an entry of faq\.yaml") as configured:
        await knowledge.add(_entry("trash-day"), "U0STAFF001")
    assert configured.value.field == "id"
    with pytest.raises(FieldError, match="already an FAQ entry"):
        await knowledge.add(_entry("bus-shelter-glass", answer="Someone else's."), "U2")
    await knowledge.add(BUS, "U0STAFF001")  # the same form delivered twice is fine
    with pytest.raises(FieldError, match="question is empty"):
        await knowledge.add(_entry("new-one", question=""), "U0STAFF001")
    assert len(heard) == 2  # refused or repeated changes announce nothing

    # another process (a restart) sees the entry
    again = KnowledgeBase.from_file(db, faq_file)
    assert [e.id for e in again.entries()] == ids[:2]
    await again.reload()
    assert again.entries() == knowledge.entries()
    assert again.get("bus-shelter-glass") == BUS


async def test_a_failing_listener_does_not_undo_the_change(db: Database, faq_file: Path) -> None:
    knowledge = KnowledgeBase.from_file(db, faq_file)

    def broken(entries: list[FaqEntry]) -> None:
        raise RuntimeError("matcher rebuild failed")

    knowledge.on_change(broken)
    await knowledge.add(BUS, "U1")
    assert knowledge.get(BUS.id) == BUS
    assert db.transact(load_entries) == [BUS]


async def test_export_round_trips_and_import_overrides_by_id(
    db: Database, faq_file: Path, tmp_path: Path
) -> None:
    knowledge = KnowledgeBase.from_file(db, faq_file)
    await knowledge.add(BUS, "U1")
    exported = tmp_path / "out" / "faq-export.yaml"
    assert knowledge.export(exported) == 3
    language, entries = load_knowledge_base(exported)
    assert language == "en" and entries == knowledge.entries()
    assert exported.read_text(encoding="utf-8").startswith("# Townhall knowledge base")
    assert "¿Qué día pasa la basura?" in exported.read_text(encoding="utf-8")

    # importing the export again changes nothing, and configured entries are not copied
    assert await knowledge.import_file(exported) == ImportResult(unchanged=3)
    assert db.transact(load_entries) == [BUS]

    data = yaml.safe_load(exported.read_text(encoding="utf-8"))
    data["entries"][0]["answer"] = "Trash day moved: see https://city.example/new."
    data["entries"].append(
        {"id": "dog-licence", "questions": ["How do I license my dog?"],
         "answer": "Online at https://city.example/dogs.", "category": "permits"}
    )
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    heard: list[int] = []
    knowledge.on_change(lambda entries: heard.append(len(entries)))
    result = await knowledge.import_file(changed)
    assert result == ImportResult(added=2, unchanged=2) and result.total == 4
    assert heard == [4]
    merged = knowledge.entries()
    assert [e.id for e in merged] == [
        "trash-day", "talk-to-a-person", "bus-shelter-glass", "dog-licence"
    ]
    assert merged[0].answer.startswith("Trash day moved")  # the database wins, in file order
    assert merged[0].translations == CONFIG["entries"][0]["translations"]
    assert merged[1].escalate
    records = db.transact(lambda s: s.exec(select(FaqRecord.id, FaqRecord.source)).all())
    assert dict(records) == {
        "bus-shelter-glass": "slack", "trash-day": "import", "dog-licence": "import"
    }


async def test_a_malformed_import_stores_nothing(
    db: Database, faq_file: Path, tmp_path: Path
) -> None:
    knowledge = KnowledgeBase.from_file(db, faq_file)
    broken = tmp_path / "broken.yaml"
    broken.write_text("entries: [oops", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError):
        await knowledge.import_file(broken)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        yaml.safe_dump({"entries": [
            {"id": "fine-one", "questions": ["q?"], "answer": "a."},
            {"id": "Not A Slug", "questions": ["q?"], "answer": "a."},
            {"id": "too-long", "questions": ["q?"], "answer": "x" * 2001},
        ]}),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError, match=r"entry 1 \(Not A Slug\).*entry 2 \(too-long\)"):
        await knowledge.import_file(invalid)
    assert db.transact(load_entries) == []
    assert [e.id for e in knowledge.entries()] == ["trash-day", "talk-to-a-person"]


def test_the_starter_knowledge_base_exports_unchanged(db: Database, tmp_path: Path) -> None:
    knowledge = KnowledgeBase.from_file(db, ROOT / "config" / "faq.yaml")
    knowledge.load_stored()
    out = knowledge.export(tmp_path / "faq.yaml")
    language, entries = load_knowledge_base(tmp_path / "faq.yaml")
    assert out == len(entries) and entries == knowledge.entries()
    assert language == knowledge.default_language


texts = st.text(st.characters(exclude_categories=["Cs", "Cc"]) | st.sampled_from("\n :#'\"-"))


@settings(max_examples=150, deadline=None)
@given(
    questions=st.lists(texts, min_size=1, max_size=3),
    answer=texts,
    translation=texts,
    category=st.sampled_from(["other", "yes", "null", "0.5", "waste: recycling"]),
)
def test_any_text_survives_export_and_import(
    questions: list[str], answer: str, translation: str, category: str, tmp_path_factory
) -> None:
    entry = FaqEntry(
        id="any-text", questions=(*questions, "q"), answer=answer + "a", category=category,
        translations={"es": {"questions": ["¿" + translation], "answer": translation + "."}},
    )
    entry = validate_entry(entry)
    path = tmp_path_factory.mktemp("yaml") / "faq.yaml"
    path.write_text(entries_to_yaml("en", [entry]), encoding="utf-8")
    _, [loaded] = load_knowledge_base(path)
    assert validate_entry(loaded) == entry


async def test_feedback_counts_each_answer_once(db: Database) -> None:
    def message(external_id: str, user: str) -> tuple[int, int]:
        event = InboundMessage(
            channel="telegram", external_id=external_id, address=Address("telegram", user),
            sender=Sender(user), text="when is trash day", sent_at=utcnow(),
        )
        stored = db.transact(store_event, event, f"pseudo-{user}")
        return stored.message_id, stored.citizen_id

    (m1, c1), (m2, c2), (m3, c3) = message("1:1", "41"), message("1:2", "42"), message("2:1", "43")

    def rate(message_id: int, citizen_id: int, entry_id: str, helpful: bool) -> bool:
        return db.transact(
            lambda s: record_feedback(
                s, entry_id=entry_id, citizen_id=citizen_id, message_id=message_id,
                helpful=helpful,
            )
        )

    assert rate(m1, c1, "trash-day", True)
    assert not rate(m1, c1, "trash-day", False)  # a double press counts once
    assert rate(m2, c2, "trash-day", False)
    assert rate(m3, c3, "recycling-rules", True)
    assert db.transact(feedback_counts) == {"trash-day": (1, 1), "recycling-rules": (1, 0)}
