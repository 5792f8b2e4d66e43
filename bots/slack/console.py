"""The Slack staff console: case cards in a triage channel, and the staff's clicks back.

Built on bolt's `AsyncApp` with small listener functions, as bolt apps are. Every listener acks
first (Slack wants an answer within 3 seconds) and then hands a `StaffAction` to the callback
given to `start`. Only configured staff may act: a bolt middleware refuses everyone else with an
ephemeral message before any listener runs.

"Add to FAQ" needs the case's text to prefill its form; the console does not know cases, so it
is given `faq_draft` (case id -> `FaqDraft`) by the composition root.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bots.base import OnAction
from bots.slack.blocks import (
    FAQ_BLOCKS,
    FAQ_MODAL,
    REPLY_BLOCK,
    REPLY_INPUT,
    REPLY_MODAL,
    REPLY_THEN_BLOCK,
    faq_modal,
    reply_modal,
)
from bots.slack.poll_modal import BLOCKS as POLL_BLOCKS
from bots.slack.poll_modal import POLL_MODAL, poll_modal, read_poll_form
from bots.slack.posting import SlackPosting
from bots.slack.roles import at_least, needed_role
from townhall.domain import FaqDraft, PollForm, StaffAction

log = logging.getLogger(__name__)

FaqDrafter = Callable[[int], Awaitable[FaqDraft]]
# (case id, saved reply id) -> the saved reply's text in the case's language
CannedDrafter = Callable[[int, str], Awaitable[str]]
# (command text, staff user id) -> the answer shown to that staff member
CommandRunner = Callable[[str, str], Awaitable[str]]


class PollCreator(Protocol):
    """What `/townhall poll` needs: the topics to offer, and creating the poll."""

    def topics(self) -> dict[str, str]: ...

    async def create(self, form: PollForm, staff_id: str) -> int: ...


REFUSAL = "Only the city's communications staff can act on cases. Ask an admin to add you."
BUTTON_ACTIONS = {"case_claim": "claim", "case_resolve": "resolve", "case_block": "block"}
# buttons on other cards than cases: action id -> the StaffAction field that gets the value
TARGET_BUTTONS = {
    "alert_track": "alert_id", "alert_dismiss": "alert_id", "poll_close": "poll_id",
    "statement_approve": "statement_id", "statement_reject": "statement_id",
}
SELECT_ACTIONS = {
    "case_recategorize": "recategorize", "case_sentiment": "sentiment", "case_move": "move",
    "case_merge": "merge", "case_split": "split",
}
class SlackConsole(SlackPosting):
    name = "slack"

    def __init__(
        self,
        *,
        bot_token: str,
        triage_channel: str,
        staff: list[str],
        leads: Sequence[str] = (),
        admins: Sequence[str] = (),
        api_url: str = "https://slack.com/api/",
        signing_secret: str | None = None,
        app_token: str | None = None,
        faq_draft: FaqDrafter | None = None,
        commands: CommandRunner | None = None,
        polls: PollCreator | None = None,
        canned_draft: CannedDrafter | None = None,
    ):
        self.triage_channel = triage_channel
        self._faq_draft = faq_draft
        self._commands = commands
        self._polls = polls
        self._canned_draft = canned_draft
        self.app_token = app_token
        self._staff_entries = list(staff)
        self._role_entries = {"lead": list(leads), "admin": list(admins)}
        self._members: dict[str, set[str]] = {
            role: {s for s in entries if not s.startswith("S")}
            for role, entries in self._role_entries.items()
        }
        self._staff: set[str] = {s for s in staff if not s.startswith("S")} | (
            self._members["lead"] | self._members["admin"])
        self.client = AsyncWebClient(token=bot_token, base_url=api_url)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=signing_secret or "",
            request_verification_enabled=app_token is None,
            ssl_check_enabled=False,
            # acknowledge only once a listener is done: bolt otherwise acks an event first and
            # handles it in the background, and a crash in between loses it (a staff reply in
            # a card's thread) since Slack does not send an acknowledged event again
            process_before_response=True,
        )
        self._on_action: OnAction | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._register()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, on_action: OnAction) -> None:
        self._on_action = on_action
        await self.refresh_staff()
        if not self._staff:
            log.warning("TOWNHALL_SLACK__STAFF is empty: nobody can act on cases in Slack")
        if self.app_token:
            self._socket = AsyncSocketModeHandler(self.app, self.app_token)
            await self._socket.connect_async()
            log.info("slack: socket mode connected")
        else:
            log.info("slack: HTTP mode, events arrive at /slack/events")

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def refresh_staff(self) -> None:
        """Expand user groups (ids starting with S) into their members, for every role."""
        self._members = {role: await self._expand(entries)
                         for role, entries in self._role_entries.items()}
        self._staff = (await self._expand(self._staff_entries)) | self._members["lead"] | (
            self._members["admin"])

    async def _expand(self, entries: list[str]) -> set[str]:
        members = {s for s in entries if not s.startswith("S")}
        for group in (s for s in entries if s.startswith("S")):
            try:
                response = await self.client.usergroups_users_list(usergroup=group)
                members.update(response.get("users", []))
            except (SlackApiError, SlackRequestError) as exc:
                log.warning("slack: cannot read user group %s: %s", group, exc)
        return members

    def is_staff(self, user_id: str | None) -> bool:
        return bool(user_id) and user_id in self._staff

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        """HTTP mode: one signed request from Slack, answered by bolt."""
        return await self.app.async_dispatch(request)

    # --- listeners ----------------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.middleware(self._staff_only)
        for action_id in BUTTON_ACTIONS:
            app.action(action_id)(self._on_button)
        app.action("case_reply")(self._on_reply_button)
        for action_id in SELECT_ACTIONS:
            app.action(action_id)(self._on_select)
        app.action("case_canned")(self._on_canned_select)
        app.view(REPLY_MODAL)(self._on_reply_submitted)
        app.action("case_faq_add")(self._on_faq_button)
        for action_id in TARGET_BUTTONS:
            app.action(action_id)(self._on_target_button)
        app.view(FAQ_MODAL)(self._on_faq_submitted)
        app.view(POLL_MODAL)(self._on_poll_submitted)
        app.event("message")(self._on_message)
        app.command("/townhall")(self._on_command)

    async def _staff_only(self, body: dict, context: Any, ack: Any, client: Any, next: Any) -> None:
        interactive = body.get("type") in ("block_actions", "view_submission") or "command" in body
        if not interactive:
            await next()
            return
        needed = needed_role(body)
        if at_least(self.role_of(context.user_id), needed):
            await next()
            return
        await ack()
        channel = context.channel_id or self.triage_channel
        text = REFUSAL if not self.is_staff(context.user_id) else (
            f"That needs the {needed} role in Townhall. Ask an admin if you should have it.")
        log.info("slack: refused %s from %s (needs %s)", body.get("type"), context.user_id,
                 needed)
        try:
            await client.chat_postEphemeral(channel=channel, user=context.user_id, text=text)
        except SlackApiError as exc:
            log.warning("slack: could not post refusal: %s", exc)

    def role_of(self, user_id: str | None) -> str | None:
        """admin, lead or agent (anyone in staff), or None for someone who is not staff."""
        if not user_id:
            return None
        if user_id in self._members["admin"]:
            return "admin"
        if user_id in self._members["lead"]:
            return "lead"
        return "agent" if user_id in self._staff else None

    async def _act(self, action: StaffAction, client: AsyncWebClient, channel: str | None) -> None:
        """Run an action; show its failure to the staff member who tried it."""
        assert self._on_action is not None
        try:
            await self._on_action(action)
        except Exception as exc:
            log.info("slack: %s on case %s failed: %s", action.kind, action.case_id, exc)
            try:
                await client.chat_postEphemeral(
                    channel=channel or self.triage_channel, user=action.staff_id, text=str(exc)
                )
            except (SlackApiError, SlackRequestError) as error:  # nowhere to say it: log it
                log.warning("slack: could not tell %s why: %s", action.staff_id, error)

    async def _open_view(
        self, client: AsyncWebClient, trigger_id: str, view: dict[str, Any]
    ) -> None:
        """Open a form. Slack refuses a trigger older than 3 seconds (or one it never issued);
        the click is already acknowledged and there is nowhere to show the form, so that is
        logged, not raised into bolt as an unhandled error."""
        try:
            await client.views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, SlackRequestError) as exc:
            log.warning("slack: could not open the %s form: %s", view.get("callback_id"), exc)

    async def _on_button(self, ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        staff_action = StaffAction(
            kind=BUTTON_ACTIONS[action["action_id"]],
            staff_id=body["user"]["id"],
            key=f"slack-action:{body.get('trigger_id', '')}",
            case_id=int(action["value"]),
        )
        await self._act(staff_action, client, (body.get("channel") or {}).get("id"))

    async def _on_target_button(
        self, ack: Any, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        """A button on an alert, a poll or a statement card: the value is that thing's id."""
        await ack()
        kind, target = action["action_id"], int(action["value"])
        field = TARGET_BUTTONS[kind]
        staff_action = StaffAction(
            kind=kind, staff_id=body["user"]["id"],
            key=f"slack-action:{body.get('trigger_id', '')}", **{field: target},
        )
        await self._act(staff_action, client, (body.get("channel") or {}).get("id"))

    async def _on_select(self, ack: Any, body: dict, action: dict, client: AsyncWebClient) -> None:
        """A correction chosen from a card's drop-down: the option value is `case_id:value`."""
        await ack()
        case_id, _, value = action["selected_option"]["value"].partition(":")
        staff_action = StaffAction(
            kind=SELECT_ACTIONS[action["action_id"]],
            staff_id=body["user"]["id"],
            key=f"slack-action:{body.get('trigger_id', '')}",
            case_id=int(case_id),
            text=value,
        )
        await self._act(staff_action, client, (body.get("channel") or {}).get("id"))

    async def _on_reply_button(
        self, ack: Any, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        modal = reply_modal(int(action["value"]))
        await self._open_view(client, body["trigger_id"], modal)

    async def _on_canned_select(
        self, ack: Any, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        """A saved reply picked on a card: the Reply form opens with it, for staff to edit."""
        await ack()
        case_id, _, reply_id = action["selected_option"]["value"].partition(":")
        text = ""
        if self._canned_draft is not None:
            try:
                text = await self._canned_draft(int(case_id), reply_id)
            except Exception as exc:  # an empty form still lets staff write the reply
                log.warning("slack: no saved reply %s for case %s: %s", reply_id, case_id, exc)
        await self._open_view(client, body["trigger_id"], reply_modal(int(case_id), text=text))

    async def _on_reply_submitted(self, ack: Any, body: dict, view: dict) -> None:
        values = view["state"]["values"]
        text = values[REPLY_BLOCK][REPLY_INPUT].get("value") or ""
        then = ((values.get(REPLY_THEN_BLOCK, {}).get(REPLY_THEN_BLOCK) or {})
                .get("selected_option") or {}).get("value") or "open"
        action = StaffAction(
            kind="reply",
            staff_id=body["user"]["id"],
            key=f"slack-view:{view['id']}",
            case_id=int(view["private_metadata"]),
            text=text,
            follow_up=then,
        )
        assert self._on_action is not None
        try:
            await self._on_action(action)
        except Exception as exc:
            await ack(response_action="errors", errors={REPLY_BLOCK: str(exc)[:150]})
            return
        await ack()

    async def _on_faq_button(
        self, ack: Any, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        """Open the "Add to FAQ" form, prefilled from the case (within the trigger's 3 s)."""
        await ack()
        case_id = int(action["value"])
        draft = FaqDraft(question="")
        if self._faq_draft is not None:
            try:
                draft = await self._faq_draft(case_id)
            except Exception as exc:  # an empty form still lets staff write the entry
                log.warning("slack: no FAQ draft for case %s: %s", case_id, exc)
        await self._open_view(client, body["trigger_id"], faq_modal(case_id, draft))

    async def _on_faq_submitted(self, ack: Any, body: dict, view: dict) -> None:
        """The form becomes a `faq_add` action; what is wrong is shown next to its field."""
        values = view["state"]["values"]
        form = {
            field: (values.get(block, {}).get(block, {}).get("value") or "")
            for field, block in FAQ_BLOCKS.items()
        }
        action = StaffAction(
            kind="faq_add",
            staff_id=body["user"]["id"],
            key=f"slack-view:{view['id']}",
            case_id=int(view["private_metadata"]),
            text=json.dumps(form, ensure_ascii=False),
        )
        assert self._on_action is not None
        try:
            await self._on_action(action)
        except Exception as exc:
            block = FAQ_BLOCKS.get(getattr(exc, "field", ""), FAQ_BLOCKS["question"])
            log.info("slack: Add to FAQ on case %s refused: %s", action.case_id, exc)
            await ack(response_action="errors", errors={block: str(exc)[:150]})
            return
        await ack()

    async def _on_poll_submitted(self, ack: Any, body: dict, view: dict) -> None:
        """A new poll from the modal; a refusal is shown next to the question."""
        assert self._polls is not None
        staff_id = body["user"]["id"]
        form = read_poll_form(view["state"]["values"])
        try:
            poll_id = await self._polls.create(form, staff_id)
        except ValueError as exc:
            await ack(response_action="errors", errors={POLL_BLOCKS["question"]: str(exc)[:150]})
            return
        await ack()
        log.info("slack: poll %s created by %s", poll_id, staff_id)

    async def _on_message(self, event: dict) -> None:
        """A staff reply in a card's thread goes to the citizen, like the Reply button. Cards
        live in every queue's channel; a thread that is not a card's is ignored by triage."""
        thread_ts = event.get("thread_ts")
        if (
            not thread_ts
            or thread_ts == event.get("ts")
            or event.get("subtype")
            or event.get("bot_id")
            or not self.is_staff(event.get("user"))
        ):
            return
        await self._act(
            StaffAction(
                kind="thread_reply",
                staff_id=event["user"],
                key=f"slack-message:{event['channel']}:{event['ts']}",
                text=event.get("text", ""),
                card_channel=event["channel"],
                card_ts=thread_ts,
            ),
            self.client,
            event["channel"],
        )

    async def _on_command(self, ack: Any, command: dict) -> None:
        """`/townhall ...`: answered only to the staff member who typed it (ephemeral)."""
        if self._commands is None:
            await ack(
                "Townhall: cases arrive as cards in <#"
                + self.triage_channel
                + ">. Claim, Reply or Resolve them there, or reply in a card's thread."
            )
            return
        if self._polls is not None and (command.get("text") or "").strip().lower() == "poll":
            await ack()
            await self._open_view(
                self.client, command["trigger_id"], poll_modal(self._polls.topics())
            )
            return
        try:
            answer = await self._commands(command.get("text") or "", command["user_id"])
        except Exception:  # the command failed: say so, do not leave Slack's "failed" banner
            log.exception("slack: /townhall %r failed", command.get("text"))
            answer = "Sorry, that command failed; the error is in the bot's log."
        await ack(answer)
