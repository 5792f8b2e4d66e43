"""Language identification and the micro-batching pipeline, with the real models."""

import asyncio

import numpy as np
import pytest

from classifiers.pipeline import Pipeline


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("When is the trash collected on my street?", "en"),
        ("¿Cuándo recogen la basura en mi calle?", "es"),
        ("Quand passe le camion des ordures dans ma rue ?", "fr"),
        ("ok", "und"),
        ("🚧🚧🚧", "und"),
    ],
)
def test_language(models, text: str, language: str) -> None:
    assert models.language.detect(text)[0] == language


def test_embeddings_are_unit_length_and_meaningful(models) -> None:
    vectors = models.encoder.encode(
        ["When is my garbage picked up?", "What day is trash collection?", "Pay a parking fine"]
    )
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


async def test_concurrent_callers_get_their_own_results(models) -> None:
    pipeline = Pipeline([models.language, models.encoder], batch_size=8)
    texts = [f"Message number {i} about potholes" for i in range(20)] + ["Bonjour, la mairie ?"]
    try:
        results = await asyncio.gather(*(pipeline.classify(t) for t in texts))
    finally:
        await pipeline.close()
    expected = models.encoder.encode(texts)
    for result, vector in zip(results, expected, strict=True):
        assert np.allclose(result.embedding, vector, atol=1e-4)
    assert results[-1].language == "fr"


async def test_a_failing_stage_fails_its_callers_not_the_pipeline(models) -> None:
    class Broken:
        name = "broken"

        def classify(self, texts, results):
            if any("boom" in t for t in texts):
                raise ValueError("stage failed")

    pipeline = Pipeline([Broken()])
    try:
        with pytest.raises(ValueError, match="stage failed"):
            await pipeline.classify("boom")
        assert (await pipeline.classify("fine")).language == "und"
    finally:
        await pipeline.close()
