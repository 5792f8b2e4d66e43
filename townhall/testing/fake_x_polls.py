"""Poll posts in the fake X API: `POST /2/tweets` with a `poll`, and `GET /2/tweets/:id`.

Why a layer of its own: polls are the one part of posting with rules beyond the text (2 to 4
options of 1 to 25 characters, 5 to 10080 minutes), and the one read that serves a post by id.
The rules are those of the spec's `CreatePostsRequest` / `CreatePostsPoll` (both closed to
unknown properties, so a misspelt key is a 400 here as there), checked by hand so that a request
the spec refuses is refused even when no spec is loaded; the fake also checks every request it
accepts against the spec when one is given (`FakeX(spec=...)`), which is how its own rules are
kept honest. The lookup checks `expansions` and `poll.fields` against the spec's enums and
answers an unknown post with a 200 whose body holds only `errors`, as X does.

A poll closes by the fake's clock (`XState.now`): tests `advance` it rather than wait a day.
Votes are cast by tests (`vote_in_poll`), since X has no API to vote.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from townhall.testing.fake_x_api import PROBLEMS, ApiProblem, Result, XApi, _fields, invalid
from townhall.testing.fake_x_state import JSON

MIN_OPTIONS, MAX_OPTIONS, MAX_LABEL = 2, 4, 25
MIN_DURATION, MAX_DURATION = 5, 10080
REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")
POLL_KEYS = frozenset({"options", "duration_minutes", "reply_settings"})
POST_KEYS = frozenset({
    "card_uri", "community_id", "direct_message_deep_link", "edit_options",
    "for_super_followers_only", "geo", "made_with_ai", "media", "nullcast", "paid_partnership",
    "poll", "quote_tweet_id", "reply", "reply_settings", "share_with_followers", "text",
})  # fmt: skip
# the spec's PollFieldsParameter enum
POLL_FIELDS = frozenset({"duration_minutes", "end_datetime", "id", "options", "voting_status"})
# the spec's PostExpansionsParameter enum, plus the wire names X and tweepy use for the two
# expansions the spec renames (`referenced_tweets.id`, `edit_history_tweet_ids`)
SPEC_EXPANSIONS = frozenset({
    "article.cover_media", "article.media_entities", "attachments.media_keys",
    "attachments.media_source_tweet", "attachments.poll_ids", "author_id",
    "edit_history_post_ids", "entities.mentions.username", "geo.place_id",
    "in_reply_to_user_id", "referenced_posts", "username",
})  # fmt: skip
EXPANSIONS = SPEC_EXPANSIONS | {
    "edit_history_tweet_ids", "referenced_tweets.id", "referenced_tweets.id.author_id",
}  # fmt: skip
_ID = re.compile(r"^[0-9]{1,19}$")


def parse_poll(raw: Any) -> tuple[list[str], int]:
    """The options and duration of a create request's `poll`; a 400 problem if X refuses it."""
    if not isinstance(raw, dict):
        raise invalid("`poll` must be an object with `options` and `duration_minutes`", "poll")
    unknown = sorted(set(raw) - POLL_KEYS)
    if unknown:
        raise invalid(f"`poll.{unknown[0]}` is not a poll property", f"poll.{unknown[0]}")
    options = raw.get("options")
    if not isinstance(options, list) or not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        count = len(options) if isinstance(options, list) else "no"
        raise invalid(f"A poll needs {MIN_OPTIONS} to {MAX_OPTIONS} options, not {count}",
                      "poll.options")
    for label in options:
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL:
            raise invalid(f"Each poll option must be 1 to {MAX_LABEL} characters: [{label}]",
                          "poll.options", label)
    duration = raw.get("duration_minutes")
    if (isinstance(duration, bool) or not isinstance(duration, int | float)
            or (isinstance(duration, float) and not duration.is_integer())):
        raise invalid("`poll.duration_minutes` must be a whole number of minutes",
                      "poll.duration_minutes", duration)
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise invalid(f"`poll.duration_minutes` [{duration}] is not between {MIN_DURATION} and "
                      f"{MAX_DURATION}", "poll.duration_minutes", duration)
    if "reply_settings" in raw and raw["reply_settings"] not in REPLY_SETTINGS:
        raise invalid(f"`poll.reply_settings` [{raw['reply_settings']}] is not one of "
                      f"[{','.join(REPLY_SETTINGS)}]", "poll.reply_settings",
                      raw["reply_settings"])
    return options, int(duration)


