"""The fake Telegram Bot API: spec-exact objects, the real PTB SDK against it, webhooks, faults."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict, NetworkError, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)

from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.fake_telegram_api import METHODS
from townhall.testing.telegram_spec import (
    Spec,
    SpecViolation,
    load_spec,
    spec_errors,
    validate_method_result,
    validate_object,
)

REPO = Path(__file__).resolve().parents[2]
KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "vote:yes"}]]}


def _spec_path() -> Path:
    base = os.environ.get("TOWNHALL_PLATFORM_FIXTURES")
    root = Path(base) if base else REPO.parent / "shared" / "platform-fixtures"
    return root / "telegram" / "api.json"


@pytest.fixture(scope="session")
def spec() -> Spec:
    path = _spec_path()
    if not path.exists():
        pytest.skip(f"Bot API spec not found at {path} (set TOWNHALL_PLATFORM_FIXTURES)")
    return load_spec(path)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_backoff=0.01) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    fake: FakeTelegram,
    method: str,
    *,
    how: str = "form",
    token: str | None = None,
    **params: Any,
) -> tuple[int, dict[str, Any]]:
    """Call the fake over HTTP like PTB does (form: non-strings JSON-encoded), or JSON/query."""
    url = f"{fake.base_url}{token or fake.token}/{method}"
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    if how == "json":
        request = http.post(url, json=params)
    elif how == "query":
        request = http.get(url, params=encoded)
    else:
        request = http.post(url, data=encoded)
    async with request as resp:
        return resp.status, await resp.json()


def build_app(fake: FakeTelegram) -> Any:
    return (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .job_queue(None)
        .build()
    )


# --- the validator itself ---------------------------------------------------------------------

TOY_SPEC: Spec = {
    "methods": {},
    "types": {
        "Point": {
            "fields": [
                {"name": "x", "types": ["Float"], "required": True},
                {"name": "tags", "types": ["Array of Array of String"], "required": False},
                {"name": "ok", "types": ["True"], "required": False},
            ]
        },
        "Shape": {"subtypes": ["Circle", "Dot"]},
        "Circle": {"fields": [{"name": "r", "types": ["Integer"], "required": True}]},
        "Dot": {"fields": [{"name": "at", "types": ["Point"], "required": True}]},
    },
}


def test_validator_reports_missing_unknown_and_mistyped_fields() -> None:
    validate_object("Point", {"x": 1, "tags": [["a"], []], "ok": True}, TOY_SPEC)
    validate_object("Shape", {"at": {"x": 0.5}}, TOY_SPEC)
    assert spec_errors("Point", {}, TOY_SPEC) == ["Point.x: required field missing"]
    assert spec_errors("Point", {"x": 1.0, "y": 2}, TOY_SPEC) == [
        "Point.y: field not defined for Point"
    ]
    assert "Point.tags[0][1]" in spec_errors("Point", {"x": 1, "tags": [["a", 3]]}, TOY_SPEC)[0]
    assert spec_errors("Point", {"x": True}, TOY_SPEC)  # a bool is not a number
    assert spec_errors("Point", {"x": 1, "ok": False}, TOY_SPEC)  # True means literally true
    assert spec_errors("Circle", {"r": 1.5}, TOY_SPEC)
    with pytest.raises(SpecViolation, match="matches no subtype of Shape"):
        validate_object("Shape", {"r": "big"}, TOY_SPEC)


def test_validator_knows_what_the_real_spec_requires(spec: Spec) -> None:
    option = {"text": "Yes", "voter_count": 0}  # pre-9.6 shape: PTB 22.8 rejects it too
    assert spec_errors("PollOption", option, spec) == [
        "PollOption.persistent_id: required field missing"
    ]
    validate_method_result("getMyCommands", [], spec)
    assert set(METHODS) <= set(spec["methods"])  # the fake only implements real methods
    with pytest.raises(SpecViolation):
        validate_method_result("deleteMessage", {"ok": True}, spec)


# --- spec-exact objects over raw HTTP ---------------------------------------------------------


async def test_every_object_in_a_realistic_session_matches_the_spec(
    spec: Spec, http: aiohttp.ClientSession
) -> None:
    async with FakeTelegram(spec=spec) as fake:
        status, me = await call(http, fake, "getMe", how="query")
        assert status == 200 and me["result"]["username"] == "townhall_test_bot"
        validate_method_result("getMe", me["result"], spec)

        command = fake.user_sends("/start@townhall_test_bot hello", username="ana_c")
        assert command["message"]["entities"][0] == {
            "type": "bot_command",
            "offset": 0,
            "length": 24,
        }
        validate_object("Update", command, spec)

        status, sent = await call(
            http,
            fake,
            "sendMessage",
            chat_id=1001,
            text="Fix the *lights*?",
            parse_mode="Markdown",
            reply_markup=KEYBOARD,
            reply_parameters={"message_id": command["message"]["message_id"]},
        )
        assert status == 200, sent
        message = sent["result"]
        assert message["text"] == "Fix the lights?" and message["reply_markup"] == KEYBOARD
        assert message["reply_to_message"]["message_id"] == command["message"]["message_id"]
        validate_method_result("sendMessage", message, spec)

        press = fake.user_presses("vote:yes", message=message, user_id=1002, first_name="Bo")
        validate_object("Update", press, spec)
        query_id = press["callback_query"]["id"]
        status, answered = await call(
            http, fake, "answerCallbackQuery", how="json", callback_query_id=query_id, text="Thanks"
        )
        assert (status, answered) == (200, {"ok": True, "result": True})

        status, edited = await call(
            http,
            fake,
            "editMessageText",
            how="query",
            chat_id=1001,
            message_id=message["message_id"],
            text="Thanks, noted",
        )
        assert status == 200 and "reply_markup" not in edited["result"]  # omitted = removed
        validate_method_result("editMessageText", edited["result"], spec)

        status, poll_msg = await call(
            http,
            fake,
            "sendPoll",
            how="json",
            chat_id=1001,
            question="Which park first?",
            options=[{"text": "North"}, {"text": "South"}],
            is_anonymous=False,
        )
        assert status == 200, poll_msg
        validate_method_result("sendPoll", poll_msg["result"], spec)
        poll_id = poll_msg["result"]["poll"]["id"]
        answer = fake.user_votes(poll_id, [1])
        assert answer["poll_answer"]["option_persistent_ids"] == ["opt-1"]
        validate_object("Update", answer, spec)
        status, stopped = await call(
            http, fake, "stopPoll", chat_id=1001, message_id=poll_msg["result"]["message_id"]
        )
        assert stopped["result"]["is_closed"] and stopped["result"]["total_voter_count"] == 1
        validate_method_result("stopPoll", stopped["result"], spec)

        validate_object("Update", fake.user_sends_location(41.39, 2.17), spec)
        validate_object("Update", fake.user_sends_photo(caption="#pothole here"), spec)
        group = fake.user_sends("hi @townhall_test_bot", chat_id=-100123, chat_type="supergroup")
        validate_object("Update", group, spec)

        commands = [{"command": "start", "description": "Begin"}]
        assert (await call(http, fake, "setMyCommands", commands=commands))[1]["result"] is True
        status, got = await call(http, fake, "getMyCommands")
        assert got["result"] == commands
        validate_method_result("getMyCommands", got["result"], spec)

        status, updates = await call(http, fake, "getUpdates", how="json", offset=0)
        assert [u["update_id"] for u in updates["result"]] == sorted(
            u["update_id"] for u in updates["result"]
        )
        validate_method_result("getUpdates", updates["result"], spec)

        await call(http, fake, "setWebhook", url="http://127.0.0.1:9/hook", secret_token="s3")
        status, info = await call(http, fake, "getWebhookInfo")
        assert info["result"]["url"] == "http://127.0.0.1:9/hook"
        validate_method_result("getWebhookInfo", info["result"], spec)
        await call(http, fake, "deleteWebhook", drop_pending_updates=True)
        for update in fake.updates:
            validate_object("Update", update, spec)
        assert fake.spec_violations == []
        assert fake.errors == []


async def test_token_method_and_parameter_errors_look_like_telegram(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    assert await call(http, fake, "getMe", token="123456:WRONG") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert await call(http, fake, "sendTelepathy") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = await call(http, fake, "sendMessage", chat_id=1001)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await call(http, fake, "sendMessage", chat_id=1001, text="x" * 4097)
    assert body["description"] == "Bad Request: message is too long"
    status, body = await call(
        http,
        fake,
        "sendMessage",
        chat_id=1001,
        text="*" + "x" * 4096 + "*",
        parse_mode="MarkdownV2",
    )
    assert status == 200  # the limit applies after entity parsing
    status, body = await call(
        http, fake, "sendMessage", chat_id=1001, text="Done.", parse_mode="MarkdownV2"
    )
    assert "Character '.' is reserved" in body["description"]
    status, body = await call(
        http, fake, "sendMessage", chat_id=1001, text="a<br>b", parse_mode="HTML"
    )
    assert 'Unsupported start tag "br"' in body["description"]
    too_long_data = {"inline_keyboard": [[{"text": "x", "callback_data": "d" * 65}]]}
    status, body = await call(
        http, fake, "sendMessage", chat_id=1001, text="hi", reply_markup=too_long_data
    )
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"
    assert len(fake.sent) == 1  # only the successful call left a trace


# --- the real SDK -----------------------------------------------------------------------------


async def test_ptb_polling_end_to_end(fake: FakeTelegram) -> None:
    app = build_app(fake)
    answers: list[Any] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Report", callback_data="report")]])
        await update.message.reply_text(
            "Welcome to *Townhall*", parse_mode="Markdown", reply_markup=markup
        )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Got it")
        await update.callback_query.edit_message_text(f"chosen: {update.callback_query.data}")

    async def voted(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        answers.append(update.poll_answer)

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(PollAnswerHandler(voted))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            started = time.monotonic()
            fake.user_sends("/start")
            [welcome] = await fake.wait_for_sent(chat_id=1001)
            assert time.monotonic() - started < 1.0  # the long poll returned at once
            assert welcome["text"] == "Welcome to Townhall"
            assert welcome["entities"] == [{"type": "bold", "offset": 11, "length": 8}]

            fake.user_sends("the streetlight on Main St is out")
            echoed = await fake.wait_for_sent(lambda s: s["text"].startswith("echo"))
            assert echoed[0]["text"] == "echo: the streetlight on Main St is out"

            fake.user_presses("report", message=welcome)
            [edit] = await fake.wait_for_sent(lambda s: s["method"] == "editMessageText")
            assert edit["text"] == "chosen: report" and edit["message_id"] == welcome["message_id"]
            assert fake.answered_callbacks[0]["text"] == "Got it"

            poll = await app.bot.send_poll(
                1001, "Bus or tram?", ["Bus", "Tram"], is_anonymous=False
            )
            assert poll.poll is not None
            fake.user_votes(poll.poll.id, [1])
            for _ in range(100):
                if answers:
                    break
                await asyncio.sleep(0.01)
            assert answers[0].option_ids == (1,) and answers[0].user.id == 1001
            # every step woke the held long poll at once (none waited for its 1 s timeout)
            assert time.monotonic() - started < 0.9
        finally:
            await app.updater.stop()
            await app.stop()
    assert fake.errors == []
    assert fake.pending_update_count == 0  # the final getUpdates confirmed everything


async def test_ptb_gets_retry_after_and_a_failed_call_leaves_no_trace(
    fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch, http: aiohttp.ClientSession
) -> None:
    # PTB 22.x warns on *reading* RetryAfter.retry_after as int unless PTB_TIMEDELTA is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        fake.fail_next("sendMessage", status=429, retry_after=7)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "hello")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
        assert fake.sent == []
        await bot.send_message(1001, "hello")  # the fault was used up
        assert [s["text"] for s in fake.sent] == ["hello"]

        fake.fail_next("*", status=500, count=2)
        for _ in range(2):
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await bot.send_message(1001, "again")
        fake.fail_next("sendMessage", status="drop")
        with pytest.raises(NetworkError):
            await bot.send_message(1001, "dropped")
        assert len(fake.sent) == 1
        assert fake.faults_injected == [
            ("sendMessage", "429"),
            ("sendMessage", "500"),
            ("sendMessage", "500"),
            ("sendMessage", "drop"),
        ]

    fake.fail_next("getMe", retry_after=3)
    async with http.get(f"{fake.base_url}{fake.token}/getMe") as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "3"
        assert (await resp.json())["parameters"] == {"retry_after": 3}


def test_fault_rate_is_deterministic_per_seed() -> None:
    def pattern() -> list[bool]:
        fake = FakeTelegram()
        fake.fault_rate(0.3, kinds=("429", "500"), seed=42)
        return [fake._take_fault("sendMessage") is not None for _ in range(200)]

    first = pattern()
    assert first == pattern() and 30 < sum(first) < 90
    fake = FakeTelegram()
    fake.fault_rate(1.0)
    assert fake._take_fault("getUpdates") is None  # only sending methods by default


# --- long polling -----------------------------------------------------------------------------


async def test_getupdates_long_polls_confirms_offsets_and_redelivers(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    waiting = asyncio.create_task(call(http, fake, "getUpdates", timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held open: nothing to deliver yet
    first = fake.user_sends("hello")
    _, body = await asyncio.wait_for(waiting, 1)
    assert body["result"] == [first]

    second = fake.user_sends("again")
    _, body = await call(http, fake, "getUpdates", offset=first["update_id"] + 1)
    assert [u["update_id"] for u in body["result"]] == [second["update_id"]]
    _, body = await call(http, fake, "getUpdates", offset=second["update_id"] + 1)
    assert body["result"] == []

    fake.redeliver(second)  # same update_id again, as after a lost acknowledgement
    _, body = await call(http, fake, "getUpdates", offset=second["update_id"] + 1)
    assert body["result"] == [second]
    await fake.deliver_raw({"update_id": 1, "unknown_kind": {"x": 1}})
    _, body = await call(http, fake, "getUpdates", offset=second["update_id"] + 1)
    assert body["result"] == [{"update_id": 1, "unknown_kind": {"x": 1}}]

    started = time.monotonic()
    _, body = await call(http, fake, "getUpdates", timeout=1)
    assert body["result"] == [] and 0.9 < time.monotonic() - started < 2


async def test_getupdates_conflicts_while_a_webhook_is_set(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    await call(http, fake, "setWebhook", url="http://127.0.0.1:9/hook")
    status, body = await call(http, fake, "getUpdates")
    assert status == 409
    assert body["description"] == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first"
    )
    async with Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(Conflict):
            await bot.get_updates()
        await bot.delete_webhook()
        assert await bot.get_updates() == ()


# --- webhooks ---------------------------------------------------------------------------------


async def test_webhook_delivery_with_secret_token_and_retries(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receiver(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        received.append((secret, await request.json()))
        return web.Response(status=200 if secret == "right-secret" else 403)

    app = web.Application()
    app.router.add_post("/tg", receiver)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        queued_before = fake.user_sends("sent while polling")
        await call(http, fake, "setWebhook", url=url, secret_token="right-secret")
        update = fake.user_sends("/report pothole")
        await fake.wait_webhook_idle()
        assert received == [("right-secret", queued_before), ("right-secret", update)]
        assert fake.webhook_responses == [200, 200]

        received.clear()
        await call(http, fake, "setWebhook", url=url, secret_token="wrong-secret")
        status = await fake.deliver_raw({"update_id": 77, "message": "not an object"})
        assert status == 403
        assert [secret for secret, _ in received] == ["wrong-secret"] * fake.webhook_attempts
        _, info = await call(http, fake, "getWebhookInfo")
        assert (
            info["result"]["last_error_message"] == "Wrong response from the webhook: 403 Forbidden"
        )
    finally:
        await runner.cleanup()


# --- citizens and observation -----------------------------------------------------------------


async def test_citizen_helpers_refuse_what_a_real_client_cannot_do(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    _, sent = await call(
        http, fake, "sendMessage", chat_id=1001, text="Pick", reply_markup=KEYBOARD
    )
    message = sent["result"]
    with pytest.raises(ValueError, match="no button"):
        fake.user_presses("vote:no", message=message)
    fake.user_presses("vote:no", message=message, strict=False)  # a forged/stale payload
    _, poll = await call(
        http,
        fake,
        "sendPoll",
        chat_id=1001,
        question="Q",
        options=["a", "b"],
        type="quiz",
        correct_option_ids=[0],
    )
    poll_id = poll["result"]["poll"]["id"]
    state = fake.user_votes(poll_id, [0])
    assert "poll" in state and "poll_answer" not in state  # anonymous: no poll_answer
    with pytest.raises(ValueError, match="does not allow changing"):
        fake.user_votes(poll_id, [1])  # quizzes forbid revoting by default
    await call(http, fake, "deleteMessage", chat_id=1001, message_id=message["message_id"])
    with pytest.raises(ValueError, match="does not exist"):
        fake.user_presses("vote:yes", message=message)
    assert fake.deleted == [{"chat_id": 1001, "message_id": message["message_id"]}]

    _, body = await call(
        http,
        fake,
        "editMessageText",
        chat_id=1001,
        text="Q",
        message_id=poll["result"]["message_id"],
    )
    assert body["description"] == "Bad Request: there is no text in the message to edit"


async def test_wait_for_sent_times_out_with_a_useful_message(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    await call(http, fake, "sendMessage", chat_id=1001, text="only this")
    await call(http, fake, "sendMessage", chat_id=1001, text="bad.", parse_mode="MarkdownV2")
    assert len(await fake.wait_for_sent(chat_id=1001)) == 1
    with pytest.raises(TimeoutError) as caught:
        await fake.wait_for_sent(chat_id=1001, count=2, timeout=0.1)
    text = str(caught.value)
    assert "'only this'" in text and "reserved" in text and "sendMessage" in text


async def test_observers_see_queued_updates_and_successful_sends_only(
    fake: FakeTelegram, http: aiohttp.ClientSession
) -> None:
    seen: list[tuple[str, Any]] = []
    fake.observers.append(lambda kind, record: seen.append((kind, record.get("chat_id"))))
    update = fake.user_sends("hello", user_id=1001)
    assert seen == [("update", None)] and fake.updates[-1] == update
    await call(http, fake, "sendMessage", chat_id=1001, text="hi")
    await call(http, fake, "sendMessage", chat_id=1001, text="bad.", parse_mode="MarkdownV2")
    assert seen == [("update", None), ("sent", 1001)]

    def broken(kind: str, record: Any) -> None:
        raise RuntimeError("observer bug")

    fake.observers.insert(0, broken)  # kept in `errors`; the others still hear of it
    status, _ = await call(http, fake, "sendMessage", chat_id=1001, text="again")
    assert status == 200 and seen[-1] == ("sent", 1001)
    assert [str(e) for e in fake.errors] == ["observer bug"]


async def test_ptb_downloads_a_citizens_photo(fake: FakeTelegram) -> None:
    update = fake.user_sends_photo(
        caption="broken bench", content=b"JPEG-BYTES", width=640, height=480
    )
    biggest = update["message"]["photo"][-1]
    assert biggest["width"] == 640 and len(update["message"]["photo"]) == 3
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        file = await bot.get_file(biggest["file_id"])
        assert await file.download_as_bytearray() == bytearray(b"JPEG-BYTES")
