"""The fake Slack must look like Slack to the real SDKs and to Slack's own published specs.

Spec checks validate what the fake returns and sends against slackapi's OpenAPI/envelope schemas
and the java-slack-sdk field inventories; the end-to-end tests run the unmodified slack_bolt
AsyncApp / slack_sdk AsyncWebClient against it over HTTP and Socket Mode.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from jsonschema import Draft4Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from townhall.testing.fake_slack import TRIAGE_CHANNEL, FakeSlack

STAFF = "U0STAFF001"
STAFF_GROUP = "S0STAFF001"
REPO = Path(__file__).resolve().parents[2]

CARD_BLOCKS = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*Case 17*"}},
    {
        "type": "actions",
        "block_id": "case_actions",
        "elements": [
            {
                "type": "button",
                "action_id": "claim",
                "value": "case-17",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Claim"},
            },
        ],
    },
]
REPLY_MODAL = {
    "type": "modal",
    "callback_id": "reply_modal",
    "private_metadata": "case-17",
    "title": {"type": "plain_text", "text": "Reply to resident"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "reply",
            "label": {"type": "plain_text", "text": "Reply"},
            "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
        }
    ],
}


# -- fixtures ------------------------------------------------------------------------------------


def _fixtures_dir() -> Path:
    return Path(
        os.environ.get("TOWNHALL_PLATFORM_FIXTURES", REPO.parent / "shared" / "platform-fixtures")
    )


@pytest.fixture
def slack_fixtures() -> Path:
    path = _fixtures_dir() / "slack"
    if not (path / "slack_web_openapi_v2.json").is_file():
        pytest.skip(
            f"Slack platform fixtures not found at {path} "
            "(set TOWNHALL_PLATFORM_FIXTURES to the platform-fixtures directory)"
        )
    return path


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_user(STAFF, "alice.staff")
        slack.add_usergroup(STAFF_GROUP, "townhall-staff", [STAFF])
        yield slack


def _client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kwargs)


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class Capture:
    """A stand-in Request URL that records raw signed requests and acks them with 200."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return web.Response(status=200)

    def verified(self, index: int = -1) -> tuple[dict[str, str], bytes]:
        """The request, after checking its signature independently of the fake's code."""
        headers, body = self.requests[index]
        ts = headers["X-Slack-Request-Timestamp"]
        expected = (
            "v0="
            + hmac.new(
                self.secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256
            ).hexdigest()
        )
        assert hmac.compare_digest(headers["X-Slack-Signature"], expected)
        assert abs(time.time() - int(ts)) < 60
        return headers, body


# -- spec conformance ----------------------------------------------------------------------------


def _web_api_validator(
    doc: dict[str, Any], path: str, relax: Callable[[dict[str, Any]], None] | None = None
) -> Draft4Validator:
    """Draft 4 validator for the 200 response of ``path``, resolving $refs into the doc."""
    doc = copy.deepcopy(doc)
    if relax is not None:
        relax(doc)
    registry: Registry = Registry().with_resource(
        "urn:slack-web-api", Resource.from_contents(doc, default_specification=DRAFT4)
    )
    operation = next(iter(doc["paths"][path]))
    pointer = (
        f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{operation}/responses/200/schema"
    )
    return Draft4Validator({"$ref": f"urn:slack-web-api#{pointer}"}, registry=registry)


def _assert_valid(validator: Draft4Validator, instance: Any, what: str) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]
    assert not errors, f"{what} does not match the spec: {errors}"


def _allow_live_message_fields(doc: dict[str, Any]) -> None:
    # objs_message (2021) has additionalProperties:false but lacks app_id, which the live API
    # returns on every message a Slack app posts.
    doc["definitions"]["objs_message"]["properties"]["app_id"] = {
        "$ref": "#/definitions/defs_app_id"
    }


def _relax_chat_update(doc: dict[str, Any]) -> None:
    # The 2021 schema types chat.update's message.blocks as an object; it is an array (as in
    # chat.postMessage's objs_message and in every live response).
    message = doc["paths"]["/chat.update"]["post"]["responses"]["200"]["schema"]
    message["properties"]["message"]["properties"]["blocks"] = {"$ref": "#/definitions/blocks"}


