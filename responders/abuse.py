"""Abusive messages are never answered by the FAQ: they go to staff flagged, or get a fixed reply.

Which of the two is a policy decision for the city (`[classifiers] abuse_policy`): "escalate"
opens a case whose card carries a warning; "acknowledge" sends `abuse_reply` and opens no case.
A message counts as abusive when the abuse head says so with at least `abuse_threshold`
probability: a false alarm costs a citizen their instant answer, so the bar is set high.
"""

from __future__ import annotations

from typing import Literal

from responders.chain import Reply, Responder, Turn


def is_abusive(turn: Turn, threshold: float) -> bool:
    classification = turn.classification
    return (
        classification.labels.get("abuse") == "offensive"
        and classification.scores.get("abuse", 0.0) >= threshold
    )


class AbuseResponder:
    """Placed before the FAQ; hands abusive messages to `escalation` or acknowledges them."""

    name = "abuse"

    def __init__(
        self,
        policy: Literal["escalate", "acknowledge"],
        reply: str,
        escalation: Responder,
        *,
        threshold: float = 0.8,
    ):
        self.policy = policy
        self.reply = reply
        self.escalation = escalation
        self.threshold = threshold

    async def respond(self, turn: Turn) -> Reply | None:
        if turn.message is None or turn.message.command or not is_abusive(turn, self.threshold):
            return None
        if self.policy == "acknowledge":
            return Reply(self.reply, self.name)
        return await self.escalation.respond(turn)
