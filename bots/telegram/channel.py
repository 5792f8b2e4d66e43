"""The Telegram channel on python-telegram-bot: long polling or a webhook, replies, polls, files.

PTB's `Bot` makes every call; updates go through `to_inbound` (bots/telegram/inbound.py) to
ingest, and PTB errors become `SendError` for the outbox. Updates arrive by our own long polling
(`_poll`, which confirms an update only once it is handled) or, in webhook mode, through our web
server (one for every platform), which hands each POST to `process_webhook` and answers with an
HTTP status, so Telegram redelivers what failed. Both paths meet in `_deliver`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import warnings
from datetime import timedelta

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
    Update,
)
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
)
from telegram.warnings import PTBDeprecationWarning

from bots.base import OnEvent
from bots.checks import MalformedEvent
from bots.telegram.inbound import CHANNEL, BotIdentity, to_inbound
from townhall.domain import (
    Address,
    Button,
    InboundEvent,
    OutboundMessage,
    SendError,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "poll_answer"]
# buttons with labels this short (ratings "1".."5", "Yes"/"No") fit side by side on a phone
SHORT_LABEL = 4
# what reading a webhook body can raise (MalformedEvent and UnicodeDecodeError are
# ValueErrors; absurd dates overflow; JSON nested thousands deep exhausts the recursion)
UNREADABLE = (
    ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError, RecursionError,
)  # fmt: skip
MAX_POLL_BACKOFF = 30.0  # seconds between getUpdates attempts while Telegram is unreachable
MAX_HANDLING_ATTEMPTS = 5  # an update whose handling raises this often is skipped (logged)


def _chat_key(update: Update) -> object:
    """What orders updates: the chat (or, for a poll answer, the voter); else the update."""
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return ("update", update.update_id)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long text into messages Telegram accepts, at paragraph or line breaks if possible.

    Telegram trims every message, so blanks at either end are dropped first: a text that
    began with a few thousand blank lines used to give an empty first part, which Telegram
    refuses ("message text is empty"), and the whole reply failed.
    """
    parts: list[str] = []
    text = text.strip()
    while len(text) > limit:
        floor = limit // 2  # never leave a stub of a message before the cut
        cut = text.rfind("\n\n", floor, limit)
        for separator in ("\n", " "):
            if cut < floor:
                cut = text.rfind(separator, floor, limit)
        if cut < floor:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def send_error(exc: TelegramError) -> SendError:
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # PTB warns about the int/timedelta change
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            retry_after = exc.retry_after
        seconds = (
            retry_after.total_seconds()
            if isinstance(retry_after, timedelta)
            else float(retry_after)
        )
        return SendError(str(exc), retry_after=seconds)
    permanent = isinstance(exc, Forbidden | InvalidToken) or (
        isinstance(exc, BadRequest) and "retry" not in exc.message.lower()
    )
    return SendError(f"telegram: {exc.message}", permanent=permanent)


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup:
    """One button per row so long labels stay readable; short ones (a 1-5 rating) share one
    row, as a scale reads naturally left to right and five rows would bury the message."""
    keys = [InlineKeyboardButton(b.label, callback_data=f"{b.action}:{b.value}") for b in buttons]
    if all(len(b.label) <= SHORT_LABEL for b in buttons):
        return InlineKeyboardMarkup([keys])
    return InlineKeyboardMarkup([[key] for key in keys])


