"""Citizens in a consultation: `/consult`, the vote buttons, and "Add my own statement".

`/consult` lists the open consultations on the citizen's topics as buttons; `/consult N` (or a
tap) joins one: the question and the first statement, with Agree / Disagree / Pass and "Add my
own statement". Each press records the vote and answers with the next statement, so a citizen
goes through the statements one message at a time; when none is left they are told so and
invited to add their own. Buttons carry ids only (`cs_vote` "<statement>.<a|d|p>").

"Add my own statement" makes the citizen's next private message their statement (the request
is stored, see `polls.consultation_drafts`). That is why this responder must come before the
responders that take a plain message as a question or a follow-up to a case; and before
`CommandResponder`, which answers every command it does not know with the help text.
"""

from __future__ import annotations

from polls.consultation_drafts import RETRY
from polls.consultation_models import STATEMENT_LIMIT
from polls.consultation_store import ADD, CANCEL, JOIN, VOTE, VOTES, StatementRefused
from polls.consultation_texts import say
from polls.consultations import ConsultationService
from responders.chain import Reply, Turn
from townhall.domain import Button

COMMAND = "consult"
LABEL_LIMIT = 60  # a button label longer than this is cut (Telegram shows about this much)


def vote_buttons(statement_id: int, consultation_id: int, language: str) -> tuple[Button, ...]:
    return (
        Button(say("consult_agree", language), VOTE, f"{statement_id}.a"),
        Button(say("consult_disagree", language), VOTE, f"{statement_id}.d"),
        Button(say("consult_pass", language), VOTE, f"{statement_id}.p"),
        Button(say("consult_add", language), ADD, str(consultation_id)),
    )


def _clip(text: str, limit: int = LABEL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: str) -> int | None:
    value = value.strip().lstrip("#")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


class ConsultationResponder:
    name = "consultation"

    def __init__(self, consultations: ConsultationService):
        self.consultations = consultations

    async def respond(self, turn: Turn) -> Reply | None:
        press = turn.press
        if press is not None:
            if press.action == VOTE:
                return await self._vote(turn, press.value)
            if press.action in (JOIN, ADD, CANCEL):
                consultation_id = _number(press.value)
                if consultation_id is None:
                    return None  # a malformed button: ignore the press
                if press.action == JOIN:
                    return await self._join(turn, consultation_id)
                if press.action == ADD:
                    return await self._add(turn, consultation_id)
                return await self._cancel_draft(turn, consultation_id)
            return None
        message = turn.message
        if message is None:
            return None
        if message.command is not None:
            # any command means the citizen moved on: their next message is not a statement
            await self.consultations.clear_draft(turn.citizen_id)
            return await self._command(turn, message.args) if message.command == COMMAND else None
        if not message.is_private or message.listen_only:
            return None
        outcome = await self.consultations.take_draft(turn.citizen_id, turn.message_id,
                                                      message.text)
        if outcome is None:
            return None
        if outcome.refused is not None:
            return self._refusal(turn, outcome.refused, outcome.consultation_id)
        return await self._next(turn, outcome.consultation_id,
                                say("consult_submitted", turn.language))

    async def _command(self, turn: Turn, args: str) -> Reply:
        language = turn.language
        if args.strip():
            number = _number(args)
            if number is None:
                return self._reply(say("consult_unknown", language, number=args.strip()[:20]))
            return await self._join(turn, number)
        found = await self.consultations.open_for(turn.citizen_id)
        if not found:
            return self._reply(say("consult_none", language))
        buttons = tuple(Button(_clip(f"{cid}. {question}"), JOIN, str(cid))
                        for cid, question in found[:10])
        return self._reply(say("consult_pick", language), buttons)

    async def _join(self, turn: Turn, consultation_id: int) -> Reply:
        consultation = await self.consultations.get(consultation_id)
        if consultation is None or not await self.consultations.is_open(consultation_id):
            key = "consult_unknown" if consultation is None else "consult_closed"
            return self._reply(say(key, turn.language, number=consultation_id))
        intro = say("consult_intro", turn.language, question=consultation.question)
        return await self._next(turn, consultation_id, intro)

    async def _vote(self, turn: Turn, value: str) -> Reply | None:
        statement, _, code = value.partition(".")
        statement_id = _number(statement)
        if statement_id is None or code not in VOTES:
            return None
        try:
            consultation_id = await self.consultations.record_vote(
                statement_id, turn.citizen_id, VOTES[code])
        except StatementRefused as refused:
            return self._reply(say(refused.key, turn.language))
        if consultation_id is None:
            return None  # not a statement anyone is shown: a forged or stale button
        return await self._next(turn, consultation_id, "")

    async def _add(self, turn: Turn, consultation_id: int) -> Reply:
        if not await self.consultations.is_open(consultation_id):
            return self._reply(say("consult_closed", turn.language))
        await self.consultations.start_draft(turn.citizen_id, consultation_id)
        return self._reply(say("consult_write", turn.language, limit=STATEMENT_LIMIT),
                           (self._cancel(turn, consultation_id),))

    async def _cancel_draft(self, turn: Turn, consultation_id: int) -> Reply:
        await self.consultations.clear_draft(turn.citizen_id)
        cancelled = say("consult_cancelled", turn.language)
        if not await self.consultations.is_open(consultation_id):
            return self._reply(cancelled)
        return await self._next(turn, consultation_id, cancelled)

    async def _next(self, turn: Turn, consultation_id: int, header: str) -> Reply:
        """`header`, then the next statement to vote on with its buttons (or the invitation to
        add one when the citizen has voted on them all)."""
        language = turn.language
        found = await self.consultations.next_statement_for(turn.citizen_id, consultation_id)
        if found is None:
            text = say("consult_done", language, number=consultation_id)
            buttons: tuple[Button, ...] = (
                Button(say("consult_add", language), ADD, str(consultation_id)),)
        else:
            text = say("consult_statement", language, statement=found.text, left=found.left)
            buttons = vote_buttons(found.statement_id, consultation_id, language)
        return self._reply(f"{header}\n\n{text}" if header else text, buttons)

    def _refusal(self, turn: Turn, refused: StatementRefused, consultation_id: int) -> Reply:
        text = say(refused.key, turn.language, **refused.values)
        if refused.key in RETRY:  # the citizen may write it again
            return self._reply(text, (self._cancel(turn, consultation_id),))
        return self._reply(text)

    def _cancel(self, turn: Turn, consultation_id: int) -> Button:
        return Button(say("consult_cancel", turn.language), CANCEL, str(consultation_id))

    def _reply(self, text: str, buttons: tuple[Button, ...] = ()) -> Reply:
        return Reply(text, self.name, buttons, private=True)
