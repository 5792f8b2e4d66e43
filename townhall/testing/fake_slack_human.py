"""What people do in the Slack client, as the fake Slack turns it into app traffic.

Each helper changes the workspace the way the client would (a typed message is stored, a clicked
button issues a trigger_id and a response_url) and then delivers the matching payload to the app,
returning the :class:`~townhall.testing.fake_slack_transport.Delivery` (HTTP status/body or Socket
Mode ack). Asking for something a person could not do (click a button that is not there, type into
a field the modal lacks) raises ``ValueError`` so a broken test fails loudly.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from townhall.testing import fake_slack_payloads as pl
from townhall.testing.fake_slack_state import (
    TRIAGE_CHANNEL,
    Channel,
    ResponseUrl,
    User,
    ViewRecord,
    Workspace,
)
from townhall.testing.fake_slack_transport import Delivery
from townhall.testing.fake_slack_views import state_values

if TYPE_CHECKING:
    from townhall.testing.fake_slack_api import WebApi


class HumanActions:
    """Mixin for :class:`FakeSlack`: staff-side actions that produce events and interactions."""

    ws: Workspace
    api: WebApi
    event_subscriptions: set[str]

    async def deliver(self, kind: str, payload: dict[str, Any]) -> Delivery:  # pragma: no cover
        raise NotImplementedError

    @property
    def base_url(self) -> str:  # pragma: no cover
        raise NotImplementedError

    # -- lookups -------------------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        user = self.ws.users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id!r}; add it with fake.add_user()")
        return user

    def _channel_for(self, user: User, channel_id: str) -> Channel:
        if channel_id == self.ws.identity.bot_user_id:  # "message the bot" = the user's DM
            channel_id = user.id
        channel = self.ws.resolve_channel(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id!r}; add it with fake.add_channel()")
        if user.id not in self.ws.members(channel):
            raise ValueError(f"{user.id} is not a member of {channel.id}")
        return channel

    def _response_url(
        self, channel: str, user_id: str, message_ts: str | None, thread_ts: str | None
    ) -> str:
        key = (
            f"{self.ws.identity.team_id}/{1000000000 + len(self.ws.response_urls)}/"
            f"{self.ws.ids.token(12)}"
        )
        self.ws.response_urls[key] = ResponseUrl(
            channel=channel, user_id=user_id, message_ts=message_ts, thread_ts=thread_ts
        )
        return f"{self.base_url}actions/{key}"

    # -- actions -------------------------------------------------------------------------------

    async def click(
        self,
        user_id: str,
        *,
        channel: str = TRIAGE_CHANNEL,
        message_ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> Delivery:
        """Click a button (or pick a select option ``value``) in a posted or ephemeral message."""
        user = self._user(user_id)
        chan = self._channel_for(user, channel)
        record = self.ws.find(chan.id, message_ts)
        ephemeral = (
            None
            if record is not None
            else next(
                (
                    e
                    for e in self.ws.ephemerals
                    if e["channel"] == chan.id
                    and e["message_ts"] == message_ts
                    and e["user"] == user.id
                ),
                None,
            )
        )
        data = record.data if record is not None else ephemeral
        if data is None:
            raise ValueError(f"no message {message_ts} in {chan.id} visible to {user.id}")
        found = pl.find_element(data.get("blocks") or [], action_id, block_id)
        if found is None:
            raise ValueError(f"message {message_ts} has no element with action_id {action_id!r}")
        action = pl.action_object(found[0], found[1], value)
        thread_ts = data.get("thread_ts") if data.get("thread_ts") != message_ts else None
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": chan.id,
            "is_ephemeral": ephemeral is not None,
        }
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload = pl.block_actions(
            self.ws,
            user,
            chan,
            trigger_id=self.ws.issue_trigger(user.id),
            response_url=self._response_url(chan.id, user.id, message_ts, thread_ts),
            container=container,
            action=action,
            message=copy.deepcopy(record.data) if record is not None else None,
        )
        return await self.deliver("interactive", payload)

    def _view_for(self, user_id: str, view_id: str | None) -> ViewRecord:
        record = self.ws.views.get(view_id) if view_id else self.ws.latest_open_view(user_id)
        if record is None or not record.is_open:
            raise ValueError(f"no open view {view_id or ''} for {user_id}")
        if record.user_id != user_id:
            raise ValueError(f"view {record.view['id']} was opened for {record.user_id}")
        return record

    async def submit_view(
        self,
        user_id: str,
        *,
        view_id: str | None = None,
        values: dict[str, dict[str, Any]] | None = None,
    ) -> Delivery:
        """Press Submit on an open modal with ``values[block_id][action_id]`` typed in.

        Inputs not in ``values`` keep what they held: the text typed at the last submission,
        else the ``initial_value`` (or ``initial_option``...) the app prefilled.

        The returned Delivery's ``errors`` holds ``response_action: errors`` field errors (the
        modal then stays open); other response actions update/push/clear the stack.
        """
        user = self._user(user_id)
        record = self._view_for(user.id, view_id)
        view = copy.deepcopy(record.view)
        previous = record.submissions[-1]["values"] if record.submissions else None
        view["state"] = {"values": state_values(view, values or {}, previous)}
        payload = pl.view_submission(self.ws, user, view, trigger_id=self.ws.issue_trigger(user.id))
        delivery = await self.deliver("interactive", payload)
        record.submissions.append(
            {
                "values": view["state"]["values"],
                "acked": delivery.acked,
                "response": delivery.response,
            }
        )
        if delivery.acked:
            self.api.after_submission(record, delivery.response)
        return delivery

    async def close_view(self, user_id: str, *, view_id: str | None = None) -> Delivery | None:
        """Dismiss a modal; the app hears ``view_closed`` only if it set notify_on_close."""
        user = self._user(user_id)
        record = self._view_for(user.id, view_id)
        record.is_open = False
        if not record.view.get("notify_on_close"):
            return None
        return await self.deliver(
            "interactive", pl.view_closed(self.ws, user, copy.deepcopy(record.view))
        )

    async def post_message(
        self, user_id: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> Delivery | None:
        """Type a message (optionally in a thread): stored, then sent as a ``message`` event.

        Also sends ``app_mention`` when the text mentions the bot. Returns the message event's
        Delivery, or None when the bot is not in the channel (Slack would not tell it).
        """
        user = self._user(user_id)
        chan = self._channel_for(user, channel)
        parent_user = None
        if thread_ts is not None:
            parent = self.ws.find(chan.id, thread_ts)
            if parent is None:
                raise ValueError(f"no thread {thread_ts} in {chan.id}")
            if parent.is_reply:
                parent = self.ws.find(chan.id, str(parent.data["thread_ts"])) or parent
            thread_ts, parent_user = parent.ts, parent.data.get("user")
        data = pl.human_message(
            self.ws, user.id, text, self.ws.clock.next(), thread_ts, parent_user
        )
        record = self.ws.store(chan.id, data)
        if not chan.bot_is_member:
            return None
        event = pl.message_event(record, chan)
        delivery = None
        if "message" in self.event_subscriptions:
            delivery = await self.send_event(event)
        mentioned = f"<@{self.ws.identity.bot_user_id}>" in text
        if mentioned and "app_mention" in self.event_subscriptions:
            mention = {
                k: v for k, v in event.items() if k not in ("channel_type", "parent_user_id")
            }
            mention["type"] = "app_mention"
            mention_delivery = await self.send_event(mention)
            delivery = delivery or mention_delivery
        return delivery

    async def slash_command(
        self, user_id: str, command: str, text: str = "", *, channel: str = TRIAGE_CHANNEL
    ) -> Delivery:
        """Run ``/command text`` in a channel; an ack body with text is shown like Slack does."""
        user = self._user(user_id)
        chan = self._channel_for(user, channel)
        response_url = self._response_url(chan.id, user.id, None, None)
        payload = pl.slash_command(
            self.ws,
            user,
            chan,
            command=command,
            text=text,
            trigger_id=self.ws.issue_trigger(user.id),
            response_url=response_url,
        )
        delivery = await self.deliver("slash_commands", payload)
        answer = delivery.response
        if isinstance(answer, str):  # a text/plain ack body is shown as an ephemeral reply
            answer = {"text": answer}
        if (
            delivery.acked
            and isinstance(answer, dict)
            and (answer.get("text") or answer.get("blocks"))
        ):
            key = response_url.split("/actions/", 1)[1]
            self.apply_response(self.ws.response_urls[key], answer)
        return delivery

    async def send_event(self, event: dict[str, Any]) -> Delivery:
        """Deliver any Events API event (wrapped in an ``event_callback`` envelope)."""
        event = copy.deepcopy(event)
        event.setdefault("event_ts", pl.now_ts())
        return await self.deliver("events_api", pl.event_envelope(self.ws, event))

    async def verify_url(self, challenge: str = "fake-challenge") -> Delivery:
        """Send the ``url_verification`` handshake Slack performs when a Request URL is saved."""
        return await self.deliver(
            "events_api",
            {
                "token": self.ws.identity.verification_token,
                "challenge": challenge,
                "type": "url_verification",
            },
        )

    # -- response_url --------------------------------------------------------------------------

    def apply_response(self, target: ResponseUrl, body: dict[str, Any]) -> None:
        """Apply a response_url post (or slash-command ack body) to the workspace.

        Raises ApiError (via the Web API checks) before changing anything if the body is invalid.
        """
        api = self.api
        record = self.ws.find(target.channel, target.message_ts) if target.message_ts else None
        if body.get("delete_original"):
            if record is not None:
                self.ws.remove(record)
            return
        text, blocks, attachments = api._content(body)
        if body.get("replace_original") and record is not None:
            record.history.append(copy.deepcopy(record.data))
            api._apply_content(record.data, text, blocks, attachments)
            record.data["edited"] = {
                "user": self.ws.identity.bot_user_id,
                "ts": self.ws.clock.next(),
            }
            return
        ephemeral = next(
            (
                e
                for e in self.ws.ephemerals
                if e["message_ts"] == target.message_ts and e["user"] == target.user_id
            ),
            None,
        )
        if body.get("replace_original") and ephemeral is not None:
            api._apply_content(ephemeral, text, blocks, attachments)
            return
        thread_ts = body.get("thread_ts") or target.thread_ts
        params = {
            "channel": target.channel,
            "text": text,
            "blocks": blocks,
            "attachments": attachments,
            "thread_ts": thread_ts,
            "user": target.user_id,
        }
        if body.get("response_type") == "in_channel":
            api.chat_post_message(params)
        else:
            api.chat_post_ephemeral(params)
