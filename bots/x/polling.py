"""Reading X timelines in order: every page since a checkpoint, ingested oldest first.

X returns mentions and search results newest first, a page at a time, down to `since_id`.
Ingesting only after the whole range is read, oldest first, and moving the checkpoint after each
post means a checkpoint never passes a post that was not handed to the ingest, whatever stops
the process. Reading stops early on a rate limit: what was read is still ingested (the ingest is
idempotent, so reading it again later costs nothing but the call) but the checkpoint stays put,
since older pages are still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bots.x.client import RateLimited

log = logging.getLogger(__name__)

# what every poll asks for: enough to build an address, a sender and a language hint
TWEET_FIELDS = [
    "author_id", "conversation_id", "created_at", "entities", "in_reply_to_user_id", "lang",
    "referenced_tweets",
]  # fmt: skip
EXPANSIONS = ["author_id"]
USER_FIELDS = ["name", "username"]


class CheckpointStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def advance(self, key: str, since_id: str) -> None: ...


@dataclass
class Batch:
    """Posts read in one poll, oldest first, with the users they reference."""

    posts: list[Any] = field(default_factory=list)
    includes: dict[str, list[Any]] = field(default_factory=lambda: {"users": []})
    complete: bool = True  # False when reading stopped before reaching the checkpoint
    error: RateLimited | None = None


Fetch = Callable[..., Awaitable[Any]]


async def read_since(
    fetch: Fetch,
    *,
    since_id: str | None,
    start_time: datetime,
    page_size: int,
    token_param: str,
    max_pages: int = 10,
) -> Batch:
    """Every page of `fetch` newer than `since_id` (or than `start_time` on a first run).

    `token_param` is the endpoint's name for the page token (mentions: `pagination_token`,
    search: `next_token`). `max_pages` bounds one poll (X serves at most 800 mentions anyway);
    a larger backlog is cut, oldest posts first, rather than read again at every poll.
    """
    params: dict[str, Any] = {
        "max_results": page_size, "tweet_fields": TWEET_FIELDS, "expansions": EXPANSIONS,
        "user_fields": USER_FIELDS,
    }  # fmt: skip
    if since_id:
        params["since_id"] = since_id
    else:
        params["start_time"] = start_time
    batch = Batch()
    token = None
    for _ in range(max_pages):
        try:
            response = await fetch(**params, **({token_param: token} if token else {}))
        except RateLimited as exc:
            if not batch.posts:
                raise
            batch.complete, batch.error = False, exc
            break
        batch.posts.extend(response.data or ())
        batch.includes["users"].extend((response.includes or {}).get("users") or ())
        token = (response.meta or {}).get("next_token")
        if not token:
            break
    else:
        if token:  # a backlog larger than one poll reads: the oldest posts are left behind
            log.warning("x: more than %d pages of new posts; the oldest were skipped", max_pages)
    batch.posts.sort(key=lambda post: int(post.id))
    return batch