class TelegramChannel:
    name = CHANNEL

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org/bot",
        file_url: str = "https://api.telegram.org/file/bot",
        webhook_url: str = "",
        webhook_secret: str | None = None,
        poll_timeout: int = 30,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        builder = (
            ApplicationBuilder()
            .token(token)
            .base_url(api_url)
            .base_file_url(file_url)
            .job_queue(None)  # one APScheduler for the whole bot, not one per channel
            .updater(None)  # long polling is `_poll`: see there why not PTB's Updater
        )
        self.application: Application = builder.build()
        self._on_event: OnEvent | None = None
        self._poller: asyncio.Task[None] | None = None
        self._offset = 0  # the next getUpdates confirms every update below it
        self._failures: dict[int, int] = {}  # update id -> failed attempts (not for outages)

    async def start(self, on_event: OnEvent) -> None:
        self._on_event = on_event
        app = self.application
        await app.initialize()
        await app.start()
        if self.webhook_url:
            await app.bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: webhook mode at %s", self.webhook_url)
        else:
            await app.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("telegram: long polling as @%s", app.bot.username)

    async def stop(self) -> None:
        app = self.application
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            # what was handled but not yet confirmed comes again at the next start, where
            # ingest ignores it: cheaper than one more call on the way down
        if app.running:
            await app.stop()
        await app.shutdown()

    async def _poll(self) -> None:
        """Long polling that confirms an update to Telegram only once it has been handled.

        PTB's Updater confirms a batch (by the next getUpdates' offset) as soon as it has put it
        in its in-memory queue, so a crash lost every queued update not yet stored. Here the
        offset moves past an update only after ingest has stored and answered it, so whatever a
        crash, or a database outage, interrupts is still unconfirmed and Telegram delivers it
        again (ingest ignores the copies of what was already handled).
        """
        bot, backoff = self.application.bot, 0.0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=self._offset or None, timeout=timedelta(seconds=self.poll_timeout),
                    allowed_updates=ALLOWED_UPDATES,
                )
            except InvalidToken:
                log.error("telegram: the token was refused; long polling stops")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(send_error(exc).retry_after or 1.0)
                continue
            except TimedOut:
                continue
            except TelegramError as exc:
                backoff = min(MAX_POLL_BACKOFF, backoff * 2 or 1.0)
                log.warning("telegram: getUpdates failed (%s); again in %.0fs", exc, backoff)
                await asyncio.sleep(backoff)
                continue
            first_failed = await self._handle_batch(updates)
            if first_failed is None:
                backoff = 0.0
                if updates:
                    self._offset = updates[-1].update_id + 1
                continue
            self._offset = first_failed  # confirm what came before it; the rest comes again
            backoff = min(MAX_POLL_BACKOFF, backoff * 2 or 1.0)
            await asyncio.sleep(backoff)

    async def _handle_batch(self, updates: list[Update]) -> int | None:
        """Handle a getUpdates batch; the id of the first update that must come again, if any.

        Each chat's updates are handled in order, and different chats side by side: under load
        a batch holds many citizens, whose messages then reach the classifiers together (where
        batching pays) instead of one after another. Within a chat, an update that fails stops
        the ones after it, so a citizen's messages are never answered out of order.
        """
        chats: dict[object, list[Update]] = {}
        for update in updates:
            chats.setdefault(_chat_key(update), []).append(update)
        failed = await asyncio.gather(*(self._handle_chat(chat) for chat in chats.values()))
        return min((update_id for update_id in failed if update_id is not None), default=None)

    async def _handle_chat(self, updates: list[Update]) -> int | None:
        for update in updates:
            try:
                await self._dispatch(update)
            except StorageUnavailable as exc:
                log.warning(
                    "telegram: update %d waits for the database (%s)", update.update_id, exc
                )
                return update.update_id
            except Exception:
                attempts = self._failures.get(update.update_id, 0) + 1
                if attempts >= MAX_HANDLING_ATTEMPTS:  # a poison update must not stall the bot
                    log.exception(
                        "telegram: update %d failed %d times; skipped", update.update_id, attempts
                    )
                    self._failures.pop(update.update_id, None)
                    continue
                self._failures[update.update_id] = attempts
                log.exception("telegram: handling update %d failed", update.update_id)
                return update.update_id
            self._failures.pop(update.update_id, None)
        return None

    async def process_webhook(self, secret: str | None, body: bytes) -> int:
        """Handle one webhook POST; the HTTP status to answer with.

        Errors while handling propagate, so the web server answers 5xx and Telegram retries.
        """
        expected = self.webhook_secret or ""
        if expected and not hmac.compare_digest((secret or "").encode(), expected.encode()):
            return 403
        # Reading the update (JSON, PTB's objects, the domain event) is all done before
        # anything is stored: what cannot be read is refused with a 400, never half-handled.
        try:
            update = Update.de_json(json.loads(body), self.application.bot)
            event = self._event_of(update)
        except UNREADABLE as exc:
            log.warning("telegram: rejected a malformed webhook update: %.300s", exc)
            return 400
        await self._deliver(update, event)
        return 200

    def _event_of(self, update: Update) -> InboundEvent | None:
        bot = self.application.bot
        me = BotIdentity(bot.id, bot.username) if bot.username else None
        return to_inbound(update, me)

    async def _dispatch(self, update: Update) -> None:
        try:
            event = self._event_of(update)
        except MalformedEvent as exc:  # delivering it again cannot help
            log.warning("telegram: skipped a malformed update: %.300s", exc)
            return
        await self._deliver(update, event)

    async def _deliver(self, update: Update, event: InboundEvent | None) -> None:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()  # stops the button's spinner
            except TelegramError as exc:
                log.debug("telegram: could not answer callback: %s", exc)
        if event is not None and self._on_event is not None:
            await self._on_event(event)

    async def send(self, message: OutboundMessage) -> str:
        address = message.address
        markup = _keyboard(message.buttons) if message.buttons else None
        parts = split_text(message.text)
        quote = None
        if address.reply_to and address.chat_id.startswith("-"):  # a group: quote the question
            quote = ReplyParameters(int(address.reply_to), allow_sending_without_reply=True)
        sent_ids = []
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                sent = await self.application.bot.send_message(
                    chat_id=address.chat_id,
                    text=part,
                    message_thread_id=int(address.thread_id) if address.thread_id else None,
                    reply_markup=markup if last else None,
                    reply_parameters=quote if index == 0 else None,
                )
                sent_ids.append(str(sent.message_id))
        except TelegramError as exc:
            raise send_error(exc) from exc
        return sent_ids[-1]

    async def send_document(
        self, address: Address, filename: str, content: bytes, caption: str = ""
    ) -> str:
        """A file for the citizen (their data export), as a Telegram document."""
        try:
            sent = await self.application.bot.send_document(
                chat_id=address.chat_id,
                document=InputFile(content, filename=filename),
                caption=caption[:1024] or None,
                message_thread_id=int(address.thread_id) if address.thread_id else None,
            )
        except TelegramError as exc:
            raise send_error(exc) from exc
        return str(sent.message_id)

    async def fetch_file(self, ref: str, max_bytes: int) -> bytes:
        """The bytes of a file a citizen sent (`Attachment.ref`), held in memory.

        The size getFile reports is checked before downloading, so an oversized photo costs
        one API call instead of the download. Too big or unknown is permanent (retrying
        cannot help); network and 5xx errors are not.
        """
        try:
            file = await self.application.bot.get_file(ref)
            if file.file_size is not None and file.file_size > max_bytes:
                raise SendError(
                    f"telegram: file {ref} has {file.file_size} bytes, over {max_bytes}",
                    permanent=True,
                )
            if not file.file_path:
                raise SendError(f"telegram: file {ref} cannot be downloaded", permanent=True)
            content = bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise send_error(exc) from exc
        if len(content) > max_bytes:  # getFile's size is optional: never keep more than allowed
            raise SendError(
                f"telegram: file {ref} has {len(content)} bytes, over {max_bytes}", permanent=True
            )
        return content

    async def send_poll(
        self, address: Address, question: str, options: list[str]
    ) -> tuple[str, str]:
        """A native poll, not anonymous, so each answer arrives as a `poll_answer` tied to one
        citizen; returns (message id, Telegram's poll id)."""
        try:
            sent = await self.application.bot.send_poll(
                chat_id=address.chat_id,
                question=question,
                options=options,
                is_anonymous=False,
                allows_multiple_answers=False,
                message_thread_id=int(address.thread_id) if address.thread_id else None,
            )
        except TelegramError as exc:
            raise send_error(exc) from exc
        assert sent.poll is not None
        return str(sent.message_id), str(sent.poll.id)

    async def stop_poll(self, address: Address, message_id: str) -> None:
        try:
            await self.application.bot.stop_poll(
                chat_id=address.chat_id, message_id=int(message_id)
            )
        except BadRequest as exc:
            if "already closed" not in exc.message.lower():
                raise send_error(exc) from exc
        except TelegramError as exc:
            raise send_error(exc) from exc
