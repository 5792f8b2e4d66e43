"""Property-based tests of every inbound HTTP endpoint, against the whole running bot.

One bot per database backend for the module (models, fakes, web server and all), fed raw HTTP:
random and mutated payloads from the platforms' real shapes, wrong secrets and signatures,
invalid UTF-8, bodies over 1 MB, hostile text. For every request: no 5xx and no traceback in
the log. For what is invalid: a 4xx, and not a row more in `messages`, `cases` or `outbox`.
For what is valid but odd (the platform's shape, hostile text): a 2xx, the text stored as
sent, and every reply and card it causes delivered through the fakes' checks.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select

from listening.models import Message, OutboxItem
from townhall.domain import InboundMessage, event_from_dict
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.harness import (
    STAFF_ID,
    TRIAGE_CHANNEL,
    WEBHOOK_SECRET,
    Harness,
    running_townhall,
)
from townhall.testing.hostile import (
    garbage_bodies,
    hostile_text,
    json_bytes,
    mutated,
    visible_hostile_text,
)
from townhall.web import MAX_BODY

pytestmark = [
    pytest.mark.models,
    # The test's own aiohttp client can leave a socket for the garbage collector after the bot
    # cut a hostile request short (a 413 while a 1 MB body was still being written, a 400 to an
    # 8 kB URL): Python then warns about it wherever the collection happens to run. This is
    # the client's side, not the bot's, and what each test checks (status, log, rows) is
    # unaffected, so that one warning is not an error here.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <socket\.socket:pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <function _SelectorTransport\.__del__"
        r":pytest.PytestUnraisableExceptionWarning"),
]

HTTP = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
    ],
)  # fmt: skip
TABLES = ("messages", "cases", "outbox")
GOOD_SECRET = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
_ids = itertools.count(700_000)  # unique message and update ids across examples
GROUP_CITIZEN = 5550500


# --- one running bot per backend --------------------------------------------------------------


def _postgres_copy(template: str, base_url: str) -> tuple[str, str]:
    name = f"townhall_props_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(name: str, base_url: str) -> None:
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def bot(
    request: pytest.FixtureRequest, models, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    """The bot with a webhook for Telegram and signed HTTP for Slack, on a fresh database."""
    data_dir: Path = tmp_path_factory.mktemp(f"props-{request.param}")
    dropped = None
    if request.param == "sqlite":
        from townhall.db import Database

        url = f"sqlite:///{data_dir / 'townhall.db'}"
        database = Database(url)
        database.upgrade()
        database.close()
    else:
        base = os.environ["TOWNHALL_TEST_POSTGRES_URL"]
        dropped, url = _postgres_copy(request.getfixturevalue("postgres_template"), base)
    try:
        async with running_townhall(
            models, database_url=url, data_dir=data_dir, telegram_mode="webhook"
        ) as harness:
            # a citizen who also talks to the bot privately, where group answers may go
            harness.telegram.user_sends("hello", user_id=GROUP_CITIZEN)
            await harness.telegram.wait_webhook_idle()
            await harness.outbox_settled()
            yield harness
    finally:
        if dropped is not None:
            _drop_postgres(dropped, os.environ["TOWNHALL_TEST_POSTGRES_URL"])


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # a fresh connection per request: after a refused request the server may drop one, and a
    # reused, half-closed connection is left for the garbage collector to warn about
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def _post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    async with http.post(url, data=io.BytesIO(body), headers=headers) as response:
        return response.status, await response.text()


async def _counts(h: Harness) -> dict[str, int]:
    def count(session) -> dict[str, int]:
        conn = session.connection()
        return {t: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar_one() for t in TABLES}

    return await h.bot.db.run(count)


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """ERROR records that carry a traceback (an unhandled exception), whoever logged them."""
    return [
        f"{r.name}: {r.getMessage()[:300]}" for r in caplog.records
        if r.levelno >= logging.ERROR and (r.exc_info or r.name == "aiohttp.server")
    ]  # fmt: skip


async def _quiet(h: Harness) -> None:
    """Wait for what an accepted request set going: bolt's listeners and the outbox."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while any(
        "run_ack_function" in getattr(task.get_coro(), "__qualname__", "")
        for task in asyncio.all_tasks()
    ):
        assert loop.time() < deadline, "a Slack listener is still running"
        await asyncio.sleep(0.01)
    await h.outbox_settled()


