"""Hostile input for the property-based tests: strings and JSON that real users, broken clients
or an attacker holding a leaked secret can put in front of the bot.

Why one module: the HTTP, parser and markup property tests must agree on what "hostile" means,
and each finding (a NUL byte, a lone surrogate, a right-to-left override, a mention in a
citizen's text) should be tried against every edge at once. Everything here is a Hypothesis
strategy or a plain helper; nothing runs at import time, and only tests import this module.

`hostile_text` keeps to what a platform can really carry (valid Unicode, no surrogates);
`mutated` turns a real payload into something a platform would never send (keys dropped,
values of the wrong type, nesting, huge numbers), which is what the edges must refuse cleanly.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

# Markup, mentions and injections of every platform and every store we use.
SNIPPETS = (
    # SQL and HTML injection
    "'; DROP TABLE messages; --", "1' OR '1'='1", '" OR ""="', "%' AND 1=0 UNION SELECT 1 --",
    "<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "</div><!--", "&amp;&lt;&#0;",
    "{{7*7}}", "${jndi:ldap://x/a}", "%s%s%n", "\\x00", "NULL", "None", "undefined",
    # Slack mrkdwn and mentions: must never ping anyone or format a citizen's words
    "<!channel>", "<!here>", "<!everyone>", "<@U0STAFF001>", "<#C0TRIAGE01>",
    "<!subteam^S0123|@staff>", "<https://evil.example|click me>", "*bold* _it_ ~del~",
    "`code`", "```pre```", "> quote", "&", "<", ">",
    # Telegram MarkdownV2 / HTML: reserved characters and tags
    "_*[]()~`>#+-=|{}.!", "[x](tg://user?id=1)", "||spoiler||", "\\", "<b>b</b>", "<br>",
    "<a href='javascript:alert(1)'>a</a>", "<tg-spoiler>s</tg-spoiler>", "</b>",
    # commands, mentions, links the platforms auto-detect
    "/start", "/status@townhall_bot TH-1", "@townhall_bot", "#hashtag", "https://x.example/a?b=c",
    "mail@city.example", "+1 (555) 010-9999",
    # invisible, bidirectional and combining characters
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u202d", "\u2066",
    "\u2069", "\u200f", "\u061c", "e\u0301\u0302\u0303\u0304", "Z\u0336\u0337\u0338",
    # scripts and emoji (astral, ZWJ sequences, flags, skin tones, keycaps)
    "مرحبا بالعالم", "שלום", "市政厅", "नमस्ते", "🇺🇦", "👨\u200d👩\u200d👧\u200d👦",
    "🏳️\u200d🌈", "👍🏽", "1️⃣", "\U0010fffd",
    "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",  # mathematical "Hello"
    # line and control characters
    "\n", "\r\n", "\t", "\u2028", "\u2029", "\x07", "\x1b[31m", "\x7f",
)  # fmt: skip
# What a flood repeats: one grapheme or markup token, many times.
FLOOD_UNITS = (
    "😀", "👨\u200d👩\u200d👧\u200d👦", "\u200b", "\u202e", "*", "_", "<!here>", "&", "<", "a",
    "\n", " ", "e\u0301", "🇺🇦", "\\", "`",
)  # fmt: skip
# Text limits of the platforms' APIs and of our rendering, for floods that land right on them.
BOUNDARIES = (150, 151, 280, 2000, 2001, 3000, 3001, 4096, 4097, 10_000)


def hostile_pieces() -> st.SearchStrategy[str]:
    """One fragment: a snippet above, arbitrary Unicode, or invisible/format characters."""
    return st.one_of(
        st.sampled_from(SNIPPETS),
        st.text(max_size=12),
        st.text(st.characters(categories=["Cf", "Mn", "Zl", "Zp", "So", "Sk", "Cc"]), max_size=6),
    )


def floods(max_repeat: int = 5000) -> st.SearchStrategy[str]:
    """A unit repeated up to `max_repeat` times, or exactly up to one of the platform limits."""
    repeat = st.one_of(st.integers(1, max_repeat), st.sampled_from(BOUNDARIES))
    return st.builds(lambda unit, n: unit * n, st.sampled_from(FLOOD_UNITS), repeat)


def hostile_text(*, min_size: int = 0, flood: int = 5000) -> st.SearchStrategy[str]:
    """Text a user can really send: valid Unicode with every kind of trouble mixed in."""
    mixed = st.lists(hostile_pieces(), max_size=8).map("".join)
    text = st.one_of(mixed, floods(flood), st.tuples(mixed, floods(flood), mixed).map("".join))
    return text.filter(lambda s: len(s.strip()) >= min_size) if min_size else text


VISIBLE = tuple(s for s in SNIPPETS if s.strip() and s.isprintable())


def visible_hostile_text(flood: int = 5000) -> st.SearchStrategy[str]:
    """Hostile text with at least one visible character, so a platform delivers it at all."""
    return st.tuples(hostile_text(flood=flood), st.sampled_from(VISIBLE)).map("".join)


def wrong_values() -> st.SearchStrategy[Any]:
    """A JSON value of any type, including the awkward ones (huge, negative, NaN, nested)."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.sampled_from([0, -1, 2**63, -(2**63), 2**200]),
        st.floats(allow_nan=True, allow_infinity=True), hostile_pieces(),
    )  # fmt: skip
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


