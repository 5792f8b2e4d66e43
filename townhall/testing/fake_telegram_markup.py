"""Text formatting rules of the Bot API, re-implemented for the fake Telegram server.

Why: the real server turns ``parse_mode`` markup into plain text plus ``MessageEntity`` objects,
counts the 4096-character limit *after* that, and rejects malformed markup with
``400 Bad Request: can't parse entities: ...`` (an unescaped ``.`` in MarkdownV2, an unsupported
``<br>`` in HTML). Bots break on exactly these cases, so the fake enforces them too. It also
auto-detects ``bot_command``/``mention``/``hashtag``/``url``/``email`` entities the way Telegram
does for incoming texts (``CommandHandler`` needs the ``bot_command`` entity).

Offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from typing import Any

from townhall.testing.fake_telegram_objects import ApiError, utf16_len

Entity = dict[str, Any]

_V2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_V2_TOGGLES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_KIND_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "text_link": "TextUrl", "custom_emoji": "CustomEmoji", "code": "Code",
    "pre": "Pre",
}  # fmt: skip
_HTML_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "code": "code", "pre": "pre", "blockquote": "blockquote",
}  # fmt: skip
_HTML_OTHER = frozenset({"a", "span", "tg-emoji"})
_TAG_RE = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z_:][-\w:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|"
    r"[^\s>\"']+))?)*)\s*>"
)
_ATTR_RE = re.compile(r"([A-Za-z_:][-\w:.]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_HTML_ENTITY_RE = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|lt|gt|amp|quot);")
_AUTO_PATTERNS = [
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def _fail(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {message}")


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


class _Out:
    """Accumulates plain text and entities while tracking the UTF-16 position."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[Entity] = []

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def add(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:  # Telegram drops empty entities
            self.entities.append(
                {"type": kind, "offset": start, "length": self.pos - start, **extra}
            )

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def parse_formatted(
    text: str, parse_mode: str | None, entities: list[Entity] | None = None
) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (or explicit ``entities``), strip, and auto-detect entities."""
    mode = (parse_mode or "").lower()
    if mode == "markdownv2":
        plain, found = _parse_markdown_v2(text)
    elif mode == "markdown":
        plain, found = _parse_markdown_legacy(text)
    elif mode == "html":
        plain, found = _parse_html(text)
    elif mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
    else:
        plain, found = text, [dict(e) for e in entities or []]
    plain, found = strip_text(plain, found)
    return plain, merge_entities(found, detect_entities(plain))


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    kept: list[Entity] = []
    for ent in entities:
        start = max(ent["offset"] - shift, 0)
        end = min(ent["offset"] + ent["length"] - shift, limit)
        if end > start:
            kept.append({**ent, "offset": start, "length": end - start})
    return stripped, kept


def detect_entities(text: str) -> list[Entity]:
    """Find commands, URLs, e-mails, mentions and hashtags (non-overlapping, leftmost first)."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _AUTO_PATTERNS:
        found.extend((m.start(), m.end(), kind) for m in pattern.finditer(text))
    found.sort(key=lambda t: (t[0], -t[1]))
    result: list[Entity] = []
    taken_until = 0
    for start, end, kind in found:
        if start < taken_until:
            continue
        taken_until = end
        offset = utf16_len(text[:start])
        result.append({"type": kind, "offset": offset, "length": utf16_len(text[start:end])})
    return result


def merge_entities(explicit: list[Entity], auto: list[Entity]) -> list[Entity]:
    """Add auto-detected entities that do not overlap explicit ones (code, links...)."""
    spans = [(e["offset"], e["offset"] + e["length"]) for e in explicit]
    extra = [
        a for a in auto
        if all(a["offset"] + a["length"] <= s or a["offset"] >= e for s, e in spans)
    ]  # fmt: skip
    return sorted(explicit + extra, key=lambda e: (e["offset"], -e["length"]))


def _read_escaped(src: str, i: int, closer: str) -> tuple[str, int] | None:
    """Read up to an unescaped ``closer``; return (content, index after closer) or None."""
    chunk: list[str] = []
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
            chunk.append(src[i + 1])
            i += 2
        elif src.startswith(closer, i):
            return "".join(chunk), i + len(closer)
        else:
            chunk.append(src[i])
            i += 1
    return None


def _code_block(src: str, i: int, out: _Out) -> int:
    """Handle ```pre``` and `code` starting at ``src[i]``; return the index after it."""
    fence = "```" if src.startswith("```", i) else "`"
    found = _read_escaped(src, i + len(fence), fence)
    if found is None:
        kind = "Pre" if fence == "```" else "Code"
        raise _fail(f"Can't find end of {kind} entity at byte offset {_byte_offset(src, i)}")
    content, end = found
    start = out.pos
    if fence == "`":
        out.emit(content)
        out.add("code", start)
        return end
    language = None
    first, newline, rest = content.partition("\n")
    if newline and (not first or not any(ch.isspace() for ch in first)):
        language, content = first or None, rest
    out.emit(content)
    if language:
        out.add("pre", start, language=language)
    else:
        out.add("pre", start)
    return end


def _parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    out = _Out()
    stack: list[tuple[str, int, int]] = []  # (kind, utf16 start, source index)
    quote_start: int | None = None
    line_end = 0
    i, n = 0, len(src)
    at_line_start = True
    while i < n:
        c = src[i]
        if at_line_start:
            at_line_start = False
            if c == ">":
                quote_start = out.pos if quote_start is None else quote_start
                i += 1
                continue
            if quote_start is not None:
                out.entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": line_end - quote_start}
                )
                quote_start = None
        if c == "\n":
            line_end = out.pos
            at_line_start = True
            out.emit(c)
            i += 1
        elif c == "\\":
            escaped = i + 1 < n and 0 < ord(src[i + 1]) <= 126
            out.emit(src[i + 1] if escaped else c)
            i += 2 if escaped else 1
        elif c == "`":
            i = _code_block(src, i, out)
        elif c in "*_~" or src.startswith("||", i):
            token = "__" if src.startswith("__", i) else ("||" if c == "|" else c)
            kind = _V2_TOGGLES[token]
            if stack and stack[-1][0] == kind:
                out.add(kind, stack.pop()[1])
            else:
                stack.append((kind, out.pos, i))
            i += len(token)
        elif c == "[" or src.startswith("![", i):
            stack.append(("text_link" if c == "[" else "custom_emoji", out.pos, i))
            i += 1 if c == "[" else 2
        elif c == "]" and stack and stack[-1][0] in ("text_link", "custom_emoji"):
            kind, start, opened = stack.pop()
            i = _finish_link(src, i + 1, opened, kind, start, out)
        elif c in _V2_RESERVED:
            raise _fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        else:
            out.emit(c)
            i += 1
    if quote_start is not None:
        out.entities.append(
            {"type": "blockquote", "offset": quote_start, "length": out.pos - quote_start}
        )
    if stack:
        kind, _, opened = stack[-1]
        where = _byte_offset(src, opened)
        raise _fail(f"Can't find end of {_KIND_NAMES[kind]} entity at byte offset {where}")
    return out.result()


