"""`/townhall ...`: the staff's text commands, whatever console they type them in.

The console passes the command's text and who typed it; the answer is text shown only to that
person. Each subcommand is one small method, so a new one (queues, polls, announcements) is a
method and a line in `_ROUTES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from listening.queries import ListeningQueries
from polls.announcements import AnnouncementError, Announcements

HELP = (
    "*Townhall commands*\n"
    "• `/townhall listen list`: the keyword searches we listen to on X\n"
    "• `/townhall listen add QUERY`: listen to one more (X search syntax, e.g. "
    '`"Springfield" pothole -is:retweet`)\n'
    "• `/townhall listen remove QUERY`: stop listening to one you added\n"
    "• `/townhall poll`: a new poll for a topic's subscribers or a Telegram group\n"
    "• `/townhall announce TOPIC MESSAGE`: a message to everyone subscribed to TOPIC\n"
    "• `/townhall consult`: opinion consultations (new, list, report, close)\n"
    "• `/townhall queue [NAME]`: a queue's open cases, oldest first, with their SLA\n"
    "• `/townhall unblock CASE`: answer a citizen blocked from a card again\n"
    "Cases arrive as cards in the triage channel: Claim, Reply or Resolve them there."
)


class StaffCommands:
    def __init__(
        self, listening: ListeningQueries | None = None,
        announcements: Announcements | None = None,
        consult: Callable[[str, str], Awaitable[str]] | None = None,
        queue: Callable[[str], Awaitable[str]] | None = None,
        unblock: Callable[[str, str], Awaitable[str]] | None = None,
    ):
        self.listening = listening
        self.announcements = announcements
        self.consult = consult
        self.queue = queue
        self.unblock = unblock

    async def run(self, text: str, staff_id: str) -> str:
        """The answer to `/townhall <text>` typed by `staff_id`; never raises for bad input."""
        word, _, rest = text.strip().partition(" ")
        if word.lower() == "listen":
            return await self._listen(rest.strip(), staff_id)
        if word.lower() == "announce" and self.announcements is not None:
            return await self._announce(rest.strip())
        if word.lower() == "unblock" and self.unblock is not None:
            return await self.unblock(rest, staff_id)
        if word.lower() == "queue" and self.queue is not None:
            return await self.queue(rest)
        if word.lower() == "consult" and self.consult is not None:
            return await self.consult(rest.strip(), staff_id)
        return HELP

    async def _announce(self, text: str) -> str:
        """`announce TOPIC MESSAGE`: TOPIC is one word (`parks`) or a quoted name."""
        assert self.announcements is not None
        if text.startswith('"') and '"' in text[1:]:
            topic, _, message = text[1:].partition('"')
        else:
            topic, _, message = text.partition(" ")
        try:
            name, count = await self.announcements.send(topic, message)
        except AnnouncementError as exc:
            return f"Not sent: {exc}"
        return f"Sending to {count} subscriber(s) of {name}."

    async def _listen(self, text: str, staff_id: str) -> str:
        if self.listening is None:
            return "Listening is off: the X channel is not configured."
        verb, _, query = text.partition(" ")
        verb, query = verb.lower(), query.strip()
        try:
            if verb in ("", "list"):
                entries = await self.listening.list()
                if not entries:
                    return "No listening queries yet. Add one with `/townhall listen add QUERY`."
                lines = [
                    f"• `{e.query}`" + (" (settings file)" if e.source == "config"
                                        else f" (added by <@{e.added_by}>)" if e.added_by else "")
                    for e in entries
                ]
                return "*Listening on X:*\n" + "\n".join(lines)
            if verb == "add" and query:
                if await self.listening.add(query, added_by=staff_id):
                    return f"Now listening to `{query}`."
                return f"Already listening to `{query}`."
            if verb == "remove" and query:
                if await self.listening.remove(query):
                    return f"Stopped listening to `{query}`."
                return f"`{query}` is not in the list."
        except ValueError as exc:
            return f"Cannot do that: {exc}"
        return HELP