def _relax_replies(doc: dict[str, Any]) -> None:
    # The live API adds response_metadata (cursor paging; see the fixtures README) and returns
    # full message objects (blocks, bot_id, app_id, bot_profile, client_msg_id...) where the 2021
    # tuple schema lists a subset with additionalProperties:false.
    schema = doc["paths"]["/conversations.replies"]["get"]["responses"]["200"]["schema"]
    schema["properties"]["response_metadata"] = {"$ref": "#/definitions/objs_response_metadata"}
    messages = schema["properties"]["messages"]
    # The spec nests its [parent, reply] tuple one level too deep (items.items), which would make
    # it validate nothing; lift it to messages.items so the parent/reply schemas really apply.
    messages["items"] = messages["items"]["items"]
    for item in messages["items"]:
        item["additionalProperties"] = True


def _relax_user(doc: dict[str, Any]) -> None:
    # Live users.info includes is_email_confirmed and who_can_share_contact_card, added after
    # the 2021 snapshot.
    user = doc["definitions"]["objs_user"]["items"][0]
    user["properties"]["is_email_confirmed"] = {"type": "boolean"}
    user["properties"]["who_can_share_contact_card"] = {"type": "string"}


async def test_web_api_responses_match_openapi(fake: FakeSlack, slack_fixtures: Path) -> None:
    doc = json.loads((slack_fixtures / "slack_web_openapi_v2.json").read_text())
    client = _client(fake)

    auth = await client.auth_test()
    _assert_valid(_web_api_validator(doc, "/auth.test"), auth.data, "auth.test")
    posted = await client.chat_postMessage(
        channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
    )
    _assert_valid(
        _web_api_validator(doc, "/chat.postMessage", _allow_live_message_fields),
        posted.data,
        "chat.postMessage",
    )
    reply = await client.chat_postMessage(
        channel=TRIAGE_CHANNEL, text="Noted", thread_ts=posted["ts"]
    )
    _assert_valid(
        _web_api_validator(doc, "/chat.postMessage", _allow_live_message_fields),
        reply.data,
        "chat.postMessage (thread reply)",
    )
    updated = await client.chat_update(
        channel=TRIAGE_CHANNEL, ts=posted["ts"], text="Claimed", blocks=CARD_BLOCKS[:1]
    )
    _assert_valid(
        _web_api_validator(doc, "/chat.update", _relax_chat_update), updated.data, "chat.update"
    )
    ephemeral = await client.chat_postEphemeral(channel=TRIAGE_CHANNEL, user=STAFF, text="No.")
    _assert_valid(
        _web_api_validator(doc, "/chat.postEphemeral"), ephemeral.data, "chat.postEphemeral"
    )
    replies = await client.conversations_replies(channel=TRIAGE_CHANNEL, ts=posted["ts"])
    assert [m["ts"] for m in replies["messages"]] == [posted["ts"], reply["ts"]]
    _assert_valid(
        _web_api_validator(doc, "/conversations.replies", _relax_replies),
        replies.data,
        "conversations.replies",
    )
    user = await client.users_info(user=STAFF)
    _assert_valid(_web_api_validator(doc, "/users.info"), user.data, "users.info")
    # objs_user is written as a tuple "items" on an object, which validates nothing: check the
    # non-enterprise user schema directly so the fake's user object is really constrained.
    user_doc = copy.deepcopy(doc)
    _relax_user(user_doc)
    user_doc["paths"]["/users.info"]["get"]["responses"]["200"]["schema"]["properties"]["user"] = (
        user_doc["definitions"]["objs_user"]["items"][0]
    )
    _assert_valid(_web_api_validator(user_doc, "/users.info"), user.data, "users.info (user)")
    members = await client.usergroups_users_list(usergroup=STAFF_GROUP)
    assert members["users"] == [STAFF]
    _assert_valid(
        _web_api_validator(doc, "/usergroups.users.list"), members.data, "usergroups.users.list"
    )

    trigger = fake.ws.issue_trigger(STAFF)
    opened = await client.views_open(trigger_id=trigger, view=REPLY_MODAL)
    _assert_valid(_web_api_validator(doc, "/views.open"), opened.data, "views.open")
    assert opened["view"]["id"].startswith("V")
    samples = slack_fixtures / "java-slack-sdk-samples"
    view_sample = json.loads((samples / "api" / "views.open.json").read_text())["view"]
    assert set(opened["view"]) <= set(view_sample), set(opened["view"]) - set(view_sample)

    # apps.connections.open is not in the 2021 spec: check against the java field inventory.
    socket = await client.apps_connections_open(app_token=fake.app_token)
    sample = json.loads((samples / "api" / "apps.connections.open.json").read_text())
    assert set(socket.data) <= set(sample)
    assert socket["url"].startswith(f"ws://127.0.0.1:{fake.port}/link/?ticket=")


