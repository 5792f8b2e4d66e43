"""`/townhall listen ...` from Slack, end to end: bolt receives the signed slash command, the
listening queries change in the database, and the X adapter searches with them."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from townhall.testing.harness import OUTSIDER_ID, STAFF_ID, Harness, running_townhall

CONFIGURED = "pothole OR streetlight"


@pytest.fixture
async def xh(models, database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_townhall(
        models, database_url=database_url, data_dir=tmp_path, x=True,
        x_settings={"listen_queries": [CONFIGURED]},
    ) as h:
        yield h


async def _ask(harness: Harness, text: str, user: str = STAFF_ID) -> str:
    delivery = await harness.slack.slash_command(user, "/townhall", text)
    assert delivery.acked
    return harness.slack.ephemerals[-1]["text"]


async def test_staff_manage_listening_queries(xh: Harness) -> None:
    assert CONFIGURED in await _ask(xh, "listen list")
    assert "Now listening" in await _ask(xh, 'listen add "Springfield" flooding')
    assert "Already listening" in await _ask(xh, 'listen add  "Springfield"   flooding')
    listed = await _ask(xh, "listen list")
    assert '"Springfield" flooding' in listed and f"<@{STAFF_ID}>" in listed
    assert await xh.bot.listening_queries.active() == [CONFIGURED, '"Springfield" flooding']

    assert "settings file" in await _ask(xh, f"listen remove {CONFIGURED}")
    assert "Stopped listening" in await _ask(xh, 'listen remove "Springfield" flooding')
    assert "not in the list" in await _ask(xh, 'listen remove "Springfield" flooding')
    assert await xh.bot.listening_queries.active() == [CONFIGURED]


async def test_unknown_subcommand_shows_help_and_outsiders_are_refused(xh: Harness) -> None:
    assert "/townhall listen add" in await _ask(xh, "frobnicate")
    await xh.slack.slash_command(OUTSIDER_ID, "/townhall", "listen add anything")
    assert "Only the city's communications staff" in xh.slack.ephemerals[-1]["text"]
    assert await xh.bot.listening_queries.active() == [CONFIGURED]


async def test_listening_is_off_without_x(harness: Harness) -> None:
    assert "X channel is not configured" in await _ask(harness, "listen add pothole")