async def _refused(
    h: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    url: str,
    body: bytes,
    headers: dict[str, str],
) -> int:
    """Send a request that must be refused; check the refusal left nothing behind."""
    caplog.clear()
    before = await _counts(h)
    status, answer = await _post(http, url, body, headers)
    assert 400 <= status < 500, (status, answer[:200])
    assert await _counts(h) == before
    assert _tracebacks(caplog) == []
    return status


# --- health and routing -----------------------------------------------------------------------


@HTTP
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=st.one_of(
        st.sampled_from(["/healthz", "/slack/events", "/telegram/webhook", "/", "/..%2f..%2f"]),
        hostile_text(flood=100).map(lambda s: "/" + quote(s, safe="")),
    ),
    query=st.dictionaries(st.text(max_size=10), hostile_text(flood=50), max_size=3),
)
async def test_any_route_and_method_is_answered_without_a_crash(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    query: dict[str, str],
) -> None:
    caplog.clear()
    url = f"{bot.web_url}{path}?{urlencode(query)}"
    try:
        async with http.request(method, url, allow_redirects=False) as response:
            status, body = response.status, await response.read()
    except aiohttp.ClientResponseError as exc:  # a 400 to a HEAD for an 8 kB URL, say
        status, body = exc.status, b""
    if path == "/healthz" and method == "GET" and len(url) < 8000:  # aiohttp's line limit
        assert status == 200 and json.loads(body)["ok"] is True
    assert status < 500 and _tracebacks(caplog) == []


# --- the Telegram webhook ---------------------------------------------------------------------

_maker = FakeTelegram()  # builds Updates exactly as the Bot API does; never started
_GROUP = {"chat_id": -1001234567890, "chat_type": "supergroup", "chat_title": "Elm Street"}


def _unique(update: Any) -> Any:
    """A fresh update and message id (an old one is a redelivery, answered 200 and ignored)."""
    if isinstance(update, dict):
        update["update_id"] = next(_ids)
        message = update.get("message")
        if isinstance(message, dict) and isinstance(message.get("message_id"), int):
            message["message_id"] = next(_ids)
    return update


def _telegram_seeds() -> list[dict[str, Any]]:
    text = _maker.user_sends("The streetlight on Elm is out", user_id=5550101, last_name="Ruiz")
    sender = text["message"]["from"]
    bot_post = {
        "message_id": 900,
        "date": text["message"]["date"],
        "chat": text["message"]["chat"],
        "from": _maker.bot_user,
        "text": "Where?",
    }
    pin = _maker.user_sends_location(39.7817, -89.6501, user_id=5550101)
    pin["message"]["reply_to_message"] = bot_post
    return [
        text, _maker.user_sends("/status TH-00012", user_id=5550102), pin,
        _maker.user_sends(f"@{_maker.bot_username} is the pool open?", user_id=5550103, **_GROUP),
        {"update_id": 1, "callback_query": {"id": "4382417921", "from": sender,
                                            "chat_instance": "-81", "data": "rate:5",
                                            "message": bot_post}},
        {"update_id": 1, "poll_answer": {"poll_id": "5411", "user": sender, "option_ids": [0],
                                         "option_persistent_ids": ["opt-0"]}},
    ]  # fmt: skip


TELEGRAM_SEEDS = _telegram_seeds()
secrets = st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)


@HTTP
@given(
    secret=secrets.filter(lambda s: s != WEBHOOK_SECRET),
    body=garbage_bodies() | st.sampled_from(TELEGRAM_SEEDS).map(json_bytes),
)
async def test_the_webhook_refuses_a_wrong_secret(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
    body: bytes,
) -> None:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    url = f"{bot.web_url}/telegram/webhook"
    assert await _refused(bot, http, caplog, url, body, headers) == 403