async def test_outgoing_payloads_match_slack_shapes(fake: FakeSlack, slack_fixtures: Path) -> None:
    capture = Capture(fake.signing_secret)
    app = web.Application()
    app.router.add_post("/slack/events", capture.handle)
    runner, url = await _serve(app)
    try:
        fake.deliver_to(f"{url}/slack/events")
        samples = slack_fixtures / "java-slack-sdk-samples"
        client = _client(fake)
        card = await client.chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
        )

        assert (await fake.post_message(STAFF, TRIAGE_CHANNEL, "on it", thread_ts=card["ts"])).acked
        headers, body = capture.verified()
        assert headers["Content-Type"] == "application/json"
        envelope = json.loads(body)
        wrapper = json.loads(
            (slack_fixtures / "slack_common_event_wrapper_schema.json").read_text()
        )
        _assert_valid(validator_for(wrapper)(wrapper), envelope, "event envelope")
        assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
        sample = json.loads((samples / "events" / "MessagePayload.json").read_text())
        # enterprise_id is Enterprise Grid only; authed_teams was retired in favour of
        # authorizations (Slack stopped sending it).
        assert set(sample) - {"enterprise_id", "authed_teams"} <= set(envelope)
        assert set(envelope["event"]) <= set(sample["event"])

        assert (await fake.click(STAFF, message_ts=card["ts"], action_id="claim")).acked
        headers, body = capture.verified()
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        actions = json.loads(parse_qs(body.decode())["payload"][0])
        sample = json.loads((samples / "app-backend" / "BlockActionPayload.json").read_text())
        # Keys Slack sends only for other block_actions variants: view (actions inside a modal or
        # App Home), app_unfurl (unfurls), bot_access_token/function_data/interactivity
        # (workflow custom functions).
        variant_only = {"view", "app_unfurl", "bot_access_token", "function_data", "interactivity"}
        assert set(sample) - variant_only <= set(actions)
        assert set(actions["message"]) <= set(sample["message"])
        assert set(actions["actions"][0]) <= set(sample["actions"][0])
        assert set(actions["container"]) <= set(sample["container"])
        assert actions["user"].keys() == sample["user"].keys()
        assert actions["actions"][0]["value"] == "case-17"

        await _client(fake).views_open(trigger_id=actions["trigger_id"], view=REPLY_MODAL)
        assert (await fake.submit_view(STAFF, values={"reply": {"text": "Fixed"}})).acked
        submission = json.loads(parse_qs(capture.verified()[1].decode())["payload"][0])
        sample = json.loads((samples / "app-backend" / "ViewSubmissionPayload.json").read_text())
        # is_cleared belongs to view_closed; the rest are workflow-function-only keys.
        variant_only = {"is_cleared", "bot_access_token", "function_data", "interactivity"}
        assert set(sample) - variant_only <= set(submission)
        assert set(sample["view"]) <= set(submission["view"])
        assert submission["view"]["state"]["values"] == {
            "reply": {"text": {"type": "plain_text_input", "value": "Fixed"}}
        }
        assert submission["view"]["private_metadata"] == "case-17"

        assert (await fake.slash_command(STAFF, "/townhall", "status 17")).acked
        command = {k: v[0] for k, v in parse_qs(capture.verified()[1].decode()).items()}
        sample = json.loads((samples / "app-backend" / "SlashCommandPayload.json").read_text())
        # enterprise_id / enterprise_name are sent only by Enterprise Grid workspaces.
        assert set(sample) - {"enterprise_id", "enterprise_name"} <= set(command)
        assert command["command"] == "/townhall" and command["text"] == "status 17"
    finally:
        await runner.cleanup()


