"""Telegram, on python-telegram-bot: long polling or a webhook, and sending replies.

`to_inbound` is a pure function from a PTB `Update` to a domain event; the channel class only
wires PTB's handlers to it and translates PTB errors into `SendError` for the outbox. In webhook
mode our own web server receives the POST (one server for every platform) and hands it to
`process_webhook`, which answers with an HTTP status so Telegram redelivers what failed.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, MessageLimit
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bots.base import OnEvent
from townhall.domain import (
    Address,
    Attachment,
    Button,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    OutboundMessage,
    PollAnswer,
    Sender,
    SendError,
)

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query", "poll_answer"]
# buttons with labels this short (ratings "1".."5", "Yes"/"No") fit side by side on a phone
SHORT_LABEL = 4


def _sender(user) -> Sender:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return Sender(str(user.id), name, user.language_code)


def _button_press(query: CallbackQuery) -> ButtonPress | None:
    message = query.message
    if message is None or not query.data:
        return None
    action, _, value = query.data.partition(":")
    return ButtonPress(
        channel=CHANNEL,
        external_id=f"callback:{query.id}",
        address=Address(CHANNEL, str(message.chat.id)),
        sender=_sender(query.from_user),
        action=action,
        value=value,
        sent_at=message.date,
    )


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is, to tell whether a group message is addressed to it."""

    id: int
    username: str


def _entities(message: Message) -> dict[MessageEntity, str]:
    """The text's entities, or the caption's: a photo addresses the bot through its caption."""
    if message.text is not None:
        return message.parse_entities()
    return message.parse_caption_entities()


def _addressed_to(message: Message, me: BotIdentity | None) -> bool:
    """In a group, the bot answers a command, a mention of it, or a reply to one of its posts."""
    if me is None:
        return False
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return True
    for entity, text in _entities(message).items():
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            target = text.partition("@")[2]
            return not target or target.lower() == me.username.lower()
        if entity.type == MessageEntity.MENTION and text[1:].lower() == me.username.lower():
            return True
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == me.id:
            return True
    return False


def _without_mention(text: str, me: BotIdentity | None) -> str:
    if me is None:
        return text
    return re.sub(rf"@{re.escape(me.username)}\b", "", text, flags=re.IGNORECASE).strip()


def _attachments(message: Message) -> tuple[Attachment, ...]:
    """What the citizen shared besides text, by reference only: downloading a photo is the
    caller's decision (`TelegramChannel.fetch_file`), not something every update pays for."""
    found: list[Attachment] = []
    if message.photo:
        # Telegram sends several sizes of one photo; the largest is the one worth keeping
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        found.append(Attachment("photo", ref=largest.file_id, size=largest.file_size or 0))
    if message.location is not None:
        found.append(
            Attachment(
                "location",
                latitude=message.location.latitude,
                longitude=message.location.longitude,
            )
        )
    return tuple(found)


def _reply_to_bot(message: Message, me: BotIdentity | None) -> str | None:
    """The id of the bot's message this one answers, so a reply to a case update can find its
    case; replies to other people's messages are conversation, not answers to us."""
    replied = message.reply_to_message
    author = replied.from_user if replied is not None else None
    if replied is None or author is None or not author.is_bot:
        return None
    if me is not None and author.id != me.id:
        return None  # another bot in the group
    return str(replied.message_id)


def to_inbound(update: Update, me: BotIdentity | None = None) -> InboundEvent | None:
    """The domain event for a Telegram update, or None for updates we do not handle.

    A group message is listened to (stored and classified) unless it is addressed to the bot
    (`me`); then it is answered in the group, and private matters go to the sender's own chat.
    Photos and locations become attachments only when the message is private or addressed to
    the bot: a bystander's photo in a group is not ours to collect, so listening keeps only
    its caption, as for any other group chatter.
    """
    if update.callback_query is not None:
        return _button_press(update.callback_query)
    answer = update.poll_answer
    if answer is not None and answer.user is not None:
        return PollAnswer(
            channel=CHANNEL,
            external_id=f"poll_answer:{update.update_id}",
            address=Address(CHANNEL, str(answer.user.id)),
            sender=_sender(answer.user),
            poll_id=answer.poll_id,
            option_ids=tuple(answer.option_ids),
            sent_at=datetime.now(UTC),
        )
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    text = message.text or message.caption or ""
    private = message.chat.type == ChatType.PRIVATE
    addressed = private or _addressed_to(message, me)
    attachments = _attachments(message) if addressed else ()
    if not text.strip() and not attachments:
        return None
    command, args = None, text
    entities = message.entities or message.caption_entities or ()
    if entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0:
        word = text[: entities[0].length]
        command = word[1:].split("@", 1)[0].lower()
        args = text[entities[0].length :].strip()
    thread = str(message.message_thread_id) if message.is_topic_message else None
    if not private and addressed and command is None:
        text = _without_mention(text, me) or text
    return InboundMessage(
        channel=CHANNEL,
        external_id=f"{message.chat.id}:{message.message_id}",
        address=Address(CHANNEL, str(message.chat.id), thread, str(message.message_id)),
        sender=_sender(message.from_user),
        text=text,
        sent_at=message.date,
        command=command,
        args=args if command else "",
        is_private=private,
        listen_only=not addressed,
        # Telegram: a user's private chat with the bot has the user's id
        private_address=None if private else Address(CHANNEL, str(message.from_user.id)),
        attachments=attachments,
        reply_to_id=_reply_to_bot(message, me),
    )


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long text into messages Telegram accepts, at paragraph or line breaks if possible."""
    parts: list[str] = []
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
        )
        if webhook_url:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        self.application.add_handler(
            MessageHandler(
                filters.TEXT | filters.CAPTION | filters.COMMAND | filters.PHOTO | filters.LOCATION,
                self._on_update,
            )
        )
        self.application.add_handler(CallbackQueryHandler(self._on_update))
        self.application.add_handler(PollAnswerHandler(self._on_update))
        self.application.add_error_handler(self._on_error)
        self._on_event: OnEvent | None = None

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
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=self.poll_timeout, poll_interval=0, allowed_updates=ALLOWED_UPDATES
            )
            log.info("telegram: long polling as @%s", app.bot.username)

    async def stop(self) -> None:
        app = self.application
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def process_webhook(self, secret: str | None, body: bytes) -> int:
        """Handle one webhook POST; the HTTP status to answer with.

        Errors while handling propagate, so the web server answers 5xx and Telegram retries.
        """
        expected = self.webhook_secret or ""
        if expected and not hmac.compare_digest((secret or "").encode(), expected.encode()):
            return 403
        try:
            data = json.loads(body)
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("telegram: rejected a malformed webhook update: %s", exc)
            return 400
        await self._dispatch(update)
        return 200

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._dispatch(update)

    async def _dispatch(self, update: Update) -> None:
        bot = self.application.bot
        me = BotIdentity(bot.id, bot.username) if bot.username else None
        event = to_inbound(update, me)
        if update.callback_query is not None:
            try:
                await update.callback_query.answer()  # stops the button's spinner
            except TelegramError as exc:
                log.debug("telegram: could not answer callback: %s", exc)
        if event is not None and self._on_event is not None:
            await self._on_event(event)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram: handling an update failed", exc_info=context.error)

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
