"""Check X API payloads against X's OpenAPI spec, and load tweepy's recorded cassettes.

The spec (`platform-fixtures/x/openapi.json`, from X's SDK generator) names posts "posts" where
the wire still says "tweets": the real API, the recorded cassettes and tweepy all use
`edit_history_tweet_ids`, `referenced_tweets` and `includes.tweets`. The spec's schemas allow
unknown properties, so on top of JSON-schema validation `unknown_fields` reports any field of a
post, user or poll (and poll option) that neither the spec nor that wire naming knows, which
catches a fake inventing fields. Needs `jsonschema` (a dev dependency), imported only when a
spec is loaded.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# wire name -> the spec's name for the same field
WIRE_ALIASES = {
    "edit_history_tweet_ids": "edit_history_post_ids",
    "referenced_tweets": "referenced_posts",
    "tweets": "posts",
}


class XSpec:
    def __init__(self, spec: dict[str, Any]):
        from jsonschema import Draft202012Validator

        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self._validator_class = Draft202012Validator
        self._validators: dict[str, Any] = {}

    @classmethod
    def load(cls, path: str | Path) -> XSpec:
        """`openapi.json`, or a fixtures directory holding `x/openapi.json`."""
        p = Path(path)
        if p.is_dir():
            p = p / "openapi.json" if (p / "openapi.json").exists() else p / "x" / "openapi.json"
        return cls(json.loads(p.read_text(encoding="utf-8")))

    def errors(self, schema: str, payload: Any) -> list[str]:
        """JSON-schema violations of `payload` against `#/components/schemas/<schema>`."""
        if schema not in self._validators:
            if schema not in self.schemas:
                return [f"the spec has no schema {schema!r}"]
            root = {**self.spec, "$ref": f"#/components/schemas/{schema}"}
            self._validators[schema] = self._validator_class(root)
        found = self._validators[schema].iter_errors(payload)
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]

    def response_errors(self, schema: str, status: int, payload: Any) -> list[str]:
        """A success body against `schema`; an error body against X's error shapes."""
        if status < 400:
            return self.errors(schema, payload) + self.unknown_fields(schema, payload)
        if "errors" in payload and "type" not in payload:  # legacy {"errors":[{code,message}]}
            return [e for item in payload["errors"] for e in self.errors("Error", item)]
        problem_types = self.schemas["Problem"]["discriminator"]["mapping"]
        if payload.get("type") in problem_types:
            return self.errors("Problem", payload)
        missing = [k for k in ("title", "detail", "type") if k not in payload]
        return [f"problem without {k!r}" for k in missing]

    def _ref(self, schema: dict[str, Any]) -> str | None:
        target = schema.get("items", schema).get("$ref", "")
        return target.rsplit("/", 1)[-1] or None

    def unknown_fields(self, schema: str, payload: Any) -> list[str]:
        """Fields in a `schema` response's data and includes that the spec does not define."""
        if not isinstance(payload, dict):
            return []
        data_schema = self._ref(self.schemas[schema].get("properties", {}).get("data", {}))
        data = payload.get("data")
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        problems: list[str] = []
        for item in items if data_schema else ():
            problems += self._unknown(data_schema, item, "data")
        includes = payload.get("includes") or {}
        for user in includes.get("users", ()):
            problems += self._unknown("User", user, "includes.users")
        for post in includes.get("tweets", ()):
            problems += self._unknown("Post", post, "includes.tweets")
        option_fields = self.schemas["PollOptions"]["items"].get("properties", {})
        for poll in includes.get("polls", ()):
            problems += self._unknown("Poll", poll, "includes.polls")
            options = poll.get("options") if isinstance(poll, dict) else None
            for option in options if isinstance(options, list) else ():
                problems += [f"includes.polls.options.{name}: not a poll option field"
                             for name in (option if isinstance(option, dict) else ())
                             if name not in option_fields]
        return problems

    def _unknown(self, schema: str, item: dict[str, Any], where: str) -> list[str]:
        known = self.schemas[schema].get("properties", {})
        return [f"{where}.{name}: not a {schema} field" for name in item
                if name not in known and WIRE_ALIASES.get(name) not in known]


@dataclass(frozen=True)
class Interaction:
    method: str
    uri: str
    status: int
    body: str
    headers: dict[str, list[str]]


def load_cassette(path: str | Path) -> list[Interaction]:
    """The interactions of a vcrpy cassette; gzipped bodies (sync cassettes) decompressed."""
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=yaml.Loader)  # `!!binary` bodies need the full loader
    interactions = []
    for item in data["interactions"]:
        raw = item["response"]["body"]["string"]
        if isinstance(raw, bytes):
            raw = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")
        interactions.append(Interaction(
            item["request"]["method"], item["request"]["uri"],
            int(item["response"]["status"]["code"]), raw, item["response"].get("headers", {}),
        ))  # fmt: skip
    return interactions