# -- real SDK end to end -------------------------------------------------------------------------


def _bolt_app(fake: FakeSlack, seen: dict[str, Any]) -> AsyncApp:
    app = AsyncApp(client=_client(fake), signing_secret=fake.signing_secret)

    @app.action("claim")
    async def claim(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        seen["click"] = body
        await client.chat_update(
            channel=body["channel"]["id"],
            ts=body["message"]["ts"],
            text=f"Claimed by <@{body['user']['id']}>",
            blocks=CARD_BLOCKS[:1],
        )

    @app.view("reply_modal")
    async def reply(ack: Any, view: dict[str, Any]) -> None:
        text = view["state"]["values"]["reply"]["text"]["value"]
        seen.setdefault("submissions", []).append((view["private_metadata"], text))
        if len(text) < 5:
            await ack(response_action="errors", errors={"reply": "Say a bit more"})
        else:
            await ack()

    @app.command("/townhall")
    async def command(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"Looking up {command['text']}")

    return app


async def test_bolt_http_mode_end_to_end(fake: FakeSlack) -> None:
    seen: dict[str, Any] = {}
    runner, url = await _serve(_bolt_app(fake, seen).web_app(path="/slack/events"))
    try:
        fake.deliver_to(f"{url}/slack/events")
        assert (await fake.verify_url("c-123")).response == {"challenge": "c-123"}
        client = _client(fake)
        card = await client.chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
        )

        clicked = await fake.click(STAFF, message_ts=card["ts"], action_id="claim")
        assert (clicked.mode, clicked.status, clicked.acked) == ("http", 200, True)
        message = await fake.wait_for(
            lambda: (m := fake.message(TRIAGE_CHANNEL, card["ts"])) and m.get("edited") and m
        )
        assert message["text"] == f"Claimed by <@{STAFF}>"
        assert [b["block_id"] for b in message["blocks"]] == ["summary"]
        assert message["history"][0]["text"] == "Case 17"
        assert seen["click"]["actions"][0]["action_id"] == "claim"

        opened = await client.views_open(trigger_id=seen["click"]["trigger_id"], view=REPLY_MODAL)
        with pytest.raises(SlackApiError) as reused:
            await client.views_open(trigger_id=seen["click"]["trigger_id"], view=REPLY_MODAL)
        assert reused.value.response["error"] == "exchanged_trigger_id"

        rejected = await fake.submit_view(STAFF, values={"reply": {"text": "ok"}})
        assert rejected.errors == {"reply": "Say a bit more"}
        assert fake.views[-1]["is_open"]
        accepted = await fake.submit_view(
            STAFF, view_id=opened["view"]["id"], values={"reply": {"text": "Crew is on the way"}}
        )
        assert accepted.acked and accepted.errors is None
        assert seen["submissions"] == [("case-17", "ok"), ("case-17", "Crew is on the way")]
        assert not fake.views[-1]["is_open"]

        answered = await fake.slash_command(STAFF, "/townhall", "case 17")
        assert answered.acked
        assert fake.ephemerals[-1]["text"] == "Looking up case 17"
        assert fake.ephemerals[-1]["user"] == STAFF

        body = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
        async with aiohttp.ClientSession() as session:
            tampered = fake.sign(body + b" ")
            stale = fake.sign(body, timestamp=int(time.time()) - 600)
            for headers in (tampered, stale, {}):
                async with session.post(
                    f"{url}/slack/events",
                    data=body,
                    headers={"Content-Type": "application/json", **headers},
                ) as resp:
                    assert resp.status == 401
    finally:
        await runner.cleanup()


