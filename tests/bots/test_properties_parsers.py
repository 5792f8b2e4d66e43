"""Property-based tests of every payload parser: real payload shapes, hostile text, mutations.

A parser may refuse what a platform would never send, but only in the one documented way
(`MalformedEvent`, `MalformedRequest`, `CaseError`); whatever it accepts must be well typed and
survive the JSON round trip the store makes (`event_to_dict` -> JSON -> `event_from_dict`).
Text that a platform can really carry (markup, injections, invisible and right-to-left
characters, emoji floods) must come through verbatim. Seeds are the payloads the fakes build,
which follow the platforms' recorded traffic, plus the recorded X posts when the platform
fixtures are available.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest
from telegram import Bot, Update

from bots.checks import MalformedEvent, check_event
from bots.slack import SlackConsole
from bots.slack.payloads import MalformedRequest, check_request
from bots.slack.poll_modal import BLOCKS, DURATIONS, read_poll_form
from bots.telegram.channel import UNREADABLE
from bots.telegram.inbound import BotIdentity
from bots.telegram.inbound import to_inbound as telegram_inbound
from bots.x.inbound import is_retweet, mentions_user, replied_to
from bots.x.inbound import to_inbound as x_inbound
from bots.x.polling import TWEET_FIELDS
from responders.cases import CaseError
from responders.faq_admin import entry_from_form
from townhall.domain import (
    Address,
    Attachment,
    ButtonPress,
    InboundEvent,
    InboundMessage,
    PollAnswer,
    PollForm,
    Sender,
    StaffAction,
    event_from_dict,
    event_to_dict,
)
from townhall.testing.fake_slack import FakeSlack
from townhall.testing.fake_telegram import FakeTelegram
from townhall.testing.fake_x import FakeX
from townhall.testing.hostile import (
    SNIPPETS,
    hostile_text,
    json_bytes,
    mutated,
    visible_hostile_text,
    wrong_values,
)

FAST = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
BOT = Bot("123456:TEST-TOKEN")
FIXTURES = Path(os.environ.get("TOWNHALL_PLATFORM_FIXTURES", "/nonexistent"))


def _round_trips(event: InboundEvent) -> None:
    """What the store keeps of an event (JSON) gives the same event back."""
    check_event(event, anonymous_sender=event.channel == "x")
    stored = json.loads(json.dumps(event_to_dict(event), ensure_ascii=False))
    assert event_from_dict(stored) == event


# --- Telegram ---------------------------------------------------------------------------------
# An unstarted FakeTelegram builds the exact Updates the Bot API delivers.

_fake_telegram = FakeTelegram()
ME = BotIdentity(_fake_telegram.bot_user["id"], _fake_telegram.bot_username)
_GROUP = {"chat_id": -1001234567890, "chat_type": "supergroup", "chat_title": "Elm Street"}


def _telegram_seeds() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every kind of update the bot handles, and a button press (returned on its own too)."""
    fake = FakeTelegram()
    text = fake.user_sends("The streetlight on Elm is out", last_name="Ruiz", username="ana")
    chat, bot_post_date = text["message"]["chat"], text["message"]["date"]
    bot_post = {"message_id": 900, "date": bot_post_date, "chat": chat, "from": fake.bot_user,
                "text": "Where is it?"}  # fmt: skip
    pin = fake.user_sends_location(39.7817, -89.6501)
    pin["message"]["reply_to_message"] = bot_post  # the answer to the bot's question
    press = {"update_id": 90, "callback_query": {
        "id": "4382417921", "from": text["message"]["from"], "chat_instance": "-81",
        "data": "rate:5", "message": bot_post,
    }}  # fmt: skip
    vote = {"update_id": 91, "poll_answer": {
        "poll_id": "5411", "user": text["message"]["from"], "option_ids": [0, 2],
        "option_persistent_ids": ["opt-0", "opt-2"],
    }}  # fmt: skip
    seeds = [
        text, fake.user_sends("/status TH-00012"),
        fake.user_sends(f"@{fake.bot_username} is the pool open?", user_id=2002, **_GROUP),
        fake.user_sends("just chatting", user_id=2003, **_GROUP),
        fake.user_sends_photo(caption="broken bench", width=640, height=480), pin, press, vote,
    ]  # fmt: skip
    return seeds, press


