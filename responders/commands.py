"""Commands every channel understands: /start, /help, /status [REF]."""

from __future__ import annotations

from responders.cases import CaseService
from responders.chain import Reply, Turn
from responders.texts import say

SUMMARY_CHARS = 60


class CommandResponder:
    name = "command"

    def __init__(self, cases: CaseService, *, city_name: str):
        self.cases = cases
        self.city_name = city_name

    async def respond(self, turn: Turn) -> Reply | None:
        message = turn.message
        if message is None or message.command is None:
            return None
        language = turn.language
        if message.command == "start":
            return Reply(say("welcome", language, city=self.city_name), self.name)
        if message.command == "status":
            return Reply(await self._status(turn, message.args.strip()), self.name, private=True)
        return Reply(say("help", language), self.name)

    async def _status(self, turn: Turn, reference: str) -> str:
        language = turn.language
        cases = await self.cases.cases_of(turn.citizen_id, reference or None)
        if not cases:
            key = "status_unknown" if reference else "status_none"
            return say(key, language, ref=reference.upper())
        lines = []
        for case in cases:
            summary = case.summary if len(case.summary) <= SUMMARY_CHARS else (
                case.summary[: SUMMARY_CHARS - 1] + "…"
            )
            lines.append(
                say(
                    "status_line", language,
                    ref=case.reference, status=say(f"status_{case.status}", language),
                    opened=case.created_at.strftime("%Y-%m-%d"), summary=summary,
                )
            )
        return "\n".join(lines)