async def test_bolt_socket_mode_end_to_end(fake: FakeSlack) -> None:
    seen: dict[str, Any] = {}
    app = _bolt_app(fake, seen)
    handler = AsyncSocketModeHandler(app, fake.app_token)
    await handler.connect_async()
    try:
        await fake.wait_for(lambda: fake.socket_connected)
        card = await _client(fake).chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
        )
        clicked = await fake.click(STAFF, message_ts=card["ts"], action_id="claim")
        assert (clicked.mode, clicked.acked) == ("socket", True)
        assert fake.acks[-1]["envelope_id"] == clicked.envelope_id
        await fake.wait_for(lambda: fake.message(TRIAGE_CHANNEL, card["ts"])["history"])

        await _client(fake).views_open(trigger_id=seen["click"]["trigger_id"], view=REPLY_MODAL)
        rejected = await fake.submit_view(STAFF, values={"reply": {"text": "no"}})
        assert rejected.errors == {"reply": "Say a bit more"}

        answered = await fake.slash_command(STAFF, "/townhall", "case 17")
        assert answered.response == {"text": "Looking up case 17"}
        assert fake.ephemerals[-1]["text"] == "Looking up case 17"

        # Slack periodically asks clients to reconnect; slack_sdk opens a new connection.
        await fake.disconnect_socket()
        await fake.wait_for(lambda: fake.hub.connects == 2 and fake.socket_connected)
        assert len(fake.calls_to("apps.connections.open")) == 2
        with pytest.raises(ValueError, match="no element with action_id 'claim'"):
            await fake.click(STAFF, message_ts=card["ts"], action_id="claim")  # button is gone
        card = await _client(fake).chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 18", blocks=CARD_BLOCKS
        )
        again = await fake.click(STAFF, message_ts=card["ts"], action_id="claim")
        assert again.acked and again.envelope_id != clicked.envelope_id
    finally:
        await handler.close_async()


async def test_rate_limited_call_is_retried_once_and_recorded_once(fake: FakeSlack) -> None:
    client = _client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    posted = await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="Case 18")
    assert time.monotonic() - started >= 1.0
    assert [m["ts"] for m in fake.messages(TRIAGE_CHANNEL)] == [posted["ts"]]
    assert [c.fault for c in fake.calls_to("chat.postMessage")] == ["429", None]


# -- fake behaviour ------------------------------------------------------------------------------


