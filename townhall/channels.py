"""Building the channel adapters and the staff console from the settings.

Each builder returns None when its platform has no credentials, after saying in the log which
variables would enable it: a city can start with Telegram alone and add X or Slack later.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pydantic import SecretStr

from bots.slack import SlackConsole
from bots.slack.console import CannedDrafter, CommandRunner, FaqDrafter, PollCreator
from bots.telegram import TelegramChannel
from bots.x import XApiClient, XChannel
from bots.x.channel import Notify, QuerySource
from listening.checkpoints import Checkpoints
from townhall.db import Database
from townhall.settings import Settings

log = logging.getLogger(__name__)


def build_telegram(settings: Settings) -> TelegramChannel | None:
    tg = settings.telegram
    if not tg.enabled:
        log.info("telegram: disabled (set TOWNHALL_TELEGRAM__TOKEN to enable)")
        return None
    assert tg.token is not None
    return TelegramChannel(
        tg.token.get_secret_value(),
        api_url=tg.api_url,
        file_url=tg.file_url,
        webhook_url=tg.webhook_url,
        webhook_secret=tg.webhook_secret.get_secret_value() if tg.webhook_secret else None,
        poll_timeout=tg.poll_timeout,
    )


def build_x(
    settings: Settings,
    db: Database,
    queries: QuerySource,
    notify: Notify | None,
) -> XChannel | None:
    x = settings.x
    if not x.enabled:
        log.info("x: disabled (set TOWNHALL_X__BEARER_TOKEN and/or the OAuth 1.0a keys)")
        return None

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value else None

    client = XApiClient(
        api_url=x.api_url, bearer_token=secret(x.bearer_token),
        consumer_key=secret(x.consumer_key), consumer_secret=secret(x.consumer_secret),
        access_token=secret(x.access_token),
        access_token_secret=secret(x.access_token_secret),
    )
    return XChannel(
        client,
        checkpoints=Checkpoints(db),
        queries=queries,
        notify=notify,
        dm_personal_details=x.dm_personal_details,
        backfill=timedelta(hours=x.backfill_hours),
    )


def build_slack(
    settings: Settings, *, faq_draft: FaqDrafter, commands: CommandRunner,
    polls: PollCreator | None = None, canned_draft: CannedDrafter | None = None,
) -> SlackConsole | None:
    slack = settings.slack
    if not slack.enabled or not slack.triage_channel:
        log.info(
            "slack: disabled (set TOWNHALL_SLACK__BOT_TOKEN, TOWNHALL_SLACK__TRIAGE_CHANNEL "
            "and TOWNHALL_SLACK__APP_TOKEN or TOWNHALL_SLACK__SIGNING_SECRET); escalated "
            "cases are stored but not shown to staff"
        )
        return None
    assert slack.bot_token is not None
    return SlackConsole(
        bot_token=slack.bot_token.get_secret_value(),
        triage_channel=slack.triage_channel,
        staff=slack.staff,
        leads=slack.leads,
        admins=slack.admins,
        api_url=slack.api_url,
        signing_secret=slack.signing_secret.get_secret_value() if slack.signing_secret else None,
        app_token=(
            slack.app_token.get_secret_value() if slack.app_token and slack.socket_mode else None
        ),
        faq_draft=faq_draft,
        commands=commands,
        polls=polls,
        canned_draft=canned_draft,
    )