@HTTP
@given(body=garbage_bodies())
@example(body=b"\xc3\x28" * 1000)
@example(body=b"[" * 200_000)
async def test_the_webhook_refuses_what_is_not_an_update(
    bot: Harness, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    url = f"{bot.web_url}/telegram/webhook"
    headers = {"Content-Type": "application/json", **GOOD_SECRET}
    assert await _refused(bot, http, caplog, url, body, headers) == 400


@settings(HTTP, max_examples=60)
@given(update=st.sampled_from(TELEGRAM_SEEDS).flatmap(mutated).map(_unique))
async def test_mutated_updates_are_handled_or_refused_cleanly(
    bot: Harness, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, update: Any
) -> None:
    await _quiet(bot)
    caplog.clear()
    before = await _counts(bot)
    headers = {"Content-Type": "application/json", **GOOD_SECRET}
    status, answer = await _post(http, f"{bot.web_url}/telegram/webhook", json_bytes(update),
                                 headers)  # fmt: skip
    assert status in (200, 400), (status, answer[:200])
    if status == 400:
        assert await _counts(bot) == before
    assert _tracebacks(caplog) == []


def _text_update(text: str, first_name: str) -> dict[str, Any]:
    update = _maker.user_sends(text, user_id=5550300, first_name=first_name)
    update["message"].pop("entities", None)
    return _unique(update)


@settings(HTTP, max_examples=15)  # each one is classified, answered and carded: ~0.4 s
@given(
    text=visible_hostile_text(flood=2000).filter(lambda s: "\x00" not in s),
    name=hostile_text(flood=80).filter(lambda s: "\x00" not in s),
    group=st.booleans(),
)
@example(text="<!channel> " * 400 + "\u202e" * 50, name="<@U0STAFF001>", group=False)
@example(text="'; DROP TABLE messages; --" + "😀" * 300, name="\u200b", group=True)
async def test_hostile_text_is_stored_as_sent_and_every_reply_delivered(
    bot: Harness, caplog: pytest.LogCaptureFixture, text: str, name: str, group: bool
) -> None:
    """A citizen's message as the fake Telegram posts it to the webhook (a chat it knows, so
    every reply can be delivered): stored verbatim, answered, carded, nothing failing."""
    await _quiet(bot)
    caplog.clear()
    last_outbox = await _max_outbox_id(bot)
    who: dict[str, Any] = {"user_id": 5550400 + next(_ids) % 50, "first_name": name or "Ana"}
    if group:
        who.update(_GROUP, user_id=GROUP_CITIZEN)
        text_sent = f"@{bot.telegram.bot_username} {text}"
    else:
        text_sent = text
    update = bot.telegram.user_sends(text_sent, **who)
    await bot.telegram.wait_webhook_idle(timeout=20)
    assert bot.telegram.webhook_responses[-1] == 200
    message = update["message"]
    external_id = f"{message['chat']['id']}:{message['message_id']}"
    row = await bot.bot.db.run(
        lambda s: s.exec(select(Message).where(Message.external_id == external_id)).one()
    )
    event = event_from_dict(row.event)
    assert isinstance(event, InboundMessage)
    if not group:  # in a group the mention of the bot is taken out of the text
        assert row.text == text and event.text == text
    assert event.sender.display_name == (name or "Ana")[:64]
    await _quiet(bot)
    failed = await bot.bot.db.run(
        lambda s: s.exec(
            select(OutboxItem).where(OutboxItem.id > last_outbox, OutboxItem.status != "sent")
        ).all()
    )
    assert [(f.kind, f.last_error) for f in failed] == []
    assert _tracebacks(caplog) == []


async def _max_outbox_id(h: Harness) -> int:
    def highest(session) -> int:
        return session.connection().exec_driver_sql("SELECT MAX(id) FROM outbox").scalar() or 0

    return await h.bot.db.run(highest)


# --- the Slack endpoint -----------------------------------------------------------------------


def _interactive(kind: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": kind, "team": {"id": "T0TOWNHAL1", "domain": "townhall-test"},
        "user": {"id": STAFF_ID, "username": "sam.staff", "name": "sam.staff",
                 "team_id": "T0TOWNHAL1"},
        "api_app_id": "A0TOWNHAL1", "token": "fake-verification-token",
        "trigger_id": "1337.42.abcdef", "is_enterprise_install": False, "enterprise": None,
        **fields,
    }  # fmt: skip


def _click(action_id: str, value: str) -> dict[str, Any]:
    action = {"action_id": action_id, "block_id": "case_actions", "type": "button",
              "value": value, "action_ts": "1764500000.000100"}  # fmt: skip
    return _interactive(
        "block_actions", actions=[action], channel={"id": TRIAGE_CHANNEL, "name": "triage"},
        container={"type": "message", "message_ts": "1764500000.000100",
                   "channel_id": TRIAGE_CHANNEL, "is_ephemeral": False},
        state={"values": {}}, response_url="http://127.0.0.1:9/actions/T0/1/x",
    )  # fmt: skip


def _reply_form(text: str, case_id: str = "999999") -> dict[str, Any]:
    values = {
        "reply": {"text": {"type": "plain_text_input", "value": text}},
        "then": {"then": {"type": "radio_buttons", "selected_option": {"value": "open"}}},
    }
    view = {"id": "V0VIEW00001", "team_id": "T0TOWNHAL1", "type": "modal",
            "callback_id": "case_reply_modal", "private_metadata": case_id,
            "state": {"values": values}, "hash": "1764500000.abc"}  # fmt: skip
    return _interactive("view_submission", view=view, response_urls=[])


def _command(text: str) -> dict[str, str]:
    return {
        "token": "fake-verification-token", "team_id": "T0TOWNHAL1",
        "team_domain": "townhall-test", "channel_id": TRIAGE_CHANNEL, "channel_name": "triage",
        "user_id": STAFF_ID, "user_name": "sam.staff", "command": "/townhall", "text": text,
        "api_app_id": "A0TOWNHAL1", "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/commands/1", "trigger_id": "1337.42.abcdef",
    }  # fmt: skip


def _thread_reply(text: str) -> dict[str, Any]:
    ts = f"1764500001.{next(_ids):06d}"
    return {
        "token": "fake-verification-token", "team_id": "T0TOWNHAL1", "api_app_id": "A0TOWNHAL1",
        "type": "event_callback", "event_id": f"Ev{next(_ids)}", "event_time": 1764500001,
        "authorizations": [{"enterprise_id": None, "team_id": "T0TOWNHAL1",
                            "user_id": "U0TOWNBOT1", "is_bot": True,
                            "is_enterprise_install": False}],
        "event": {"type": "message", "user": STAFF_ID, "text": text, "ts": ts,
                  "thread_ts": "1764500000.000100", "channel": TRIAGE_CHANNEL,
                  "team": "T0TOWNHAL1", "event_ts": ts, "channel_type": "channel"},
    }  # fmt: skip


SLACK_SEEDS: list[tuple[str, Any]] = [
    ("interactive", _click("case_claim", "999999")),
    ("interactive", _click("case_reply", "999999")),
    ("interactive", _click("alert_dismiss", "999999")),
    ("interactive", _reply_form("We fixed it.")),
    ("command", _command("queues")),
    ("event", _thread_reply("Thanks, on it.")),
]


def _slack_body(kind: str, payload: Any) -> tuple[bytes, str]:
    if kind == "event":
        return json_bytes(payload), "application/json"
    if kind == "interactive":
        form = urlencode({"payload": json_bytes(payload)}).encode()
        return form, "application/x-www-form-urlencoded"
    fields = payload if isinstance(payload, dict) else {"text": payload}
    form = urlencode({str(k): v if isinstance(v, str) else json.dumps(v)
                      for k, v in fields.items()}).encode()  # fmt: skip
    return form, "application/x-www-form-urlencoded"


async def _signed(
    h: Harness, http: aiohttp.ClientSession, body: bytes, content_type: str
) -> tuple[int, str]:
    headers = {"Content-Type": content_type, **h.slack.sign(body)}
    return await _post(http, f"{h.web_url}/slack/events", body, headers)


@HTTP
@given(
    seed=st.sampled_from(SLACK_SEEDS) | garbage_bodies().map(lambda b: ("raw", b)),
    tamper=st.sampled_from(["none", "bad", "stale", "other-secret", "future"]),
)
async def test_slack_refuses_what_it_did_not_sign(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    seed: tuple[str, Any],
    tamper: str,
) -> None:
    kind, payload = seed
    body, content_type = (payload, "application/json") if kind == "raw" else _slack_body(*seed)
    headers = {"Content-Type": content_type}
    now = int(time.time())
    if tamper == "bad":
        headers |= {**bot.slack.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    elif tamper in ("stale", "future"):
        headers |= bot.slack.sign(body, timestamp=now + (-600 if tamper == "stale" else 600))
    elif tamper == "other-secret":
        from townhall.testing.fake_slack_transport import sign

        headers |= sign("not-the-signing-secret", body)
    await _refused(bot, http, caplog, f"{bot.web_url}/slack/events", body, headers)


@HTTP
@given(
    body=garbage_bodies(),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain"]
    ),
)
@example(body=b"payload=" + b"%5B" * 30_000, content_type="application/x-www-form-urlencoded")
async def test_slack_refuses_signed_bodies_it_cannot_read(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    headers = {"Content-Type": content_type, **bot.slack.sign(body)}
    await _refused(bot, http, caplog, f"{bot.web_url}/slack/events", body, headers)


@settings(HTTP, max_examples=60)
@given(seed=st.sampled_from(SLACK_SEEDS).flatmap(lambda s: mutated(s[1]).map(lambda m: (s[0], m))))
async def test_mutated_slack_payloads_are_handled_or_refused_cleanly(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    seed: tuple[str, Any],
) -> None:
    await _quiet(bot)
    caplog.clear()
    before = await _counts(bot)
    status, answer = await _signed(bot, http, *_slack_body(*seed))
    assert status < 500, (status, answer[:200])
    if status >= 400:
        assert await _counts(bot) == before
    await _quiet(bot)
    assert _tracebacks(caplog) == []


@settings(HTTP, max_examples=30)
@given(text=visible_hostile_text(flood=2000), which=st.sampled_from(["reply", "thread", "cmd"]))
async def test_hostile_staff_text_is_answered(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    text: str,
    which: str,
) -> None:
    """Staff text with markup and injections: a form error, an ephemeral, never a crash."""
    await _quiet(bot)
    caplog.clear()
    seed = {"reply": ("interactive", _reply_form(text)), "thread": ("event", _thread_reply(text)),
            "cmd": ("command", _command(text))}[which]  # fmt: skip
    status, answer = await _signed(bot, http, *_slack_body(*seed))
    assert status == 200, answer[:200]
    await _quiet(bot)
    assert _tracebacks(caplog) == []


# --- sizes --------------------------------------------------------------------------------------


@settings(HTTP, max_examples=8)
@given(extra=st.integers(1, 300_000), endpoint=st.sampled_from(["telegram", "slack"]))
async def test_bodies_over_a_megabyte_are_refused(
    bot: Harness,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    extra: int,
    endpoint: str,
) -> None:
    update = {**_text_update("big", "Ana"), "padding": "x" * (MAX_BODY + extra)}
    body = json_bytes(update)
    if endpoint == "telegram":
        url, headers = f"{bot.web_url}/telegram/webhook", {
            "Content-Type": "application/json", **GOOD_SECRET}  # fmt: skip
    else:
        url = f"{bot.web_url}/slack/events"
        headers = {"Content-Type": "application/json", **bot.slack.sign(body)}
    assert await _refused(bot, http, caplog, url, body, headers) == 413


async def test_an_update_just_under_a_megabyte_is_accepted(
    bot: Harness, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A huge text (no platform sends one, but it fits the cap) is stored and answered."""
    await _quiet(bot)
    caplog.clear()
    update = _text_update("x", "Ana")
    room = MAX_BODY - len(json_bytes(update))
    update["message"]["text"] = ("pothole on Elm " * MAX_BODY)[:room]
    body = json_bytes(update)
    assert len(body) <= MAX_BODY
    status, _ = await _post(http, f"{bot.web_url}/telegram/webhook", body,
                            {"Content-Type": "application/json", **GOOD_SECRET})  # fmt: skip
    assert status == 200
    await _quiet(bot)
    assert _tracebacks(caplog) == []