def nested(depth: int) -> Any:
    """A list inside a dict inside a list... `depth` levels deep."""
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) of a JSON value, parents before children."""
    found: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        current = stack.pop()
        items = current.items() if isinstance(current, dict) else enumerate(current)
        for key, child in list(items):
            found.append((current, key))
            if isinstance(child, dict | list) and child:
                stack.append(child)
    return found


@st.composite
def mutated(draw: st.DrawFn, seed: Any, max_mutations: int = 4) -> Any:
    """`seed` (a real payload) with 1 to `max_mutations` random changes: a key dropped, a value
    of the wrong type, a hostile string, deep nesting, or a huge string where a value was."""
    value = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_mutations))):
        slots = _slots(value)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["drop", "wrong", "text", "nest", "huge", "empty"]))
        if action == "drop":
            if isinstance(container, dict):
                del container[key]
            else:
                container.pop(key)
        elif action == "wrong":
            container[key] = draw(wrong_values())
        elif action == "text":
            container[key] = draw(hostile_text(flood=300))
        elif action == "nest":
            container[key] = nested(draw(st.integers(2, 60)))
        elif action == "huge":
            container[key] = draw(floods(20_000))
        else:
            container[key] = draw(st.sampled_from(["", [], {}, 0, None]))
    return value


def json_bytes(value: Any) -> bytes:
    """JSON as a client would send it; NaN/Infinity written as Python's json writes them."""
    return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")


def garbage_bodies() -> st.SearchStrategy[bytes]:
    """Bodies that are not a JSON object: binary, invalid UTF-8, broken or scalar JSON, JSON
    with lone surrogates, absurd nesting and numbers that Python refuses to parse."""
    return st.one_of(
        st.binary(max_size=300),
        st.sampled_from([
            b"", b"{", b"}", b"null", b"true", b"0", b'"text"', b"[]", b"[1, 2]", b"{not json}",
            b"\xff\xfe{}", b'{"a": "\xc3\x28"}', b"\xed\xa0\x80", b'{"a": "\\ud800"}',
            b'{"a": NaN}', b"{'single': 'quotes'}", b"\x00" * 16, b'{"a": 1}{"b": 2}',
            b"1" * 5000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
            b"payload=%7Bbroken", b"payload=%FF%FE", b"payload=null", b"payload=%5B1%5D",
        ]),
        st.text(max_size=200).map(lambda s: s.encode("utf-8")),
        st.binary(min_size=1, max_size=64).map(lambda b: b'{"text": "' + b + b'"}'),
    )  # fmt: skip
