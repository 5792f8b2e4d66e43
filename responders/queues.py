"""Staff queues: which team's Slack channel a new case goes to, and with which service level.

Routing rules come from settings and are tried in order; the first rule whose every condition
holds names the queue. A case that matches no rule goes to the default triage queue (the
triage channel). The SLA of a case is its category's when the city set one, else its queue's,
else the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from responders.sla import Sla
from townhall.case_settings import CaseSettings, RoutingRule, SlaSettings

TRIAGE = "triage"


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    channel: str
    mention: str = ""  # who is pinged when a case arrives (user group S... or user U...)
    lead: str = ""  # who is pinged when an unclaimed case is escalated
    staff: frozenset[str] = frozenset()  # who may act on its cases; empty = all staff

    def may_act(self, staff_id: str) -> bool:
        return not self.staff or staff_id in self.staff


def mention(who: str) -> str:
    """Slack's mention syntax for a user group (S...) or a user (U.../W...)."""
    if not who:
        return ""
    return f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>"


def _sla(settings: SlaSettings) -> Sla:
    return Sla(settings.first_response_hours, settings.resolution_hours)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


class Queues:
    def __init__(self, settings: CaseSettings, triage_channel: str):
        lead = settings.lead
        self._queues = {
            TRIAGE: Queue(TRIAGE, "Triage", triage_channel, lead=lead),
            **{
                q.id: Queue(q.id, q.name or q.id, q.channel, q.mention, q.lead or lead,
                            frozenset(q.staff))
                for q in settings.queues
            },
        }
        self._rules = list(settings.routing)
        self._default_sla = _sla(settings.sla)
        self._queue_sla = {q.id: _sla(q.sla) for q in settings.queues if q.sla is not None}
        self._category_sla = {c: _sla(s) for c, s in settings.sla_by_category.items()}

    def all(self) -> list[Queue]:
        return list(self._queues.values())

    def get(self, queue_id: str | None) -> Queue:
        """The queue `queue_id`, or triage for a queue removed from the settings since."""
        return self._queues.get(queue_id or TRIAGE, self._queues[TRIAGE])

    def by_channel(self, channel: str) -> Queue | None:
        return next((q for q in self._queues.values() if q.channel == channel), None)

    def route(
        self, *, category: str | None, language: str | None, channel: str, text: str,
        abusive: bool,
    ) -> Queue:
        words = _words(text)
        for rule in self._rules:
            if _matches(rule, category, language, channel, words, abusive):
                return self.get(rule.queue)
        return self._queues[TRIAGE]

    def sla(self, queue_id: str, category: str | None) -> Sla:
        if category and category in self._category_sla:
            return self._category_sla[category]
        return self._queue_sla.get(queue_id, self._default_sla)


def _matches(
    rule: RoutingRule, category: str | None, language: str | None, channel: str,
    words: set[str], abusive: bool,
) -> bool:
    if rule.categories and category not in rule.categories:
        return False
    if rule.languages and (language or "") not in rule.languages:
        return False
    if rule.channels and channel not in rule.channels:
        return False
    if rule.keywords and not any(
        set(re.findall(r"\w+", k.casefold())) <= words for k in rule.keywords
    ):
        return False
    return rule.abusive is None or rule.abusive == abusive
