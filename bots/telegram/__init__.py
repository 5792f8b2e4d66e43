"""Telegram, on python-telegram-bot: updates in through long polling or a webhook, replies,
polls and files out."""

from bots.telegram.channel import ALLOWED_UPDATES, TelegramChannel, send_error, split_text
from bots.telegram.inbound import CHANNEL, BotIdentity, to_inbound

__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL",
    "BotIdentity",
    "TelegramChannel",
    "send_error",
    "split_text",
    "to_inbound",
]
