"""X as a citizens' channel: mentions in, reply posts (or DMs) out, keyword listening.

X has no push delivery on the paid tiers this targets, so the composition root schedules
`poll_mentions` and `poll_listening`; each reads everything since its checkpoint (see
`polling`). What the credentials may do is found out at start and from 401/403/453 answers: a
feature X refuses is switched off with one warning (log and `notify`, which the app routes to
Slack) while the rest keeps running. A 429 pauses only the endpoint that answered it, until its
reset; a send that meets one raises a retryable `SendError` so the outbox tries again then.

Polls go out as poll posts of the city's account (`send_poll`), and their totals are read back
by post id (`poll_totals`); what X accepts in a poll is in `poll_posts`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
from tweepy import BadRequest, Forbidden, HTTPException, NotFound

from bots.base import OnEvent
from bots.checks import MalformedEvent
from bots.x.client import AccessDenied, RateLimited, XApiClient
from bots.x.inbound import (
    CHANNEL,
    mentions_user,
    replied_to,
    to_button_press,
    to_inbound,
)
from bots.x.poll_posts import POLL_LOOKUP, PollTotals, check_poll, poll_id_of, totals_from
from bots.x.polling import Batch, CheckpointStore, read_since
from bots.x.text import MAX_DM_LENGTH, has_personal_details, split_post
from townhall.domain import Address, InboundEvent, OutboundMessage, SendError

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
QuerySource = Callable[[], Awaitable[list[str]]]

FEATURES = {
    "mentions": "answering mentions",
    "search": "keyword listening",
    "post": "reply posts",
    "dm": "direct messages",
}
USER_FEATURES = ("mentions", "post", "dm")
_REMEMBERED = 1000  # posts with options (and unfinished threads) kept in memory


class XChannel:
    name = CHANNEL

    def __init__(
        self,
        client: XApiClient,
        *,
        checkpoints: CheckpointStore,
        queries: QuerySource | None = None,
        notify: Notify | None = None,
        dm_personal_details: bool = False,
        backfill: timedelta = timedelta(hours=24),
        page_size: int = 100,
    ):
        self.client = client
        self.checkpoints = checkpoints
        self.queries = queries
        self.notify = notify
        self.dm_personal_details = dm_personal_details
        self.backfill = backfill
        self.page_size = page_size
        self.me: dict[str, str] | None = None
        self.disabled: dict[str, str] = {}
        self._on_event: OnEvent | None = None
        self._stopping = False
        self._active: set[asyncio.Task[Any]] = set()
        self._paused: dict[str, float] = {}
        self._options: OrderedDict[str, list[tuple[str, str, str]]] = OrderedDict()
        self._threads: OrderedDict[str, list[str]] = OrderedDict()

    # --- lifecycle and access level -----------------------------------------------------------
    async def start(self, on_event: OnEvent) -> None:
        self._on_event, self._stopping = on_event, False
        await self.client.open()
        if not self.client.has_user_auth:
            await self._disable(
                USER_FEATURES,
                "no OAuth 1.0a user keys are set (TOWNHALL_X__CONSUMER_KEY, __CONSUMER_SECRET, "
                "__ACCESS_TOKEN, __ACCESS_TOKEN_SECRET); only keyword listening can run",
            )
        elif await self._who_am_i() is not None:
            assert self.me is not None
            log.info("x: polling mentions of @%s", self.me["username"])

    async def stop(self) -> None:
        """Refuse new sends, let a running poll finish its post and a running send its call,
        then close the session: a request cut in flight could be a post X made but we never
        heard of, which the outbox would then send again."""
        self._stopping = True
        if self._active:
            await asyncio.wait(set(self._active), timeout=30)
        await self.client.close()
        self._on_event = None

    @property
    def capabilities(self) -> dict[str, str]:
        """Each feature: "on", or why it is off (for `/townhall listen list` and health)."""
        return {feature: self.disabled.get(feature, "on") for feature in FEATURES}

    async def _who_am_i(self) -> dict[str, str] | None:
        if self.me is not None or "mentions" in self.disabled:
            return self.me
        try:
            response = await self.client.get_me(user_auth=True)
        except AccessDenied as exc:
            await self._disable(USER_FEATURES, f"X refused the account's keys ({exc})")
        except RateLimited as exc:
            self._log_pause(exc)
        except (HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("x: could not ask who we are (%s); trying again at the next poll", exc)
        else:
            self.me = {"id": str(response.data.id), "username": response.data.username}
        return self.me

    async def _disable(self, features: Iterable[str], reason: str) -> None:
        newly = [f for f in features if f not in self.disabled]
        if not newly:
            return
        for feature in newly:
            self.disabled[feature] = reason
        names = ", ".join(FEATURES[f] for f in newly)
        text = (
            f"X: {names} turned off: {reason}. The rest of the X channel keeps running; "
            "restart Townhall after changing the X access level."
        )
        log.warning(text)
        if self.notify is not None:
            try:
                await self.notify(text)
            except Exception:  # a notice must never stop the channel
                log.exception("x: could not notify staff")

    def _log_pause(self, exc: RateLimited) -> None:
        until = asyncio.get_running_loop().time() + exc.retry_after
        if self._paused.get(exc.endpoint, 0) < asyncio.get_running_loop().time():
            log.warning("x: %s; that endpoint is paused until then", exc)
        self._paused[exc.endpoint] = until

    # --- polling ------------------------------------------------------------------------------
    async def poll_mentions(self) -> int:
        """Ingest every mention since the checkpoint; the number of events handed on."""
        return await self._job("mentions", self._mentions)

    async def poll_listening(self) -> int:
        """Search each listening query since its checkpoint; matches are ingested listen-only."""
        return await self._job("search", self._listening)

    async def _job(self, feature: str, body: Callable[[], Awaitable[int]]) -> int:
        """Run one poll in a task of our own, which `stop()` lets finish.

        APScheduler cancels the jobs it is running when it shuts down; cancelling a poll in the
        middle of ingesting a post would leave it stored but unanswered. So the job only
        waits for the poll, and a cancelled wait leaves the poll running until `stop()`.
        """
        if self._on_event is None or self._stopping or feature in self.disabled:
            return 0
        task = asyncio.create_task(self._guarded(feature, body), name=f"x-poll-{feature}")
        self._active.add(task)
        task.add_done_callback(self._active.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return 0

    async def _guarded(self, feature: str, body: Callable[[], Awaitable[int]]) -> int:
        try:
            return await body()
        except RateLimited as exc:
            self._log_pause(exc)
        except AccessDenied as exc:
            await self._disable([feature], f"X answered {exc.status} ({exc.detail})")
        except (HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("x: polling %s failed (%s); trying again at the next poll", feature, exc)
        except Exception:  # the ingest failed (database away?): the checkpoint stayed put
            log.exception("x: polling %s failed; trying again at the next poll", feature)
        return 0

    def _reader(self, fetch: Callable[..., Awaitable[Any]], token_param: str, page_size: int):
        start = datetime.now(UTC) - self.backfill
        return partial(read_since, fetch, start_time=start, page_size=page_size,
                       token_param=token_param)

    async def _mentions(self) -> int:
        me = await self._who_am_i()
        if me is None:
            return 0
        key = f"x:mentions:{me['id']}"
        fetch = partial(self.client.get_users_mentions, me["id"], user_auth=self._user_reads)
        read = self._reader(fetch, "pagination_token", max(5, self.page_size))
        batch = await read(since_id=await self.checkpoints.get(key))
        return await self._ingest(batch, key, listen_only=False)

    async def _listening(self) -> int:
        queries = await self.queries() if self.queries is not None else []
        total = 0
        for query in queries:
            if self._stopping:
                break
            key = "x:search:" + hashlib.sha256(query.encode()).hexdigest()[:24]
            fetch = partial(self.client.search_recent_tweets, query, user_auth=self._user_reads)
            read = self._reader(fetch, "next_token", max(10, self.page_size))
            batch = await read(since_id=await self.checkpoints.get(key))
            total += await self._ingest(batch, key, listen_only=True)
        return total

    @property
    def _user_reads(self) -> bool:
        """Reads use the app-only bearer token when there is one (its limits are higher)."""
        return not self.client.bearer_token

    async def _ingest(self, batch: Batch, key: str, *, listen_only: bool) -> int:
        count = 0
        for post in batch.posts:
            if self._stopping or self._on_event is None:
                break
            event = self._event(post, batch.includes, listen_only)
            if event is not None:
                await self._on_event(event)
                count += 1
            if batch.complete:
                await self.checkpoints.advance(key, str(post.id))
        if batch.error is not None:
            self._log_pause(batch.error)
        return count

    def _event(self, post: Any, includes: dict, listen_only: bool) -> InboundEvent | None:
        """The event for a post, or None; a post that cannot be read is skipped with a warning
        (and the checkpoint moves past it), or it would fail again at every poll."""
        try:
            return self._read(post, includes, listen_only)
        except MalformedEvent as exc:
            post_id = getattr(post, "id", "?")
            log.warning("x: skipped post %.30s that cannot be read: %s", post_id, exc)
            return None

    def _read(self, post: Any, includes: dict, listen_only: bool) -> InboundEvent | None:
        me = self.me
        if me is not None and str(post.author_id) == me["id"]:
            return None  # our own posts
        if listen_only and me is not None and (
            mentions_user(post, me["username"]) or str(post.in_reply_to_user_id) == me["id"]
        ):
            return None  # addressed to us: the mentions poll answers it
        event = to_inbound(post, includes, listen_only=listen_only)
        options = self._options.get(replied_to(post) or "")
        if event is not None and options:
            return to_button_press(event, options) or event
        return event

    # --- sending ------------------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> str:
        address = message.address
        options = [(b.label, b.action, b.value) for b in message.buttons]
        text = message.text
        if options:
            text += "\n\n" + "\n".join(f"{n}) {o[0]}" for n, o in enumerate(options, start=1))
        private = not address.reply_to or (
            self.dm_personal_details and has_personal_details(text)
        )
        async with self._calling("dm" if private else "post"):
            if private:
                return await self._send_dm(address.chat_id, text)
            assert address.reply_to is not None
            return await self._send_thread(address.reply_to, text, options)

    async def send_poll(
        self, address: Address, question: str, options: Sequence[str],
        duration_minutes: int = 1440,
    ) -> tuple[str, str]:
        """Post `question` as a poll of the city's account; returns (post id, poll id).

        A top-level post, or a reply to `address.reply_to` when it is set. A poll X cannot take
        (see `poll_posts`) is refused with a permanent `SendError` before any request. X's
        answer to the post carries no poll id, so it is read back with one lookup of the post;
        when that lookup fails (rate limit, access level, network) the post id stands in for
        the poll id rather than failing a send X has already made: a retry would post the poll
        twice. Either way `poll_totals` takes the post id.
        """
        check_poll(question, options, duration_minutes)
        async with self._calling("post"):
            response = await self.client.create_tweet(
                text=question, poll_options=list(options), poll_duration_minutes=duration_minutes,
                in_reply_to_tweet_id=address.reply_to, user_auth=True,
            )
            post_id = str(response.data["id"])
            return post_id, await self._poll_id(post_id)

    async def poll_totals(self, post_id: str) -> PollTotals:
        """The poll of post `post_id` as X shows it now: votes per option, open or closed.

        Errors are `SendError`s like a send's (a 429's wait in `retry_after`), so a job that
        reads totals can be retried by the same rules; a post gone or without a poll is
        permanent.
        """
        async with self._calling(None):
            response = await self.client.get_tweet(
                post_id, **POLL_LOOKUP, user_auth=self._user_reads
            )
        return totals_from(post_id, response)

    async def _poll_id(self, post_id: str) -> str:
        try:
            response = await self.client.get_tweet(
                post_id, **POLL_LOOKUP, user_auth=self._user_reads
            )
        except (RateLimited, AccessDenied, HTTPException, aiohttp.ClientError,
                TimeoutError) as exc:
            log.warning("x: poll post %s made, but its poll id could not be read (%s); the post "
                        "id stands in for it", post_id, exc)
            return post_id
        return poll_id_of(response) or post_id

    @asynccontextmanager
    async def _calling(self, feature: str | None) -> AsyncIterator[None]:
        """Around one send (or a read for the outbox): SDK errors become `SendError`s.

        A 429 carries X's wait in `retry_after`; a refusal of the access level turns `feature`
        off (once) and is permanent, as are other 4xx; 5xx, network errors and timeouts are
        retryable. The running task is registered so that `stop()` lets it finish.
        """
        if self._stopping:
            raise SendError("x: the channel is stopping", retry_after=1.0)
        if feature is not None and feature in self.disabled:
            raise SendError(f"x: {FEATURES[feature]} are off: {self.disabled[feature]}",
                            permanent=True)
        task = asyncio.current_task()
        assert task is not None
        self._active.add(task)
        try:
            yield
        except RateLimited as exc:
            raise SendError(f"x: {exc}", retry_after=exc.retry_after) from exc
        except AccessDenied as exc:
            if feature is not None:
                await self._disable([feature], f"X answered {exc.status} ({exc.detail})")
            raise SendError(f"x: {exc}", permanent=True) from exc
        except (BadRequest, Forbidden, NotFound) as exc:
            raise SendError(f"x: {exc}", permanent=True) from exc
        except (HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"x: {exc!r}") from exc
        finally:
            self._active.discard(task)

    async def _send_thread(
        self, reply_to: str, text: str, options: list[tuple[str, str, str]]
    ) -> str:
        """Post `text` under `reply_to`, as a thread if it is long.

        The ids of parts already posted are remembered, so a retry after a rate limit in the
        middle of a thread continues it instead of posting its beginning again.
        """
        parts = split_post(text)
        key = hashlib.sha256(f"{reply_to}\0{text}".encode()).hexdigest()
        posted = self._threads.setdefault(key, [])
        parent = posted[-1] if posted else reply_to
        for part in parts[len(posted):]:
            response = await self.client.create_tweet(
                text=part, in_reply_to_tweet_id=parent, user_auth=True
            )
            parent = str(response.data["id"])
            posted.append(parent)
        del self._threads[key]
        _bounded(self._threads)
        if options:
            self._options[parent] = options
            _bounded(self._options)
        return parent

    async def _send_dm(self, participant_id: str, text: str) -> str:
        event_id = ""
        for part in split_post(text, MAX_DM_LENGTH):
            response = await self.client.create_direct_message(
                participant_id=participant_id, text=part, user_auth=True
            )
            event_id = str(response.data["dm_event_id"])
        return f"dm:{event_id}"


def _bounded(memory: OrderedDict) -> None:
    while len(memory) > _REMEMBERED:
        memory.popitem(last=False)
