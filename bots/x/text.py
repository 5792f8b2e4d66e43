"""Counting and cutting text the way X does, and the rule for what goes by direct message.

X limits a post to 280 *weighted* characters (twitter-text v3): most Latin, Greek, Cyrillic and
Hebrew/Arabic letters and common punctuation weigh 1, everything else (CJK, emoji) weighs 2, and
every link counts as 23 whatever its length, because X shortens it to a t.co link. We count a
little conservatively where twitter-text is subtle (an emoji built of several code points counts
each of them, and a bare `name.tld` word counts at least 23, as X may link it), so a post we
think fits always fits.
"""

from __future__ import annotations

import re
import unicodedata

MAX_POST_WEIGHT = 280
MAX_DM_LENGTH = 10_000
URL_WEIGHT = 23

# code point ranges of weight 1 (twitter-text v3 config); everything else weighs 2
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://[^\s]+|www\.[^\s]+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(r"\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?:/[^\s]*)?", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
# a phone number: 9 or more digits, with the usual separators (a date has 8 at most)
_PHONE = re.compile(r"(?<![\w/])\+?\(?\d[\d\s().-]{7,}\d(?![\w/])")


def _char_weight(char: str) -> int:
    point = ord(char)
    return 1 if any(low <= point <= high for low, high in _LIGHT_RANGES) else 2


def _plain_weight(text: str) -> int:
    weight = 0
    last = 0
    for match in _BARE_DOMAIN.finditer(text):
        weight += sum(map(_char_weight, text[last : match.start()]))
        weight += max(URL_WEIGHT, sum(map(_char_weight, match.group())))
        last = match.end()
    return weight + sum(map(_char_weight, text[last:]))


def weighted_length(text: str) -> int:
    """The length X counts for `text` (at least; see the module docstring)."""
    text = unicodedata.normalize("NFC", text)
    weight = 0
    last = 0
    for match in _URL.finditer(text):
        weight += _plain_weight(text[last : match.start()]) + URL_WEIGHT
        last = match.end()
    return weight + _plain_weight(text[last:])


def _longest_prefix(text: str, limit: int) -> int:
    """The longest prefix (in characters) of `text` whose weighted length is within `limit`.

    The weighted length of a prefix never decreases as it grows, so a binary search finds it.
    """
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if weighted_length(text[:middle].rstrip()) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_post(text: str, limit: int = MAX_POST_WEIGHT) -> list[str]:
    """Cut a text into posts of at most `limit` weighted characters, for a reply thread.

    Cuts fall at a paragraph, a line, a sentence or a word boundary when one exists in the
    second half of the post (never inside a link), else the word is cut.
    """
    parts: list[str] = []
    text = text.strip()
    while weighted_length(text) > limit:
        end = _longest_prefix(text, limit)
        floor = end // 2
        cut = -1
        for separator in ("\n\n", "\n", ". ", " "):
            found = text.rfind(separator, floor, end + 1)
            if found >= floor:
                cut = found + (1 if separator == ". " else 0)
                break
        if cut <= 0:
            cut = max(end, 1)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def has_personal_details(text: str) -> bool:
    """Whether a reply holds details that should not be posted publicly.

    The rule is deliberately simple and explainable: an e-mail address or a phone number
    (9+ digits). Staff who write one in a reply to a citizen on X mean it for that citizen.
    """
    if _EMAIL.search(text):
        return True
    return any(sum(c.isdigit() for c in m.group()) >= 9 for m in _PHONE.finditer(text))
