"""The part of X's search query language the fake understands.

Keywords (case-insensitive, whole words), "exact phrases", #hashtags, @mentions, `from:`,
`to:`, `lang:`, `is:retweet` / `is:reply`, negation with `-`, implicit AND, `OR`, and
parentheses. As on X, AND binds tighter than OR: `a OR b c` is `a OR (b c)`. Unknown operators
(`has:links`, `place:`) raise `QueryError`, which the fake answers with a 400 like X does for an
invalid query, so a listening query that only "works" against a lenient fake is caught.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Post = dict[str, Any]
Matcher = Callable[[Post], bool]

_TOKEN = re.compile(r'\s*(\(|\)|-?"[^"]*"|-?[^\s()"]+)')
_OPERATORS = {"from", "to", "lang", "is"}


class QueryError(ValueError):
    """X would reject the query (400 invalid-request)."""


def _words(text: str) -> list[str]:
    return re.findall(r"[#@]?\w+", text.lower())


def _atom(token: str) -> Matcher:
    if token.startswith('"'):
        phrase = token.strip('"').lower()
        if not phrase:
            raise QueryError("empty phrase")
        words = _words(phrase)
        return lambda post: _has_sequence(_words(post["text"]), words)
    name, colon, value = token.partition(":")
    if colon and name in _OPERATORS:
        value = value.lower()
        if name == "from":
            return lambda post: post["author_username"].lower() == value.lstrip("@")
        if name == "to":
            return lambda post: (post.get("in_reply_to_username") or "").lower() == value
        if name == "lang":
            return lambda post: post.get("lang") == value
        if value in ("retweet", "reply", "quote"):
            kinds = {"retweet": "retweeted", "reply": "replied_to", "quote": "quoted"}
            return lambda post: any(
                r["type"] == kinds[value] for r in post.get("referenced_tweets", ())
            )
    if colon:
        raise QueryError(f"operator {name}: is not supported")
    word = token.lower()
    if word.startswith(("#", "@")):
        return lambda post: word in _words(post["text"])
    return lambda post: word in [w.lstrip("#@") for w in _words(post["text"])]


def _has_sequence(words: list[str], sequence: list[str]) -> bool:
    size = len(sequence)
    return any(words[i : i + size] == sequence for i in range(len(words) - size + 1))


class _Parser:
    def __init__(self, query: str):
        self.tokens = [t for t in _TOKEN.findall(query) if t]
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def parse(self) -> Matcher:
        matcher = self.or_expr()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()!r}")
        return matcher

    def or_expr(self) -> Matcher:
        branches = [self.and_expr()]
        while self.peek() == "OR":
            self.take()
            branches.append(self.and_expr())
        return branches[0] if len(branches) == 1 else (lambda p: any(b(p) for b in branches))

    def and_expr(self) -> Matcher:
        terms: list[Matcher] = []
        while self.peek() not in (None, ")", "OR"):
            terms.append(self.unary())
        if not terms:
            raise QueryError("empty expression")
        return terms[0] if len(terms) == 1 else (lambda p: all(t(p) for t in terms))

    def unary(self) -> Matcher:
        token = self.take()
        if token == "(":
            inner = self.or_expr()
            if self.peek() != ")":
                raise QueryError("unbalanced parentheses")
            self.take()
            return inner
        if token.startswith("-") and len(token) > 1:
            positive = _atom(token[1:])
            return lambda post: not positive(post)
        return _atom(token)


def compile_query(query: str) -> Matcher:
    """A predicate over the fake's stored posts; `QueryError` if X would refuse the query."""
    if not query.strip():
        raise QueryError("the query is empty")
    return _Parser(query).parse()
