"""FAQ matching with the real encoder over the shipped knowledge base."""

from pathlib import Path

import pytest

from responders.faq import (
    FaqEntry,
    FaqMatcher,
    FaqResponder,
    KnowledgeBaseError,
    load_knowledge_base,
)
from townhall.settings import Settings


@pytest.fixture(scope="module")
def responder(models) -> FaqResponder:
    settings = Settings.load()
    _, entries = load_knowledge_base(settings.faq.path)
    return FaqResponder(
        FaqMatcher(entries, models.encoder.encode),
        threshold=settings.faq.threshold,
        margin=settings.faq.margin,
        min_similarity=settings.faq.min_similarity,
    )


def test_starter_knowledge_base_is_complete() -> None:
    language, entries = load_knowledge_base(Settings.load().faq.path)
    assert language == "en"
    assert len(entries) >= 25
    for entry in entries:
        assert len(entry.questions) >= 5, entry.id
        assert entry.answer_in("es") and entry.answer_in("fr"), entry.id


# Written for this test, not copied from the knowledge base: the matcher must generalise.
PARAPHRASES = [
    ("what day do they take the garbage on my street", "trash-collection-day"),
    ("how can I pay the parking fine I got yesterday", "parking-ticket"),
    ("there is a big hole in the road on Main St", "pothole-report"),
    ("my neighbours play loud music every night", "noise-complaint"),
    ("¿cuándo recogen la basura en mi calle?", "trash-collection-day"),
]

NOT_IN_FAQ = [
    "The bus shelter on 5th Ave has had broken glass everywhere since Monday",
    "Who decided to close the community centre on Oak Street? Nobody asked us",
    "hello",
]


@pytest.mark.parametrize(("text", "entry_id"), PARAPHRASES)
def test_paraphrases_are_answered_from_the_right_entry(
    responder: FaqResponder, models, text: str, entry_id: str
) -> None:
    match = responder.decide(models.encoder.encode([text])[0])
    assert match is not None and match.entry.id == entry_id


@pytest.mark.parametrize("text", NOT_IN_FAQ)
def test_questions_outside_the_faq_are_not_answered(
    responder: FaqResponder, models, text: str
) -> None:
    assert responder.decide(models.encoder.encode([text])[0]) is None


def test_decision_says_why_and_agrees_with_decide(responder: FaqResponder, models) -> None:
    answered = models.encoder.encode([PARAPHRASES[1][0]])[0]
    decision = responder.decision(answered)
    assert decision.action == "answer"
    assert decision.matches == (responder.decide(answered),)
    unknown = responder.decision(models.encoder.encode([NOT_IN_FAQ[0]])[0])
    assert unknown.action == "escalate" and len(unknown.matches) == 3  # suggestions for staff


def test_rank_gives_probabilities_best_first(responder: FaqResponder, models) -> None:
    ranked = responder.matcher.rank(models.encoder.encode([PARAPHRASES[0][0]])[0], top=3)
    assert ranked[0].entry.id == PARAPHRASES[0][1]
    scores = [match.score for match in ranked]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1


def test_an_added_entry_is_answered_after_rebuild(models) -> None:
    _, entries = load_knowledge_base(Settings.load().faq.path)
    settings = Settings.load().faq
    matcher = FaqMatcher(entries, models.encoder.encode)
    responder = FaqResponder(matcher, threshold=settings.threshold, margin=settings.margin)
    message = models.encoder.encode(["can I keep bees in my back garden"])[0]
    assert responder.decide(message) is None
    bees = FaqEntry(
        id="beekeeping",
        questions=("Am I allowed to keep bees?", "beehive rules", "backyard beekeeping permit"),
        answer="Up to two hives are allowed in a back yard: https://city.example/bees.",
    )
    matcher.rebuild([*entries, bees])
    match = responder.decide(message)
    assert match is not None and match.entry.id == "beekeeping"


def test_answer_language(responder: FaqResponder) -> None:
    entry = responder.matcher.entries[0]
    assert responder.render(entry, "es") == entry.answer_in("es")
    assert responder.render(entry, "en") == entry.answer
    german = responder.render(entry, "de")
    assert german.startswith(entry.answer) and "English" in german


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("entries: [", "faq.yaml"),
        ("just text", "'entries' list"),
        ("entries:\n  - id: a\n    questions: [q]\n", "missing answer"),
        (
            "entries:\n  - {id: a, questions: [q], answer: x}\n  - {id: a, questions: [q], "
            "answer: y}\n",
            "duplicate id 'a'",
        ),
    ],
)
def test_malformed_knowledge_base_fails_clearly(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text(content)
    with pytest.raises(KnowledgeBaseError, match=message):
        load_knowledge_base(path)
