"""Routing rules and which SLA applies: pure, from settings."""

import pytest
from pydantic import ValidationError

from responders.queues import TRIAGE, Queues, mention
from responders.sla import Sla
from townhall.case_settings import CaseSettings

SETTINGS = CaseSettings.model_validate({
    "sla": {"first_response_hours": 8, "resolution_hours": 40},
    "sla_by_category": {"public_safety": {"first_response_hours": 1}},
    "queues": [
        {"id": "roads", "name": "Roads", "channel": "C0ROADS", "mention": "S0ROADS",
         "staff": ["U1"], "sla": {"first_response_hours": 4, "resolution_hours": 24}},
        {"id": "moderation", "channel": "C0MOD", "lead": "U9"},
        {"id": "es", "channel": "C0ES"},
    ],
    "routing": [
        {"queue": "moderation", "abusive": True},
        {"queue": "roads", "categories": ["roads_potholes"], "channels": ["telegram"]},
        {"queue": "roads", "keywords": ["pot hole", "curb"]},
        {"queue": "es", "languages": ["es"]},
    ],
    "lead": "S0LEADS",
})


def route(text: str = "", *, category: str | None = None, language: str = "en",
          channel: str = "telegram", abusive: bool = False) -> str:
    queues = Queues(SETTINGS, "C0TRIAGE")
    return queues.route(category=category, language=language, channel=channel, text=text,
                        abusive=abusive).id


def test_first_matching_rule_wins_and_unmatched_cases_go_to_triage() -> None:
    assert route("anything", category="roads_potholes", abusive=True) == "moderation"
    assert route("a hole", category="roads_potholes") == "roads"
    assert route("a hole", category="roads_potholes", channel="x") == TRIAGE
    assert route("The curb is broken!") == "roads"
    assert route("a pot hole, again") == "roads"  # every word of the keyword, as words
    assert route("a potholed street") == TRIAGE
    assert route("curbside pickup") == TRIAGE  # whole words only
    assert route("hola", language="es") == "es"
    assert route("hello") == TRIAGE


def test_queues_know_their_channel_staff_and_lead() -> None:
    queues = Queues(SETTINGS, "C0TRIAGE")
    roads, triage = queues.get("roads"), queues.get(None)
    assert (triage.channel, triage.lead) == ("C0TRIAGE", "S0LEADS")
    assert roads.may_act("U1") and not roads.may_act("U2")
    assert queues.get("moderation").may_act("anyone") and queues.get("moderation").lead == "U9"
    assert queues.get("removed-since") == triage
    assert queues.by_channel("C0ES").id == "es"
    assert mention("S0ROADS") == "<!subteam^S0ROADS>" and mention("U1") == "<@U1>"


def test_sla_category_then_queue_then_default() -> None:
    queues = Queues(SETTINGS, "C0TRIAGE")
    assert queues.sla("roads", "public_safety") == Sla(1, None)
    assert queues.sla("roads", "roads_potholes") == Sla(4, 24)
    assert queues.sla(TRIAGE, None) == Sla(8, 40)


def test_a_rule_for_an_unknown_queue_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown queue 'parks'"):
        CaseSettings.model_validate({"routing": [{"queue": "parks"}]})
