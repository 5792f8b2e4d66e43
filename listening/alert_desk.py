"""Between the trends job and the staff console: alert cards out, staff decisions in.

Like case cards, an alert card is rendered from the alert row at delivery time, so a burst of
updates ends with one accurate card, and an alert that already has a Slack message is edited
in place. Buttons carry only the alert id.
"""

from __future__ import annotations

from typing import Any

from bots.base import StaffConsole
from bots.slack.blocks import escape
from listening.alerts import decide
from listening.outbox import Outbox
from listening.trend_tables import Alert
from townhall.db import Database
from townhall.domain import Button, Card, CardField, SendError, StaffAction

TRACK, DISMISS = "alert_track", "alert_dismiss"
ACTIONS = {TRACK: "track", DISMISS: "dismiss"}
STATUS_LINE = {
    "open": "Emerging issue",
    "tracking": "Tracked as an incident",
    "dismissed": "Not an issue",
    "closed": "Went quiet",
}


def alert_card(alert: Alert, categories: dict[str, str], window_minutes: int) -> Card:
    assert alert.id is not None
    channels = ", ".join(f"{name} {count}" for name, count in sorted(alert.channels.items()))
    category = categories.get(alert.category or "", alert.category or "unknown")
    fields = (
        CardField("Messages", f"{alert.messages} in the last {window_minutes} min"),
        CardField("Growth", f"{alert.growth:g}x its usual volume"),
        CardField("Citizens", str(alert.citizens)),
        CardField("Channels", channels or "-"),
        CardField("Category", category),
        CardField("Sentiment", alert.sentiment or "unknown"),
    )
    if alert.decided_by:
        decision = f"{STATUS_LINE[alert.status]}, by <@{alert.decided_by}>"
        fields += (CardField("Decision", decision),)
    # residents' words, shown literally: a `<!channel>` in a message must not ping anyone
    examples = "\n".join(
        "• " + escape(str(text))
        for text in alert.examples
    ) or "-"
    buttons: tuple[Button, ...] = ()
    if alert.status == "open":
        buttons = (
            Button("Track as incident", TRACK, str(alert.id)),
            Button("Not an issue", DISMISS, str(alert.id)),
        )
    footer = f"Alert {alert.id} · first raised {alert.first_alert_at:%Y-%m-%d %H:%M} UTC"
    footer += f" · updated {alert.updated_at:%H:%M} UTC"
    return Card(
        title=f"{STATUS_LINE.get(alert.status, 'Alert')}: {alert.label}",
        text=f"{alert.messages} messages from {alert.citizens} citizens about: {alert.label}",
        fields=fields,
        sections=(("Representative messages", examples),),
        buttons=buttons,
        footer=footer,
    )


class AlertDesk:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        console: StaffConsole,
        *,
        categories: dict[str, str] | None = None,
        channel: str | None = None,
        window_minutes: int = 60,
    ):
        self.db = db
        self.outbox = outbox
        self.console = console
        self.categories = categories or {}
        self.channel = channel or None  # None: the console's triage channel
        self.window_minutes = window_minutes

    async def deliver(self, payload: dict[str, Any]) -> str:
        """Outbox kind `alert`: post the alert's card, or edit the one already posted."""
        alert = await self.db.run(lambda s: s.get(Alert, int(payload["alert_id"])))
        if alert is None:
            raise SendError(f"alert {payload['alert_id']} is gone", permanent=True)
        card = alert_card(alert, self.categories, self.window_minutes)
        if alert.slack_channel and alert.slack_ts:
            await self.console.update_card(alert.slack_channel, alert.slack_ts, card)
            return alert.slack_ts
        channel, ts = await self.console.post_card(card, channel=self.channel)
        await self.db.run(_remember_message, int(payload["alert_id"]), channel, ts)
        return ts

    async def handle(self, action: StaffAction) -> None:
        """A staff member pressed "Track as incident" or "Not an issue"."""
        assert action.alert_id is not None
        await self.db.run(decide, action.alert_id, ACTIONS[action.kind], action.staff_id)
        self.outbox.wake()


def _remember_message(session: Any, alert_id: int, channel: str, ts: str) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None:
        alert.slack_channel, alert.slack_ts = channel, ts
        session.add(alert)
