"""`/townhall ...`: the staff's text commands, whatever console they type them in.

The console passes the command's text and who typed it; the answer is text shown only to that
person. Each subcommand is one small method, so a new one (queues, polls, announcements) is a
method and a line in `_ROUTES`.
"""

from __future__ import annotations

from listening.queries import ListeningQueries

HELP = (
    "*Townhall commands*\n"
    "• `/townhall listen list`: the keyword searches we listen to on X\n"
    "• `/townhall listen add QUERY`: listen to one more (X search syntax, e.g. "
    '`"Springfield" pothole -is:retweet`)\n'
    "• `/townhall listen remove QUERY`: stop listening to one you added\n"
    "Cases arrive as cards in the triage channel: Claim, Reply or Resolve them there."
)


class StaffCommands:
    def __init__(self, listening: ListeningQueries | None = None):
        self.listening = listening

    async def run(self, text: str, staff_id: str) -> str:
        """The answer to `/townhall <text>` typed by `staff_id`; never raises for bad input."""
        word, _, rest = text.strip().partition(" ")
        if word.lower() == "listen":
            return await self._listen(rest.strip(), staff_id)
        return HELP

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
