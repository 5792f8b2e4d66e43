"""Sentiment for messages that are not English, through the multilingual encoder."""

from classifiers.multilingual import DEFAULT_MODEL, MultilingualSentimentStage
from townhall.domain import Classification


def test_only_non_english_messages_are_relabelled(models) -> None:
    stage: MultilingualSentimentStage = models.multilingual
    texts = [
        "¡Muchas gracias! El parque nuevo es precioso, me encanta.",
        "C'est scandaleux, personne ne répond et rien n'est réparé depuis des mois.",
        "The new park is lovely, thank you!",
    ]
    results = [Classification(language=lang) for lang in ("es", "fr", "en")]
    results[2].labels["sentiment"] = "positive"
    results[2].models["sentiment"] = "tweet-v1"
    stage.classify(texts, results)
    assert results[0].labels["sentiment"] == "positive"
    assert results[1].labels["sentiment"] == "negative"
    assert results[0].models["sentiment"] == stage.model_id == "sentiment-multilingual-v1"
    assert results[2].models["sentiment"] == "tweet-v1"  # English stays with the tweet model
    assert (DEFAULT_MODEL / "head.npz").stat().st_size < 100_000
