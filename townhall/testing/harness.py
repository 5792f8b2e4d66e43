"""The whole bot running against the local fakes: used by the end-to-end tests and the demo.

`running_townhall` starts a fake Telegram and a fake Slack on 127.0.0.1, points real settings at
them, and starts the real application, so that everything between the fakes' HTTP APIs and the
database is the production code path.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlmodel import Session, select

from listening.models import OutboxItem
from townhall.app import Townhall
from townhall.models import Models
from townhall.settings import Settings
from townhall.testing.fake_slack import FakeSlack
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.fake_x import FakeX

TRIAGE_CHANNEL = "C0TRIAGE01"
STAFF_ID = "U0STAFF001"  # an admin: may do everything
AGENT_ID = "U0AGENT001"  # staff with the agent role only
OUTSIDER_ID = "U0OUTSIDE1"
WEBHOOK_SECRET = "webhook-secret-0123456789"


def free_port() -> int:
    """A port that was free a moment ago (for a webhook URL that must be known up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Harness:
    bot: Townhall
    telegram: FakeTelegram
    slack: FakeSlack
    settings: Settings
    x: FakeX | None = None

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.bot.web.port}"

    async def wait_for_reply(
        self, chat_id: int, *, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The bot's messages to `chat_id`, once there are at least `count` of them."""
        return await self.telegram.wait_for_sent(
            lambda sent: sent.get("method") == "sendMessage",
            chat_id=chat_id, count=count, timeout=timeout,
        )

    async def outbox_settled(self, timeout: float = 10.0) -> None:
        """Wait until nothing is pending in the outbox (sends are marked after they land)."""

        def pending(session: Session) -> int:
            query = select(OutboxItem.id).where(OutboxItem.status == "pending")
            return len(session.exec(query).all())

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.bot.db.run(pending):
            if loop.time() > deadline:
                raise TimeoutError("the outbox still has pending items")
            await asyncio.sleep(0.05)

    async def wait_for_x_reply(
        self, post: dict[str, Any], *, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The bot's reply posts under a citizen's post, once there are `count` of them."""
        assert self.x is not None, "start the harness with x=True"
        fake = self.x
        return await fake.wait_for(
            lambda: (found := fake.replies_to(post["id"])) and len(found) >= count and found,
            timeout=timeout,
        )

    def cards(self, channel: str = TRIAGE_CHANNEL) -> list[dict[str, Any]]:
        """Top-level messages in the channel (the triage channel) with a case card."""
        return [
            m for m in self.slack.messages(channel)
            if m.get("bot_id") and m.get("blocks") and m.get("thread_ts") in (None, m.get("ts"))
        ]

    async def wait_for_card(
        self, predicate=lambda card: True, timeout: float = 10.0, channel: str = TRIAGE_CHANNEL
    ) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((c for c in self.cards(channel) if predicate(c)), None)

        return await self.slack.wait_for(find, timeout=timeout)


def card_text(card: dict[str, Any]) -> str:
    """Everything a person reads on a card, as one string."""
    parts: list[str] = []
    for block in card.get("blocks", []):
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e.get("text", {}).get("text", "") if isinstance(e.get("text"), dict)
                  else e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(parts)


def keyboard(sent: dict[str, Any]) -> dict[str, str]:
    """label -> callback_data of the inline keyboard under a message the bot sent on Telegram."""
    rows = (sent.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


def card_buttons(card: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of the card's buttons."""
    return {
        element["action_id"]: element.get("value", "")
        for block in card.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("type") == "button"
    }


@asynccontextmanager
async def running_townhall(
    models: Models,
    *,
    database_url: str,
    data_dir: Path,
    slack_mode: Literal["http", "socket"] = "http",
    telegram_mode: Literal["polling", "webhook"] = "polling",
    x: FakeX | bool = False,
    x_settings: dict[str, Any] | None = None,
    fakes: tuple[FakeTelegram, FakeSlack] | None = None,
    **overrides: Any,
) -> AsyncIterator[Harness]:
    """Fakes up, bot up; everything down again on exit.

    `x=True` adds a fake X (polled every 0.2 s); pass a started `FakeX` instead to keep it
    across two runs of the bot (a restart), and `x_settings` to override `[x]` settings.
    `fakes` does the same for Telegram and Slack: started fakes, kept running on exit.
    """
    telegram, slack = fakes or (FakeTelegram(), FakeSlack())
    fake_x = FakeX() if x is True else x or None
    if fakes is None:
        await telegram.start()
        await slack.start()
    if x is True:
        assert fake_x is not None
        await fake_x.start()
    slack.add_user(STAFF_ID, "sam.staff")
    slack.add_user(AGENT_ID, "avery.agent")
    slack.add_user(OUTSIDER_ID, "olive.outsider")
    port = free_port() if telegram_mode == "webhook" else 0
    telegram_settings: dict[str, Any] = {
        "token": telegram.token,
        "api_url": telegram.base_url,
        "file_url": telegram.base_file_url,
        "poll_timeout": 1,
    }
    if telegram_mode == "webhook":
        telegram_settings["webhook_url"] = f"http://127.0.0.1:{port}/telegram/webhook"
        telegram_settings["webhook_secret"] = WEBHOOK_SECRET
    slack_settings: dict[str, Any] = {
        "bot_token": slack.bot_token,
        "api_url": slack.api_url,
        "triage_channel": TRIAGE_CHANNEL,
        "staff": [STAFF_ID, AGENT_ID],
        "admins": [STAFF_ID],
        "mode": slack_mode,
    }
    if slack_mode == "socket":
        slack_settings["app_token"] = slack.app_token
    else:
        slack_settings["signing_secret"] = slack.signing_secret
    if fake_x is not None:
        overrides["x"] = {
            **fake_x.credentials, "api_url": fake_x.base_url, "poll_interval": 0.2,
            "listen_interval": 0.2, **(x_settings or {}),
        }  # fmt: skip
    # the weekly digest is made when a test asks for it, into the test's folder
    overrides.setdefault("digest", {"enabled": False, "out_dir": data_dir / "digests"})
    overrides.setdefault("polls", {"tally_seconds": 0.5})  # live tallies without the wait
    settings = Settings.load(
        database_url=database_url,
        data_dir=data_dir,
        http={"host": "127.0.0.1", "port": port},
        telegram=telegram_settings,
        slack=slack_settings,
        outbox={"base_delay": 0.1, "poll_interval": 0.25},
        **overrides,
    )
    bot = Townhall(settings, models)
    try:
        await bot.start()
        if slack_mode == "http":
            slack.deliver_to(f"http://127.0.0.1:{bot.web.port}/slack/events")
        yield Harness(bot, telegram, slack, settings, fake_x)
    finally:
        await bot.stop()
        if fakes is None:
            await slack.stop()
            await telegram.stop()
        if x is True and fake_x is not None:
            await fake_x.stop()