TELEGRAM_SEEDS, PRESS_SEED = _telegram_seeds()


def test_telegram_seeds_are_what_the_bot_api_sends() -> None:
    """The seeds are valid Updates that all become events, so every mutation starts from
    something real."""
    for seed in TELEGRAM_SEEDS:
        assert telegram_inbound(Update.de_json(seed, BOT), ME) is not None
    spec_path = FIXTURES / "telegram" / "api.json"
    if not spec_path.exists():
        pytest.skip("set TOWNHALL_PLATFORM_FIXTURES to check the seeds against the Bot API spec")
    from townhall.testing.telegram_spec import load_spec, spec_errors

    spec = load_spec(spec_path)
    for seed in TELEGRAM_SEEDS:
        assert spec_errors("Update", seed, spec) == []


def _read_telegram(data: Any) -> InboundEvent | None:
    """What the webhook does with a body: JSON, PTB's objects, the domain event."""
    update = Update.de_json(json.loads(json_bytes(data)), BOT)
    return telegram_inbound(update, ME)


@FAST
@given(text=visible_hostile_text(), first=hostile_text(flood=100), last=hostile_text(flood=100))
def test_telegram_text_and_names_arrive_verbatim(text: str, first: str, last: str) -> None:
    update = FakeTelegram().user_sends(text, first_name=first or "A", last_name=last or None)
    update["message"].pop("entities", None)  # no command: the whole text is the message
    try:
        event = _read_telegram(update)
    except MalformedEvent:
        assert any("\x00" in s for s in (text, first, last)), "refused valid Unicode text"
        return
    if not text.strip():
        assert event is None
        return
    assert isinstance(event, InboundMessage) and event.text == text
    names = [part[:64] for part in (first or "A", last) if part]
    assert event.sender.display_name == " ".join(names)
    _round_trips(event)


@FAST
@given(text=visible_hostile_text(flood=300), data=hostile_text(flood=20))
def test_telegram_group_mentions_commands_and_buttons_with_hostile_text(
    text: str, data: str
) -> None:
    fake = FakeTelegram()
    mention = fake.user_sends(f"@{fake.bot_username} {text}", user_id=2002, **_GROUP)
    command = fake.user_sends(f"/report {text}")
    press = {**PRESS_SEED, "callback_query": {**PRESS_SEED["callback_query"], "data": data}}
    for update in (mention, command, press):
        try:
            event = _read_telegram(update)
        except MalformedEvent:
            assert "\x00" in text + data
            continue
        if event is None:
            assert update is press and not data
            continue
        _round_trips(event)
        if isinstance(event, ButtonPress):
            assert f"{event.action}:{event.value}" == data if ":" in data else event.action == data
        elif update is command:
            assert event.command == "report" and event.args == text.strip()


@settings(FAST, max_examples=250)
@given(update=st.sampled_from(TELEGRAM_SEEDS).flatmap(mutated))
def test_telegram_mutated_updates_are_read_or_refused(update: Any) -> None:
    """Keys dropped, wrong types, nesting, huge values: an event, None, or a clear refusal."""
    try:
        event = _read_telegram(update)
    except UNREADABLE:  # what the webhook answers with a 400 (MalformedEvent among them)
        return
    if event is not None:
        _round_trips(event)


# --- X ----------------------------------------------------------------------------------------


def _x_seeds() -> list[dict[str, Any]]:
    """Posts as a mentions poll returns them (with the poll's fields and expansions)."""
    fake = FakeX()
    opened = fake.mention("pothole on Elm & 5th <3", by="dana", lang="en")
    reply = fake.post("@SpringfieldGov 2", by="eve", in_reply_to=opened["id"])
    seeds = []
    for post in (opened, reply):
        rendered = fake.state.render_post(post, set(TWEET_FIELDS))
        includes = fake.state.render_includes([post], {"author_id"}, {"name", "username"}, set())
        seeds.append({"post": rendered, "includes": includes})
    cassette = FIXTURES / "x" / "tweepy-cassettes" / "test_asyncclient_get_users_mentions.yaml"
    if cassette.exists():  # real recorded posts: text, ids and edit history as X sent them
        from townhall.testing.x_spec import load_cassette

        for interaction in load_cassette(cassette):
            for post in json.loads(interaction.body).get("data") or []:
                seeds.append({"post": post, "includes": {}})
    return seeds