async def test_errors_are_slack_shaped_and_have_no_effect(fake: FakeSlack) -> None:
    client = _client(fake)
    unknown_ts = "1700000000.000100"
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: client.chat_postMessage(channel="C0NOWHERE1", text="x"), "channel_not_found"),
        # api_call: chat_postMessage() itself would first warn about the missing text (below).
        (lambda: client.api_call("chat.postMessage", json={"channel": TRIAGE_CHANNEL}), "no_text"),
        (
            lambda: client.chat_update(channel=TRIAGE_CHANNEL, ts=unknown_ts, text="x"),
            "message_not_found",
        ),
        (
            lambda: client.chat_postMessage(channel=TRIAGE_CHANNEL, text="x", thread_ts=unknown_ts),
            "thread_not_found",
        ),
        (
            lambda: client.chat_postMessage(
                channel=TRIAGE_CHANNEL, text="x", blocks=[{"type": "x"}]
            ),
            "invalid_blocks",
        ),
        (lambda: client.views_open(trigger_id="1.2.abc", view=REPLY_MODAL), "invalid_trigger_id"),
        (lambda: client.api_call("nope.nothing"), "unknown_method"),
        (
            lambda: AsyncWebClient(token="xoxb-no", base_url=fake.api_url).auth_test(),
            "invalid_auth",
        ),
        (lambda: AsyncWebClient(base_url=fake.api_url).auth_test(), "not_authed"),
        (lambda: client.apps_connections_open(app_token=fake.bot_token), "not_allowed_token_type"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as failure:
            await call()
        assert failure.value.response.status_code == 200
        assert failure.value.response["error"] == error
    assert fake.messages() == []
    # slack_sdk (client side) warns when blocks are sent without fallback text; this repo turns
    # warnings into errors, so the bot must always pass text= with blocks.
    with pytest.warns(UserWarning, match="top-level `text` argument is missing"):
        await client.chat_postMessage(channel=TRIAGE_CHANNEL, blocks=CARD_BLOCKS)
    await client.chat_delete(channel=TRIAGE_CHANNEL, ts=fake.messages()[0]["ts"])
    bad_title = {**REPLY_MODAL, "title": {"type": "plain_text", "text": "x" * 30}}
    with pytest.raises(SlackApiError) as failure:
        await client.views_open(trigger_id=fake.ws.issue_trigger(STAFF), view=bad_title)
    assert "/view/title/text" in failure.value.response["response_metadata"]["messages"][0]

    fake.fail_next("*", status=500)
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="lost")
    fake.fail_next("chat.postMessage", status="drop")
    dropped_then_retried = await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="kept")
    assert [m["text"] for m in fake.messages()] == ["kept"]
    assert fake.faults == [("chat.postMessage", "500"), ("chat.postMessage", "drop")]
    assert dropped_then_retried["ok"]


async def test_form_and_query_requests_and_token_param(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        form = {
            "token": fake.bot_token,
            "channel": TRIAGE_CHANNEL,
            "text": "hi",
            "blocks": json.dumps(CARD_BLOCKS),
        }
        async with session.post(f"{fake.api_url}chat.postMessage", data=form) as resp:
            posted = await resp.json()
        assert (
            posted["ok"] and posted["message"]["blocks"][1]["elements"][0]["action_id"] == "claim"
        )
        async with session.get(
            f"{fake.api_url}conversations.history",
            params={"channel": TRIAGE_CHANNEL},
            headers={"Authorization": f"Bearer {fake.bot_token}"},
        ) as resp:
            history = await resp.json()
        assert [m["ts"] for m in history["messages"]] == [posted["ts"]]
        async with session.post(
            f"{fake.api_url}chat.postMessage",
            data=b'{"channel":"C0TRIAGE01","text":"x"}',
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {fake.bot_token}",
            },
        ) as resp:
            uncharset = await resp.json()
        assert uncharset["warning"] == "missing_charset"


async def test_file_upload_v2_flow_posts_a_file_message(fake: FakeSlack) -> None:
    client = _client(fake)
    result = await client.files_upload_v2(
        channel=TRIAGE_CHANNEL,
        filename="digest.md",
        content="# Weekly digest\n",
        title="Digest",
        initial_comment="This week's digest",
    )
    assert result["file"]["title"] == "Digest"
    (upload,) = fake.uploads
    assert upload["content"] == b"# Weekly digest\n" and upload["completed"]
    (message,) = fake.messages(TRIAGE_CHANNEL)
    assert message["text"] == "This week's digest"
    assert message["files"][0]["id"] == upload["file_id"]


async def test_wait_for_explains_what_it_waited_for(fake: FakeSlack) -> None:
    await _client(fake).auth_test()
    with pytest.raises(TimeoutError, match=r"wait_for\(card posted\).*auth.test=ok"):
        await fake.wait_for(lambda: fake.messages(), timeout=0.05, description="card posted")
    assert await fake.wait_for(lambda: fake.ws.users[STAFF].name) == "alice.staff"


