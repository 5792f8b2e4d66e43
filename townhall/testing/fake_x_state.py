"""What the fake X API remembers (users, posts, DMs) and how it renders them like X v2 does.

Rendering follows the real wire format, which the recorded tweepy cassettes show and tweepy
expects: a post always carries `id`, `text` and `edit_history_tweet_ids`; other fields only when
asked for with `tweet.fields`; `expansions=author_id` adds `includes.users`,
`expansions=attachments.poll_ids` adds `includes.polls` (and the post's `attachments`, which the
expansion needs). A poll always shows `id` and `options`; `poll.fields` adds the rest. `text` is
HTML-escaped (`&amp;`, `&lt;`, `&gt;`) as X does. Ids are snowflakes (creation time in the high
bits), growing with time, so `since_id` and ordering behave as on X.

The state has a clock of its own, `now()`: the wall clock plus `offset`, which tests move forward
(`FakeX.advance`) to see what happens after minutes or days, such as a poll closing. Only what X
decides by its own clock follows it (creation times, ids, poll end times, the search window);
OAuth timestamps and rate-limit windows stay on the wall clock, because the client signs and
waits by the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

JSON = dict[str, Any]
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
SEARCH_WINDOW = timedelta(days=7)  # recent search sees the last seven days
POST_FIELDS = {
    "author_id", "conversation_id", "created_at", "entities", "in_reply_to_user_id", "lang",
    "referenced_tweets",
}  # fmt: skip
USER_FIELDS = {"created_at", "description", "verified"}
_MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")
_HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
_URL = re.compile(r"https?://\S+")
_TOKEN_PREFIX = "7140dibd"


def rfc3339(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_token(post_id: str) -> str:
    """An opaque pagination token: the page continues below this id."""
    return _TOKEN_PREFIX + _base36(int(post_id))


def decode_token(token: str) -> int | None:
    if not token.startswith(_TOKEN_PREFIX):
        return None
    try:
        return int(token[len(_TOKEN_PREFIX) :], 36)
    except ValueError:
        return None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


@dataclass
class Page:
    posts: list[JSON]
    next_token: str | None


class XState:
    def __init__(self, username: str, name: str) -> None:
        self.users: dict[str, JSON] = {}
        self.posts: dict[str, JSON] = {}
        self.dms: list[JSON] = []
        self.deleted: list[str] = []
        self.polls: dict[str, JSON] = {}  # poll id -> {id, post_id, options, duration, ends_at}
        self.offset = timedelta(0)
        self._last_id = 0
        self.account = self.add_user(username, name)

    def now(self) -> datetime:
        """The fake's clock (see the module docstring)."""
        return datetime.now(UTC) + self.offset

    # --- ids, users, posts ------------------------------------------------------------------
    def next_id(self, moment: datetime) -> str:
        milliseconds = int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
        self._last_id = max((milliseconds << 22), self._last_id + 1)
        return str(self._last_id)

    def add_user(self, username: str, name: str | None = None) -> JSON:
        existing = self.user_by_username(username)
        if existing is not None:
            return existing
        now = self.now()
        user = {"id": self.next_id(now), "name": name or username.capitalize(),
                "username": username, "created_at": rfc3339(now - timedelta(days=400))}
        self.users[user["id"]] = user
        return user

    def user_by_username(self, username: str) -> JSON | None:
        wanted = username.lstrip("@").lower()
        return next((u for u in self.users.values() if u["username"].lower() == wanted), None)

    def entities(self, text: str) -> JSON:
        found: JSON = {}
        mentions = []
        for match in _MENTION.finditer(text):
            user = self.user_by_username(match.group(1))
            mention = {"start": match.start(), "end": match.end(), "username": match.group(1)}
            if user is not None:
                mention["id"] = user["id"]
            mentions.append(mention)
        if mentions:
            found["mentions"] = mentions
        hashtags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)}
                    for m in _HASHTAG.finditer(text)]
        if hashtags:
            found["hashtags"] = hashtags
        urls = [{"start": m.start(), "end": m.end(), "url": m.group(),
                 "expanded_url": m.group(), "display_url": m.group().split("://", 1)[1][:25]}
                for m in _URL.finditer(text)]
        if urls:
            found["urls"] = urls
        return found

    def create_post(
        self,
        author: JSON,
        text: str,
        *,
        in_reply_to: str | None = None,
        lang: str = "en",
        created_at: datetime | None = None,
        retweet_of: str | None = None,
    ) -> JSON:
        moment = created_at or self.now()
        post_id = self.next_id(moment)
        parent = self.posts.get(in_reply_to or "")
        references = []
        if parent is not None:
            references.append({"type": "replied_to", "id": parent["id"]})
        if retweet_of is not None:
            references.append({"type": "retweeted", "id": retweet_of})
        post = {
            "id": post_id, "text": text, "author_id": author["id"],
            "author_username": author["username"], "created_at": moment, "lang": lang,
            "conversation_id": parent["conversation_id"] if parent else post_id,
            "in_reply_to_user_id": parent["author_id"] if parent else None,
            "in_reply_to_username": parent["author_username"] if parent else None,
            "referenced_tweets": references, "entities": self.entities(text), "poll_id": None,
        }  # fmt: skip
        self.posts[post_id] = post
        return post

    def attach_poll(self, post: JSON, labels: list[str], duration_minutes: int) -> JSON:
        """A poll on `post`, open from the post's creation for `duration_minutes`."""
        poll = {
            "id": self.next_id(post["created_at"]), "post_id": post["id"],
            "options": [{"position": n, "label": label, "votes": 0}
                        for n, label in enumerate(labels, start=1)],
            "duration_minutes": duration_minutes,
            "ends_at": post["created_at"] + timedelta(minutes=duration_minutes),
        }  # fmt: skip
        self.polls[poll["id"]] = poll
        post["poll_id"] = poll["id"]
        return poll

    def voting_status(self, poll: JSON) -> str:
        """"open" until the poll's end time on the fake's clock, then "closed", as on X."""
        return "open" if self.now() < poll["ends_at"] else "closed"

    # --- timelines --------------------------------------------------------------------------
    def mentions_of(self, user: JSON) -> list[JSON]:
        name = user["username"].lower()
        return [
            p for p in self.posts.values()
            if p["author_id"] != user["id"]
            and any(m["username"].lower() == name for m in p["entities"].get("mentions", ()))
        ]  # fmt: skip

    @staticmethod
    def page(
        posts: list[JSON],
        *,
        max_results: int,
        since_id: int | None = None,
        until_id: int | None = None,
        start_time: datetime | None = None,
        end_time: datetime | None = None,
        below: int | None = None,
    ) -> Page:
        """Newest first, `max_results` at a time; `below` continues a previous page."""
        chosen = sorted(
            (p for p in posts
             if (since_id is None or int(p["id"]) > since_id)
             and (until_id is None or int(p["id"]) < until_id)
             and (below is None or int(p["id"]) < below)
             and (start_time is None or p["created_at"] >= start_time)
             and (end_time is None or p["created_at"] < end_time)),
            key=lambda p: int(p["id"]), reverse=True,
        )  # fmt: skip
        page, rest = chosen[:max_results], chosen[max_results:]
        return Page(page, encode_token(page[-1]["id"]) if rest else None)

    # --- rendering --------------------------------------------------------------------------
    def render_post(self, post: JSON, fields: set[str]) -> JSON:
        out: JSON = {
            "edit_history_tweet_ids": [post["id"]], "id": post["id"],
            "text": escape(post["text"]),
        }  # fmt: skip
        for name in sorted(fields & POST_FIELDS):
            value = post.get(name)
            if name == "created_at":
                value = rfc3339(post["created_at"])
            if value not in (None, [], {}):
                out[name] = value
        if "attachments" in fields and post.get("poll_id"):
            out["attachments"] = {"poll_ids": [post["poll_id"]]}
        return out

    def render_poll(self, poll: JSON, fields: set[str]) -> JSON:
        """`id` and `options` always (X's default poll fields), the rest as `fields` ask."""
        out: JSON = {"id": poll["id"], "options": [dict(o) for o in poll["options"]]}
        if "duration_minutes" in fields:
            out["duration_minutes"] = poll["duration_minutes"]
        if "end_datetime" in fields:
            out["end_datetime"] = rfc3339(poll["ends_at"])
        if "voting_status" in fields:
            out["voting_status"] = self.voting_status(poll)
        return out

    def render_includes(self, posts: list[JSON], expansions: set[str], user_fields: set[str],
                        poll_fields: set[str]) -> JSON:
        """`includes` for `posts`: authors and polls, each once, as the expansions ask."""
        includes: JSON = {}
        if "author_id" in expansions:
            authors = dict.fromkeys(p["author_id"] for p in posts)
            includes["users"] = [self.render_user(self.users[a], user_fields)
                                 for a in authors if a in self.users]
        if "attachments.poll_ids" in expansions:
            polls = [self.polls[p["poll_id"]] for p in posts if p.get("poll_id") in self.polls]
            if polls:
                includes["polls"] = [self.render_poll(poll, poll_fields) for poll in polls]
        return includes

    def render_user(self, user: JSON, fields: set[str]) -> JSON:
        out = {"id": user["id"], "name": user["name"], "username": user["username"]}
        for name in sorted(fields & USER_FIELDS):
            if name in user:
                out[name] = user[name]
        return out

    def render_timeline(
        self, page: Page, post_fields: set[str], expansions: set[str], user_fields: set[str],
        poll_fields: set[str] | None = None,
    ) -> JSON:
        if not page.posts:
            return {"meta": {"result_count": 0}}
        if "attachments.poll_ids" in expansions:
            post_fields = post_fields | {"attachments"}
        body: JSON = {"data": [self.render_post(p, post_fields) for p in page.posts]}
        includes = self.render_includes(page.posts, expansions, user_fields, poll_fields or set())
        if includes:
            body["includes"] = includes
        meta: JSON = {"newest_id": page.posts[0]["id"], "oldest_id": page.posts[-1]["id"],
                      "result_count": len(page.posts)}
        if page.next_token:
            meta["next_token"] = page.next_token
        body["meta"] = meta
        return body
