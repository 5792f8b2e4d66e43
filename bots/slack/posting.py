"""What the Slack console posts: cards, notes, notices, Block Kit messages and files.

These are the operations the outbox calls. Each maps a slack_sdk failure to the outbox's
`SendError` (rate limits with their Retry-After, permanent errors that retrying cannot fix), so
a card that Slack refuses is recorded as failed instead of retried for ever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.blocks import card_blocks, card_fallback_text, escape_clipped
from townhall.domain import Card, SendError

# buttons whose value is the case id, on every case card
CASE_BUTTONS = frozenset({"case_claim", "case_reply", "case_resolve"})
# chat.postMessage refuses a longer `text` (msg_too_long)
MAX_TEXT = 40_000
# Slack errors that retrying cannot fix.
PERMANENT_ERRORS = {
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "invalid_blocks", "message_not_found", "cant_update_message", "invalid_auth",
    "account_inactive", "token_revoked", "missing_scope", "not_authed",
}


def send_error(exc: Exception) -> SendError:
    """Translate a slack_sdk failure into the outbox's terms."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", "1") or 1)
            return SendError("slack rate limited", retry_after=retry_after)
        error = str(exc.response.get("error", "")) if exc.response.data else ""
        return SendError(f"slack {status} {error}", permanent=error in PERMANENT_ERRORS)
    return SendError(f"slack request failed: {exc}")


class SlackPosting:
    """Mixin of `SlackConsole`: needs `client` and `triage_channel`."""

    client: AsyncWebClient
    triage_channel: str

    async def post_card(self, card: Card, channel: str | None = None) -> tuple[str, str]:
        try:
            response = await self.client.chat_postMessage(
                channel=channel or self.triage_channel, text=card_fallback_text(card),
                blocks=card_blocks(card),
            )
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        return str(response["channel"]), str(response["ts"])

    async def case_of_card(self, channel: str, ts: str) -> int | None:
        """The case id on a card this app posted, from its buttons; None for other messages.

        For a staff reply in a thread the database cannot place: the card was posted but its
        ts is not recorded yet (a moment after posting), or never will be (the bot died between
        the post and the record, and the card was posted again after the restart).
        """
        try:
            response = await self.client.conversations_history(
                channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
            )
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        for message in response.get("messages") or []:
            if message.get("ts") != ts or not message.get("bot_id"):
                continue
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    value = str(element.get("value", ""))
                    if element.get("action_id") in CASE_BUTTONS and value.isdigit():
                        return int(value)
        return None

    async def update_card(self, channel: str, ts: str, card: Card) -> None:
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, text=card_fallback_text(card), blocks=card_blocks(card)
            )
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc

    async def post_note(self, channel: str, ts: str, text: str, *, quoted: str = "") -> str:
        if quoted:  # a citizen's words: shown as written, never as markup or a mention, and
            # cut to what a message holds (escaping can make a long text five times longer)
            text = f"{text} {escape_clipped(quoted, MAX_TEXT - len(text) - 1)}"
        try:
            response = await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        return str(response["ts"])

    async def post_text(self, text: str) -> str:
        try:
            response = await self.client.chat_postMessage(channel=self.triage_channel, text=text)
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        return str(response["ts"])

    async def post_blocks(
        self, text: str, blocks: list[dict[str, Any]], channel: str | None = None
    ) -> tuple[str, str]:
        """A Block Kit message (a digest summary); returns (channel id, ts)."""
        try:
            response = await self.client.chat_postMessage(
                channel=channel or self.triage_channel, text=text, blocks=blocks
            )
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        return str(response["channel"]), str(response["ts"])

    async def upload_file(
        self, path: Path, *, channel: str, title: str, thread_ts: str | None = None,
        comment: str | None = None,
    ) -> str:
        """Share a file in a channel (or a message's thread) through the external-upload flow
        (`files_upload_v2`); returns the file id."""
        try:
            response = await self.client.files_upload_v2(
                channel=channel, file=str(path), filename=path.name, title=title,
                thread_ts=thread_ts, initial_comment=comment,
            )
        except (SlackApiError, SlackRequestError, OSError, TimeoutError) as exc:
            raise send_error(exc) from exc
        files = response.get("files") or [response.get("file") or {}]
        return str(files[0].get("id", ""))