async def test_timeouts_and_random_faults_have_no_effect(fake: FakeSlack) -> None:
    client = _client(fake, timeout=0.3)
    fake.fail_next("chat.postMessage", status="timeout")
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="hung")
    fake.fault_rate(1.0, kinds=("503",))
    assert (await client.auth_test())["ok"]  # reads are never faulted by fault_rate
    with pytest.raises(SlackApiError) as failure:
        await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="unlucky")
    assert failure.value.response.status_code == 503
    fake.fault_rate(0)
    await client.chat_postMessage(channel=TRIAGE_CHANNEL, text="lucky")
    assert [m["text"] for m in fake.messages()] == ["lucky"]
    assert [kind for _, kind in fake.faults] == ["timeout", "503"]


async def test_response_url_replaces_and_posts(fake: FakeSlack) -> None:
    capture = Capture(fake.signing_secret)
    app = web.Application()
    app.router.add_post("/slack/events", capture.handle)
    runner, url = await _serve(app)
    try:
        fake.deliver_to(f"{url}/slack/events")
        card = await _client(fake).chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
        )
        await fake.click(STAFF, message_ts=card["ts"], action_id="claim")
        payload = json.loads(parse_qs(capture.verified()[1].decode())["payload"][0])
        hook = AsyncWebhookClient(payload["response_url"])
        assert (await hook.send(text="Claimed", replace_original=True)).status_code == 200
        assert (await hook.send(text="Only you can see this")).status_code == 200
        assert (
            await hook.send(text="Case 17 claimed", response_type="in_channel")
        ).status_code == 200
        texts = [m["text"] for m in fake.messages()]
        assert texts == ["Claimed", "Case 17 claimed"]
        assert fake.ephemerals[-1]["user"] == STAFF

        mention = await fake.post_message(
            STAFF, TRIAGE_CHANNEL, f"<@{fake.identity.bot_user_id}> hi"
        )
        assert mention is not None and mention.acked
        kinds = [d.request["event"]["type"] for d in fake.deliveries if d.kind == "events_api"]
        assert kinds == ["message", "app_mention"]
    finally:
        await runner.cleanup()


async def test_prefilled_inputs_are_submitted_as_shown(fake: FakeSlack) -> None:
    """An input left alone submits its initial_value; one refused with errors keeps its text."""
    seen: dict[str, Any] = {}
    app = _bolt_app(fake, seen)
    handler = AsyncSocketModeHandler(app, fake.app_token)
    await handler.connect_async()
    try:
        await fake.wait_for(lambda: fake.socket_connected)
        client = _client(fake)
        card = await client.chat_postMessage(
            channel=TRIAGE_CHANNEL, text="Case 17", blocks=CARD_BLOCKS
        )
        await fake.click(STAFF, message_ts=card["ts"], action_id="claim")
        modal = copy.deepcopy(REPLY_MODAL)
        modal["blocks"][0]["element"].update(initial_value="Hi", max_length=20)
        bad = copy.deepcopy(modal)
        bad["blocks"][0]["element"]["initial_value"] = 17
        with pytest.raises(SlackApiError) as invalid:
            await client.views_open(trigger_id=seen["click"]["trigger_id"], view=bad)
        assert invalid.value.response["error"] == "invalid_arguments"
        opened = await client.views_open(trigger_id=seen["click"]["trigger_id"], view=modal)
        assert opened["view"]["blocks"][0]["element"]["initial_value"] == "Hi"

        assert (await fake.submit_view(STAFF)).errors == {"reply": "Say a bit more"}
        assert (await fake.submit_view(STAFF, values={"reply": {"text": "Hey"}})).errors
        assert (await fake.submit_view(STAFF)).errors  # what was typed stays in the field
        with pytest.raises(ValueError, match="required"):
            await fake.submit_view(STAFF, values={"reply": {"text": ""}})
        with pytest.raises(ValueError, match="0 to 20 characters"):
            await fake.submit_view(STAFF, values={"reply": {"text": "x" * 21}})
        assert (await fake.submit_view(STAFF, values={"reply": {"text": "On its way"}})).acked
        assert seen["submissions"] == [
            ("case-17", "Hi"), ("case-17", "Hey"), ("case-17", "Hey"), ("case-17", "On its way"),
        ]
        assert not fake.views[-1]["is_open"]
    finally:
        await handler.close_async()
