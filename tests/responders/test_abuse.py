"""An abusive message is never answered from the FAQ; the city's policy decides the rest."""

import numpy as np

from responders.abuse import AbuseResponder
from responders.chain import Reply, ResponderChain, Turn
from responders.faq import FaqEntry, FaqMatcher, FaqResponder
from townhall.domain import Address, Classification, InboundMessage, Sender, utcnow


class _Escalate:
    name = "escalation"

    async def respond(self, turn: Turn) -> Reply:
        return Reply("case opened", self.name)


def _turn(text: str, abuse: str, score: float = 0.95) -> Turn:
    message = InboundMessage(
        channel="telegram", external_id="1:1", address=Address("telegram", "1"),
        sender=Sender("1"), text=text, sent_at=utcnow(),
    )
    classification = Classification(
        embedding=[1.0, 0.0], labels={"abuse": abuse}, scores={"abuse": score}
    )
    return Turn(message, 1, 1, 1, "en", classification)


def _faq() -> FaqResponder:
    entry = FaqEntry("trash-day", ("when is trash day",), "Mondays.")
    matcher = FaqMatcher([entry], lambda texts: np.array([[1.0, 0.0]] * len(texts)))
    return FaqResponder(matcher, threshold=0.5, margin=0.0)


async def test_policies() -> None:
    abusive = _turn("when is trash day, idiots", "offensive")
    unsure = _turn("when is trash day, clowns", "offensive", score=0.6)
    polite = _turn("when is trash day", "not_offensive")
    acknowledge = AbuseResponder("acknowledge", "Please keep it civil.", _Escalate())
    assert (await acknowledge.respond(abusive)).text == "Please keep it civil."
    assert await acknowledge.respond(polite) is None
    assert await acknowledge.respond(unsure) is None  # below the threshold: the FAQ may answer
    escalate = AbuseResponder("escalate", "unused", _Escalate())
    assert (await escalate.respond(abusive)).text == "case opened"


async def test_the_chain_never_lets_the_faq_answer_abuse() -> None:
    chain = ResponderChain([AbuseResponder("escalate", "", _Escalate()), _faq()])
    reply = await chain.respond(_turn("when is trash day", "not_offensive"))
    assert reply.text.startswith("Mondays.") and reply.responder == "faq"
    reply = await chain.respond(_turn("when is trash day, idiots", "offensive"))
    assert reply.responder == "escalation"
