"""A short readable label for a group of messages: the words that set it apart.

A term scores by how often the group uses it times how rare it is in the messages around it
(class-based TF-IDF), so "flooding" or "#boulder" win over "city" or "today". Links, mentions,
numbers and stop words are not terms; hashtags keep their `#`, since they are often the best
label there is.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|&\w+;")
_TERM = re.compile(r"#?[^\W\d_][\w'\u2019-]{2,}", re.UNICODE)
STOP = frozenset(ENGLISH_STOP_WORDS) | {"rt", "amp", "via", "just", "like", "don't", "i'm", "it's"}


def terms(text: str) -> set[str]:
    """The distinct terms of one message, lower-cased."""
    found = set()
    for match in _TERM.finditer(_NOISE.sub(" ", text.lower())):
        term = match.group().strip("'\u2019-")
        if len(term) > 2 and term.lstrip("#") not in STOP:
            found.add(term)
    return found


def key_terms(group: list[str], background: list[str], count: int = 4) -> list[str]:
    """The `count` terms that best tell `group` apart from `background` (a sample of the other
    messages of the same period)."""
    in_group = Counter(t for text in group for t in terms(text))
    document_frequency = Counter(t for text in background for t in terms(text))
    documents = max(len(background), 1)
    scored = {
        term: frequency * math.log((documents + 1) / (document_frequency[term] + 1))
        for term, frequency in in_group.items() if frequency > 1 or len(in_group) < count
    }
    best = sorted(scored, key=lambda t: (-scored[t], t))
    return best[:count]


def label(group: list[str], background: list[str], count: int = 4) -> str:
    return " · ".join(key_terms(group, background, count)) or "(no common words)"