X_SEEDS = _x_seeds()


def _x_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@FAST
@given(text=visible_hostile_text(flood=300), name=hostile_text(flood=60), listen=st.booleans())
def test_x_posts_with_hostile_text_arrive_verbatim(text: str, name: str, listen: bool) -> None:
    seed = X_SEEDS[0]
    post = {**seed["post"], "text": "@SpringfieldGov " + _x_escape(text)}
    users = [{**seed["includes"]["users"][0], "name": name}]
    try:
        event = x_inbound(post, {"users": users}, listen_only=listen)
    except MalformedEvent:
        assert "\x00" in text + name
        return
    rest = re.sub(r"^[\s,:]*", "", text)  # what X's reply prefix eats after the handle
    addressed_to_more = rest.startswith(("@", ".@"))
    if event is None:
        assert addressed_to_more or not rest.strip()
        return
    _round_trips(event)
    assert event.text in text  # only the leading @handles and surrounding blanks go
    if not addressed_to_more:
        assert event.text == rest.strip()


@settings(FAST, max_examples=250)
@given(seed=st.sampled_from(X_SEEDS).flatmap(mutated), listen=st.booleans())
def test_x_mutated_posts_are_read_or_refused(seed: Any, listen: bool) -> None:
    post, includes = seed.get("post"), seed.get("includes")
    replied_to(post), is_retweet(post), mentions_user(post, "SpringfieldGov")  # never raise
    try:
        event = x_inbound(post, includes, listen_only=listen)
    except MalformedEvent:  # the channel skips it and moves its checkpoint on
        return
    if event is not None:
        _round_trips(event)


# --- the domain's own round trip --------------------------------------------------------------

ids = st.integers(-(10**15), 10**15).map(str)
moments = st.builds(
    lambda at, minutes: at.replace(tzinfo=timezone(timedelta(minutes=minutes))),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-23 * 60, 23 * 60),
)
texts = hostile_text(flood=200).filter(lambda s: "\x00" not in s)
addresses = st.builds(Address, st.sampled_from(["telegram", "x"]), ids,
                      st.none() | ids, st.none() | ids)  # fmt: skip
senders = st.builds(Sender, ids, texts, st.none() | st.sampled_from(["en", "es", "zh-hans"]))
attachments = st.one_of(
    st.builds(Attachment, st.just("photo"), ref=texts, size=st.integers(0, 10**9)),
    st.builds(
        Attachment, st.just("location"),
        latitude=st.floats(-90, 90), longitude=st.floats(-180, 180),
    ),
)  # fmt: skip
events = st.one_of(
    st.builds(
        InboundMessage, st.sampled_from(["telegram", "x"]), texts.map(lambda s: s[:100]),
        addresses, senders, texts, moments, command=st.none() | texts, args=texts,
        is_private=st.booleans(), listen_only=st.booleans(),
        private_address=st.none() | addresses, attachments=st.lists(attachments).map(tuple),
        reply_to_id=st.none() | ids,
    ),
    st.builds(ButtonPress, st.just("telegram"), texts.map(lambda s: s[:100]), addresses,
              senders, texts, texts, moments),
    st.builds(PollAnswer, st.just("telegram"), texts.map(lambda s: s[:100]), addresses, senders,
              texts, st.lists(st.integers(0, 11)).map(tuple), moments),
)  # fmt: skip


@settings(FAST, max_examples=150)
@given(event=events)
def test_every_event_survives_the_stores_json(event: InboundEvent) -> None:
    stored = json.loads(json.dumps(event_to_dict(event), ensure_ascii=False))
    assert event_from_dict(stored) == event


# --- staff forms ------------------------------------------------------------------------------

FAQ_FORM = {"question": "When is bulk pickup?", "answer": "First Monday.", "id": "bulk-pickup"}


