"""Word TF-IDF features for the trained category model, storable as two plain arrays.

Why words next to sentence embeddings: embeddings generalise to new wording and new incidents,
but blur the exact terms that decide a category ("hydrant", "pothole", "donate"); on both dev
splits the two together beat either alone. Why not a pickled TfidfVectorizer: the artifact must
load without running code, so only the vocabulary and idf weights are stored and the transform
(word 1-2 grams, sublinear tf, idf, L2 norm: TfidfVectorizer's settings) is rebuilt from them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

NGRAMS = (1, 2)
MIN_DF = 2  # a word seen once says more about that message than about its category


class TextFeatures:
    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray):
        if len(vocabulary) != len(idf):
            raise ValueError(f"{len(vocabulary)} terms but {len(idf)} idf weights")
        self.vocabulary = [str(term) for term in vocabulary]
        self.idf = np.asarray(idf, dtype=np.float64)
        self._counter = CountVectorizer(
            ngram_range=NGRAMS, vocabulary={term: i for i, term in enumerate(self.vocabulary)}
        )

    def __len__(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def fit(cls, texts: Sequence[str], min_df: int = MIN_DF) -> TextFeatures | None:
        """Learn vocabulary and idf; None when the texts have no usable words at all."""
        for threshold in dict.fromkeys((min_df, 1)):
            vectorizer = TfidfVectorizer(ngram_range=NGRAMS, sublinear_tf=True, min_df=threshold)
            try:
                vectorizer.fit(list(texts))
            except ValueError:  # nothing left after pruning (or no words): try without pruning
                continue
            terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            return cls(terms, vectorizer.idf_)
        return None

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        counts = self._counter.transform(list(texts)).astype(np.float64).tocsr()
        counts.data = 1.0 + np.log(counts.data)
        return normalize(counts @ sp.diags(self.idf), norm="l2", copy=False).tocsr()

    def combine(self, texts: Sequence[str], embeddings: np.ndarray) -> sp.csr_matrix:
        """[TF-IDF | embedding] rows: the trained model's input."""
        return sp.hstack([self.transform(texts), sp.csr_matrix(embeddings)], format="csr")
