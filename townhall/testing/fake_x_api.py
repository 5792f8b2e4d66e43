"""The endpoints of the fake X API v2, with X's validation and problem bodies.

Each handler takes the decoded query (or JSON body) and returns (HTTP status, JSON body).
Problems use X's shapes: `invalid-request` with the offending parameter for a 400, `about:blank`
titles for plain 403/404, as the real API sends them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from townhall.testing.fake_x_search import QueryError, compile_query
from townhall.testing.fake_x_state import JSON, SEARCH_WINDOW, XState, decode_token

PROBLEMS = "https://api.x.com/2/problems/"
MAX_WEIGHT = 280
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://\S+")
_ID = re.compile(r"^[0-9]{1,19}$")

Result = tuple[int, JSON]


class ApiProblem(Exception):
    def __init__(self, status: int, body: JSON):
        super().__init__(body.get("detail", ""))
        self.status = status
        self.body = body


def invalid(message: str, parameter: str, value: Any = None) -> ApiProblem:
    error: JSON = {"message": message, "parameters": {parameter: [] if value is None else
                                                      [str(value)]}}
    return ApiProblem(400, {
        "errors": [error], "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": PROBLEMS + "invalid-request",
    })  # fmt: skip


def blank(status: int, title: str, detail: str) -> ApiProblem:
    return ApiProblem(status, {"title": title, "detail": detail, "type": "about:blank",
                               "status": status})


def weighted_length(text: str) -> int:
    """X's count, simply: links weigh 23, CJK and emoji 2 per code point, the rest 1."""
    weight = 0
    for piece in _URL.split(text):
        weight += sum(1 if any(a <= ord(c) <= b for a, b in _LIGHT) else 2 for c in piece)
    return weight + 23 * len(_URL.findall(text))


def _fields(params: JSON, name: str) -> set[str]:
    value = params.get(name) or ""
    return {part for part in value.split(",") if part}


def _int_param(params: JSON, name: str, low: int, high: int, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not str(raw).isdigit() or not low <= int(raw) <= high:
        raise invalid(f"The `{name}` query parameter value [{raw}] is not between {low} and "
                      f"{high}", name, raw)
    return int(raw)


def _id_param(params: JSON, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not _ID.match(str(raw)):
        raise invalid(f"The `{name}` query parameter value [{raw}] is not valid", name, raw)
    return int(raw)


def _time_param(params: JSON, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"The `{name}` query parameter value [{raw}] is not a valid RFC 3339 "
                      "date", name, raw) from None


def _token(params: JSON, *names: str) -> int | None:
    for name in names:
        raw = params.get(name)
        if raw is not None:
            below = decode_token(str(raw))
            if below is None:
                raise invalid(f"The `{name}` query parameter value [{raw}] is not valid",
                              name, raw)
            return below
    return None


class XApi:
    """Endpoint handlers over an `XState`."""

    state: XState

    def _timeline(self, posts: list[JSON], params: JSON, *, low: int, token_names: tuple[str, ...],
                  window_start: datetime | None = None) -> JSON:
        start = _time_param(params, "start_time")
        if window_start is not None and (start is None or start < window_start):
            start = window_start
        page = self.state.page(
            posts,
            max_results=_int_param(params, "max_results", low, 100, 10),
            since_id=_id_param(params, "since_id"),
            until_id=_id_param(params, "until_id"),
            start_time=start,
            end_time=_time_param(params, "end_time"),
            below=_token(params, *token_names),
        )
        post_fields = _fields(params, "tweet.fields") | _fields(params, "post.fields")
        return self.state.render_timeline(
            page, post_fields, _fields(params, "expansions"), _fields(params, "user.fields"),
            _fields(params, "poll.fields"),
        )

    def users_me(self, params: JSON) -> Result:
        user = self.state.render_user(self.state.account, _fields(params, "user.fields"))
        return 200, {"data": user}

    def users_mentions(self, user_id: str, params: JSON) -> Result:
        user = self.state.users.get(user_id)
        if user is None:
            raise ApiProblem(200, {"errors": [{
                "value": user_id, "detail": f"Could not find user with id: [{user_id}].",
                "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                "resource_id": user_id, "type": PROBLEMS + "resource-not-found",
            }]})  # fmt: skip
        posts = self.state.mentions_of(user)
        return 200, self._timeline(posts, params, low=5, token_names=("pagination_token",))

    def search_recent(self, params: JSON, now: datetime) -> Result:
        query = params.get("query")
        if not query:
            raise invalid("The `query` query parameter can not be empty", "query")
        try:
            matches = compile_query(str(query))
        except QueryError as exc:
            raise invalid(f"There were errors processing your request: {exc}", "query",
                          query) from None
        posts = [p for p in self.state.posts.values() if matches(p)]
        return 200, self._timeline(posts, params, low=10, token_names=("next_token",
                                   "pagination_token"), window_start=now - SEARCH_WINDOW)

    def create_post(self, body: Any) -> Result:
        if not isinstance(body, dict):
            raise invalid("The request body is not a JSON object", "body")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise invalid("Post text is required when no media is attached", "text")
        if weighted_length(text) > MAX_WEIGHT:
            raise invalid(f"Post text is too long ({weighted_length(text)} > {MAX_WEIGHT} "
                          "weighted characters)", "text", text)
        reply = body.get("reply") or {}
        parent_id = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        if parent_id is not None and str(parent_id) not in self.state.posts:
            raise blank(403, "Forbidden", "You attempted to reply to a Tweet that is deleted "
                                          "or not visible to you.")
        post = self.state.create_post(self.state.account, text, in_reply_to=parent_id)
        return 201, {"data": {"edit_history_tweet_ids": [post["id"]], "id": post["id"],
                              "text": post["text"]}}

    def delete_post(self, post_id: str) -> Result:
        post = self.state.posts.get(post_id)
        if post is not None and post["author_id"] != self.state.account["id"]:
            raise blank(403, "Forbidden", "You are not allowed to delete this Tweet.")
        if post is not None:
            del self.state.posts[post_id]
            self.state.deleted.append(post_id)
        return 200, {"data": {"deleted": post is not None}}

    def send_dm(self, participant_id: str, body: Any) -> Result:
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            raise invalid("text or attachments are required", "text")
        if participant_id not in self.state.users or participant_id == self.state.account["id"]:
            raise invalid(f"The participant [{participant_id}] can not be messaged",
                          "participant_id", participant_id)
        me = self.state.account["id"]
        event_id = self.state.next_id(self.state.now())
        conversation = "-".join(sorted((participant_id, me), key=int))
        self.state.dms.append({"dm_event_id": event_id, "dm_conversation_id": conversation,
                               "participant_id": participant_id, "text": text})
        return 201, {"data": {"dm_conversation_id": conversation, "dm_event_id": event_id}}
