"""Personal details out of text that staff or managers read beyond the case itself.

Alert examples and digest quotes show what citizens wrote to people who do not need to know
how to reach them: e-mail addresses, phone numbers and @handles are replaced by a marker. A
name typed inside a message ("I'm Jo Smith from ...") cannot be recognised reliably and stays.
`redact_personal` also removes street addresses (for logs). The patterns are deliberately broad
(a false positive costs a digit string, a miss costs someone's number).
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 7+ digits: an optional +country, an optional (area code), then digits with single spaces,
# dots or dashes between them
# (not after ":" or ".": times and durations such as 0:00:00.600000 are not phone numbers)
PHONE = re.compile(r"(?<![\w/:.])\+?(?:\(\d{1,5}\)\s?)?\d(?:[\s.-]?\d){5,}(?![\w/])")
HANDLE = re.compile(r"(?<![\w@])@\w{2,}")
SPACES = re.compile(r"\s+")
# a house number then one to four words ending in a street type: "12 Elm St", "1600 Pennsylvania
# Avenue NW"; in English, as most of the city's streets are written
STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][\w'.-]*\s+){1,4}"
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Ln|Lane|Dr|Drive|Way|Ct|Court|Pl|Place|"
    r"Ter|Terrace|Sq|Square|Hwy|Highway|Pkwy|Parkway)\b\.?"
)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def redact(text: str) -> str:
    """The text on one line with e-mail addresses, phone numbers and @handles replaced."""
    text = EMAIL.sub("[email]", text)
    text = PHONE.sub(_phone, text)
    text = HANDLE.sub("@[user]", text)
    return SPACES.sub(" ", text).strip()


def redact_personal(text: str) -> str:
    """`redact`, and street addresses too: for logs and, when a city asks, staff cards."""
    return STREET.sub("[address]", redact(text))


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    if _digits(found) < 7 or DATE.fullmatch(found.strip()):
        return found
    return "[phone]"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