def _finish_link(src: str, i: int, opened: int, kind: str, start: int, out: _Out) -> int:
    """After ``]``: read ``(url)`` and add a text_link / custom_emoji entity."""
    if i >= len(src) or src[i] != "(":
        if kind == "custom_emoji":
            raise _fail(
                f"Custom emoji entity must contain a tg://emoji URL at byte offset {opened}"
            )
        return i
    found = _read_escaped(src, i + 1, ")")
    if found is None:
        where = _byte_offset(src, opened)
        raise _fail(f"Can't find end of a URL at byte offset {where}")
    url, end = found
    if kind == "custom_emoji":
        match = re.fullmatch(r"tg://emoji\?id=(\d+)", url)
        if not match:
            raise _fail(f"Custom emoji URL must have an emoji identifier at byte offset {opened}")
        out.add("custom_emoji", start, custom_emoji_id=match.group(1))
    elif url:
        out.add("text_link", start, url=url)
    return end


def _parse_markdown_legacy(src: str) -> tuple[str, list[Entity]]:
    out = _Out()
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.emit(src[i + 1])
            i += 2
        elif c == "`":
            i = _code_block(src, i, out)
        elif c in "*_[":
            closer = "]" if c == "[" else c
            end = src.find(closer, i + 1)
            if end < 0:
                where = _byte_offset(src, i)
                raise _fail(f"Can't find end of the entity starting at byte offset {where}")
            start = out.pos
            out.emit(src[i + 1 : end])
            i = end + 1
            if c != "[":
                out.add("bold" if c == "*" else "italic", start)
            elif src.startswith("(", i) and (close := src.find(")", i)) > 0:
                out.add("text_link", start, url=src[i + 1 : close])
                i = close + 1
        else:
            out.emit(c)
            i += 1
    return out.result()


def _parse_html(src: str) -> tuple[str, list[Entity]]:
    out = _Out()
    stack: list[tuple[str, str | None, int, dict[str, Any]]] = []  # (tag, kind, start, extra)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            match = _HTML_ENTITY_RE.match(src, i)
            out.emit(html.unescape(match.group(0)) if match else c)
            i = match.end() if match else i + 1
            continue
        if c != "<":
            out.emit(c)
            i += 1
            continue
        match = _TAG_RE.match(src, i)
        where = _byte_offset(src, i)
        if match is None:
            raise _fail(f"Unexpected end of name token at byte offset {where}")
        closing, tag = match.group(1) == "/", match.group(2).lower()
        i = match.end()
        if closing:
            if not stack:
                raise _fail(f"Unexpected end tag at byte offset {where}")
            open_tag, kind, start, extra = stack.pop()
            if open_tag != tag:
                raise _fail(
                    f'Unmatched end tag at byte offset {where}, expected "</{open_tag}>", '
                    f'found "</{tag}>"'
                )
            if kind:
                out.add(kind, start, **extra)
            continue
        kind, extra = _html_start(tag, _attrs(match.group(3)), where, stack)
        stack.append((tag, kind, out.pos, extra))
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _attrs(raw: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTR_RE.finditer(raw)
    }


def _html_start(
    tag: str, attrs: dict[str, str], where: int, stack: list[tuple[str, str | None, int, Any]]
) -> tuple[str | None, dict[str, Any]]:
    """Map an HTML start tag to (entity kind or None, extra entity fields)."""
    if tag not in _HTML_SIMPLE and tag not in _HTML_OTHER:
        raise _fail(f'Unsupported start tag "{tag}" at byte offset {where}')
    if tag == "a":
        href = attrs.get("href")
        return ("text_link", {"url": href}) if href else (None, {})
    if tag == "span":
        if attrs.get("class") != "tg-spoiler":
            raise _fail(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        return "spoiler", {}
    if tag == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise _fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}')
        return "custom_emoji", {"custom_emoji_id": emoji_id}
    if tag == "blockquote" and "expandable" in attrs:
        return "expandable_blockquote", {}
    language = attrs.get("class", "")
    if tag == "code" and stack and stack[-1][0] == "pre" and language.startswith("language-"):
        stack[-1][3]["language"] = language.removeprefix("language-")
        return None, {}
    return _HTML_SIMPLE[tag], {}