@FAST
@given(
    form=st.one_of(
        st.fixed_dictionaries({k: hostile_text(flood=300) for k in FAQ_FORM}),
        mutated(FAQ_FORM),
        wrong_values(),
    ),
    raw=st.none() | st.sampled_from(["", "{", "[1]", "null", "\ud800", '{"id": NaN}']),
)
def test_the_faq_form_is_read_or_refused(form: Any, raw: str | None) -> None:
    text = raw if raw is not None else json.dumps(form, ensure_ascii=False)
    try:
        entry = entry_from_form(text, None)
    except CaseError:
        return
    assert isinstance(entry.id, str) and isinstance(entry.answer, str)
    assert all(isinstance(q, str) for q in entry.questions)
    if isinstance(form, dict) and raw is None and all(isinstance(v, str) for v in form.values()):
        assert entry.questions == (form.get("question", ""),) and entry.answer == form.get(
            "answer", ""
        )


def _poll_values(question: str, options: str, audience: str, group: str, hours: str) -> dict:
    def entry(block: str, **element: Any) -> tuple[str, dict]:
        return BLOCKS[block], {BLOCKS[block]: element}

    return dict([
        entry("question", type="plain_text_input", value=question),
        entry("options", type="plain_text_input", value=options),
        entry("audience", type="static_select", selected_option={"value": audience}),
        entry("group", type="plain_text_input", value=group),
        entry("duration", type="static_select", selected_option={"value": hours}),
        entry("announce", type="checkboxes", selected_options=[{"value": "yes"}]),
    ])  # fmt: skip


POLL_SEED = _poll_values("Which day?", "Mon\nTue", "group", "-1001234567890", "24")
OFFERED = {float(hours) for _, hours in DURATIONS}


def _well_typed_poll(form: PollForm) -> None:
    assert isinstance(form.question, str) and isinstance(form.audience, str)
    assert all(isinstance(o, str) and o.strip() == o and o for o in form.options)
    assert form.hours in OFFERED and isinstance(form.announce_result, bool)


@FAST
@given(question=hostile_text(flood=300), options=st.lists(visible_hostile_text(50), max_size=12))
def test_the_poll_form_keeps_what_staff_typed(question: str, options: list[str]) -> None:
    form = read_poll_form(_poll_values(question, "\n".join(options), "topic:roads", "", "72"))
    _well_typed_poll(form)
    assert form.question == question.strip() and form.hours == 72 and form.audience == "topic:roads"
    assert form.options == [
        line.strip() for line in "\n".join(options).splitlines() if line.strip()
    ]


@settings(FAST, max_examples=150)
@given(values=mutated(POLL_SEED))
def test_the_poll_form_reads_any_state(values: Any) -> None:
    _well_typed_poll(read_poll_form(values))


# --- the Slack console's listeners ------------------------------------------------------------
# Signed requests go through the same check as the web server's, then into bolt and the real
# listeners; the fake Slack answers the Web API calls they make (ephemerals, views.open).

STAFF = "U0STAFF001"
CHANNEL = "C0TRIAGE01"