def _enum_param(params: JSON, name: str, allowed: frozenset[str]) -> set[str]:
    values = _fields(params, name)
    unknown = sorted(values - allowed)
    if unknown:
        raise invalid(f"The `{name}` query parameter value [{unknown[0]}] is not one of "
                      f"[{','.join(sorted(allowed))}]", name, unknown[0])
    return values


class XPollsApi(XApi):
    """`XApi` with poll posts, the post lookup, and the test-side helpers for polls."""

    def create_post(self, body: Any) -> Result:
        poll = None
        if isinstance(body, dict):
            unknown = sorted(set(body) - POST_KEYS)
            if unknown:
                raise invalid(f"`{unknown[0]}` is not a property of a post request", unknown[0])
            if "poll" in body:
                poll = parse_poll(body["poll"])
        status, payload = super().create_post(body)
        if poll is not None:
            self.state.attach_poll(self.state.posts[payload["data"]["id"]], *poll)
        return status, payload

    def lookup_post(self, post_id: str, params: JSON) -> Result:
        if not _ID.match(post_id):
            raise invalid(f"The `id` query parameter value [{post_id}] does not match "
                          "^[0-9]{1,19}$", "id", post_id)
        expansions = _enum_param(params, "expansions", EXPANSIONS)
        poll_fields = _enum_param(params, "poll.fields", POLL_FIELDS)
        post = self.state.posts.get(post_id)
        if post is None:
            raise ApiProblem(200, {"errors": [{
                "value": post_id, "detail": f"Could not find tweet with id: [{post_id}].",
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                "resource_id": post_id, "type": PROBLEMS + "resource-not-found",
            }]})  # fmt: skip
        post_fields = _fields(params, "tweet.fields") | _fields(params, "post.fields")
        if "attachments.poll_ids" in expansions:
            post_fields.add("attachments")  # an expansion brings the field it expands
        body: JSON = {"data": self.state.render_post(post, post_fields)}
        includes = self.state.render_includes(
            [post], expansions, _fields(params, "user.fields"), poll_fields
        )
        if includes:
            body["includes"] = includes
        return 200, body

    # --- for tests ----------------------------------------------------------------------------
    def poll_of(self, post_id: str) -> JSON:
        """The stored poll of a post: `id`, `options` (position, label, votes), `ends_at`."""
        post = self.state.posts.get(post_id)
        if post is None or post.get("poll_id") not in self.state.polls:
            raise KeyError(f"fake X: post {post_id} has no poll")
        return self.state.polls[post["poll_id"]]

    def vote_in_poll(self, post_id: str, position: int, count: int = 1) -> None:
        """`count` citizens vote for the option at 1-based `position` of the post's poll.

        Refused once the poll has closed, as X refuses a late vote: a test that votes then
        would otherwise check totals X could never show.
        """
        poll = self.poll_of(post_id)
        if self.state.voting_status(poll) != "open":
            raise ValueError(f"fake X: the poll on post {post_id} is closed")
        if not 1 <= position <= len(poll["options"]) or count < 0:
            raise ValueError(f"fake X: no option {position} (or a bad count {count})")
        poll["options"][position - 1]["votes"] += count

    def advance(self, delta: timedelta) -> None:
        """Move the fake's clock forward (polls close, new posts are dated later)."""
        if delta < timedelta(0):
            raise ValueError("the fake's clock only moves forward")
        self.state.offset += delta