class _Console:
    """The console with recording callbacks: staff actions, commands and polls."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.actions: list[StaffAction] = []
        self.commands: list[str] = []
        self.polls: list[PollForm] = []
        self.console = SlackConsole(
            bot_token=fake.bot_token, triage_channel=CHANNEL, staff=[STAFF], leads=[STAFF],
            api_url=fake.api_url, signing_secret=fake.signing_secret, commands=self._command,
            polls=self,
        )  # fmt: skip

    async def _command(self, text: str, staff_id: str) -> str:
        self.commands.append(text)
        return "done"

    async def on_action(self, action: StaffAction) -> None:
        self.actions.append(action)
        raise CaseError(f"there is no case {action.case_id}")  # what triage says, visibly

    def topics(self) -> dict[str, str]:
        return {"roads": "Roads"}

    async def create(self, form: PollForm, staff_id: str) -> int:
        self.polls.append(form)
        if not form.question:
            raise ValueError("A poll needs a question.")
        return 1


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[_Console]:
    fake = FakeSlack()
    await fake.start()
    fake.add_user(STAFF, "sam.staff")
    console = _Console(fake)
    await console.console.start(console.on_action)
    try:
        yield console
    finally:
        await console.console.stop()
        await fake.stop()


def _interactive(kind: str, **fields: Any) -> dict[str, Any]:
    """An interaction payload as Slack posts it (java-slack-sdk samples' field names)."""
    return {
        "type": kind, "team": {"id": "T0TOWNHAL1", "domain": "townhall-test"},
        "user": {"id": STAFF, "username": "sam.staff", "name": "sam.staff",
                 "team_id": "T0TOWNHAL1"},
        "api_app_id": "A0TOWNHAL1", "token": "fake-verification-token",
        "trigger_id": "1337.42.abcdef", "is_enterprise_install": False, "enterprise": None,
        **fields,
    }  # fmt: skip


def _clicked(action_id: str, *, value: str | None = None, option: str | None = None) -> dict:
    action: dict[str, Any] = {
        "action_id": action_id, "block_id": "case_actions", "action_ts": "1764500000.000100",
        "type": "button" if option is None else "static_select",
    }  # fmt: skip
    if value is not None:
        action["value"] = value
    if option is not None:
        action["selected_option"] = {"text": {"type": "plain_text", "text": "o"}, "value": option}
    return _interactive(
        "block_actions", actions=[action], channel={"id": CHANNEL, "name": "townhall-triage"},
        container={"type": "message", "message_ts": "1764500000.000100", "channel_id": CHANNEL,
                   "is_ephemeral": False},
        state={"values": {}}, response_url="http://127.0.0.1:9/actions/T0/1/x",
    )  # fmt: skip


def _submitted(callback_id: str, values: dict, metadata: str = "12") -> dict:
    view = {
        "id": "V0VIEW00001", "team_id": "T0TOWNHAL1", "type": "modal", "callback_id": callback_id,
        "private_metadata": metadata, "state": {"values": values}, "hash": "1764500000.abc",
        "title": {"type": "plain_text", "text": "Reply to citizen"}, "app_id": "A0TOWNHAL1",
    }  # fmt: skip
    return _interactive("view_submission", view=view, response_urls=[])


def _reply_values(text: str) -> dict:
    return {
        "reply": {"text": {"type": "plain_text_input", "value": text}},
        "then": {"then": {"type": "radio_buttons", "selected_option": {"value": "resolve"}}},
    }


def _command(text: str) -> dict[str, str]:
    return {
        "token": "fake-verification-token", "team_id": "T0TOWNHAL1",
        "team_domain": "townhall-test", "channel_id": CHANNEL, "channel_name": "townhall-triage",
        "user_id": STAFF, "user_name": "sam.staff", "command": "/townhall", "text": text,
        "api_app_id": "A0TOWNHAL1", "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/commands/1", "trigger_id": "1337.42.abcdef",
    }  # fmt: skip


def _thread_reply(text: str) -> dict[str, Any]:
    return {
        "token": "fake-verification-token", "team_id": "T0TOWNHAL1", "api_app_id": "A0TOWNHAL1",
        "type": "event_callback", "event_id": "Ev0PROPS001", "event_time": 1764500000,
        "authorizations": [{"enterprise_id": None, "team_id": "T0TOWNHAL1",
                            "user_id": "U0TOWNBOT1", "is_bot": True,
                            "is_enterprise_install": False}],
        "event": {"type": "message", "user": STAFF, "text": text, "ts": "1764500001.000200",
                  "thread_ts": "1764500000.000100", "channel": CHANNEL, "team": "T0TOWNHAL1",
                  "event_ts": "1764500001.000200", "channel_type": "channel"},
    }  # fmt: skip


SLACK_SEEDS: list[tuple[str, dict[str, Any]]] = [
    ("interactive", _clicked("case_claim", value="12")),
    ("interactive", _clicked("case_reply", value="12")),
    ("interactive", _clicked("case_faq_add", value="12")),
    ("interactive", _clicked("poll_close", value="3")),
    ("interactive", _clicked("case_recategorize", option="12:roads")),
    ("interactive", _clicked("case_canned", option="12:hours")),
    ("interactive", _submitted("case_reply_modal", _reply_values("We fixed it."))),
    ("interactive", _submitted("case_faq_modal", {
        b: {b: {"type": "plain_text_input", "value": v}} for b, v in FAQ_FORM.items()})),
    ("interactive", _submitted("poll_new_modal", POLL_SEED, metadata="")),
    ("command", _command("queues")),
    ("command", _command("poll")),
    ("event", _thread_reply("Thanks, on it.")),
]  # fmt: skip


def _body(kind: str, payload: Any) -> tuple[bytes, str]:
    """The bytes Slack posts: JSON events, `payload=` forms, plain forms for commands."""
    if kind == "event":
        return json_bytes(payload), "application/json"
    if kind == "interactive":
        return urlencode({"payload": json_bytes(payload)}).encode(), (
            "application/x-www-form-urlencoded"
        )
    fields = payload if isinstance(payload, dict) else {"text": payload}
    form = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    return urlencode(form).encode(), "application/x-www-form-urlencoded"


async def _bolt_idle(timeout: float = 5.0) -> None:
    """Wait for the listeners bolt runs after acknowledging (they finish in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(
        "run_ack_function" in getattr(task.get_coro(), "__qualname__", "")
        for task in asyncio.all_tasks()
    ):
        assert loop.time() < deadline, "a listener is still running"
        await asyncio.sleep(0.005)


async def _dispatch(slack: _Console, kind: str, payload: Any) -> int:
    """What the web server does with a signed request; the HTTP status it answers."""
    body, content_type = _body(kind, payload)
    headers = {"content-type": content_type, **slack.fake.sign(body)}
    try:
        request = AsyncBoltRequest(body=body.decode("utf-8"), headers=headers)
        check_request(request.body, request.context)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
        return 400
    response = await slack.console.dispatch(request)
    await _bolt_idle()
    return response.status


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()[:200]}" for r in caplog.records
        if r.levelno >= logging.ERROR and not r.name.startswith("townhall.testing")
    ]  # fmt: skip


def _well_typed_action(action: StaffAction) -> None:
    assert isinstance(action.kind, str) and isinstance(action.staff_id, str)
    assert isinstance(action.key, str) and isinstance(action.text, str)
    for number in (action.case_id, action.alert_id, action.poll_id, action.statement_id):
        assert number is None or (isinstance(number, int) and number >= 0)


SLOW = settings(FAST, suppress_health_check=[*FAST.suppress_health_check,
                                             HealthCheck.function_scoped_fixture])  # fmt: skip


@settings(SLOW, max_examples=200)
@given(seed=st.sampled_from(SLACK_SEEDS).flatmap(lambda s: mutated(s[1]).map(lambda m: (s[0], m))))
async def test_slack_listeners_handle_or_refuse_any_payload(
    slack: _Console, caplog: pytest.LogCaptureFixture, seed: tuple[str, Any]
) -> None:
    caplog.clear()
    before = len(slack.actions)
    status = await _dispatch(slack, *seed)
    assert status < 500 and _errors(caplog) == []
    for action in slack.actions[before:]:
        _well_typed_action(action)


@settings(SLOW, max_examples=80)
@given(text=visible_hostile_text(flood=1000), which=st.integers(0, 3))
async def test_staff_text_reaches_the_console_verbatim(
    slack: _Console, caplog: pytest.LogCaptureFixture, text: str, which: int
) -> None:
    """A reply, a thread reply, a select's value and a command keep every character."""
    caplog.clear()
    before = (len(slack.actions), len(slack.commands))
    kind, payload = [
        ("interactive", _submitted("case_reply_modal", _reply_values(text))),
        ("event", _thread_reply(text)),
        ("interactive", _clicked("case_recategorize", option=f"12:{text}")),
        ("command", _command(text)),
    ][which]
    status = await _dispatch(slack, kind, payload)
    assert status == 200 and _errors(caplog) == []
    if which == 3:
        if text.strip().lower() != "poll":
            assert slack.commands[before[1] :] == [text]
        return
    [action] = slack.actions[before[0] :]
    _well_typed_action(action)
    assert action.text == text


@FAST
@given(body=st.sampled_from(SNIPPETS) | wrong_values())
def test_slack_bodies_that_are_not_objects_are_refused(body: Any) -> None:
    if isinstance(body, dict):
        body = [body]
    with pytest.raises(MalformedRequest):
        check_request(body, {})
