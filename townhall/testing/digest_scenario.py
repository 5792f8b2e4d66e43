"""Two known weeks of rows for the digest's tests: every figure the tests assert follows from
what is written here.

Week 2026-W48 in Europe/Paris runs from Monday 23 November 00:00 CET (22 November 23:00 UTC) to
Monday 30 November 00:00 CET; the week before is 2026-W47. Messages near midnight check that days
and weeks are cut at local midnights, not UTC ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from townhall.testing.digest_data import DigestRows

PARIS = ZoneInfo("Europe/Paris")
NAMES = {"roads_potholes": "Roads and potholes", "waste_recycling": "Waste and recycling",
         "noise": "Noise", "praise": "Praise", "transit": "Transit"}
POTHOLE = "There is a pothole on Elm Street that wrecked my tyre, call me at +33 6 12 34 56 78 " \
          "or jo.resident@example.org"
ELM = "Elm Street pothole is still there, the city should act now please"


def at(day: int, hour: int, minute: int = 0, week: int = 48) -> datetime:
    """Local time on `day` (0 = Monday) of ISO week `week` of 2026, in Paris."""
    monday = datetime.fromisocalendar(2026, week, 1)
    return (monday + timedelta(days=day, hours=hour, minutes=minute)).replace(tzinfo=PARIS)


def fill_two_weeks(rows: DigestRows) -> None:
    """The two weeks every test here reads (see the module docstring for the boundaries)."""
    m = rows.message
    # this week: 11 messages, 2 of them public posts, 8 people
    m(at(0, 0, 30), "Potholes all along the ring road after the frost", category="roads_potholes",
      sentiment="negative")  # 23:30 UTC on Sunday: Monday in Paris
    m(at(0, 10), POTHOLE, category="roads_potholes", sentiment="negative", score=0.9)
    m(at(1, 9), ELM, channel="x", public=True, category="roads_potholes", sentiment="neutral",
      score=0.7)
    m(at(1, 12), ELM, channel="x", public=True, category="roads_potholes",
      sentiment="negative", score=0.95)  # the same text again: quoted once
    resident = rows.citizen()
    faq = [m(at(2, 8 + i), f"When is the garbage collected on Birch Court, week {i}?",
             citizen=resident, category="waste_recycling", sentiment=mood, responder="faq")
           for i, mood in enumerate(("negative", "neutral", "positive"))]
    m(at(3, 14), "Is recycling collected on public holidays this year?", citizen=resident,
      category="waste_recycling", sentiment="neutral", responder="faq")
    m(at(3, 15), "[button] faq_help:y", kind="button")  # a button press is not a message
    m(at(4, 18), "The bar on King St is so loud, those idiots should be locked up",
      category="noise", sentiment="negative", abusive=True)
    m(at(5, 11), "/status")  # a command: not classified
    m(at(6, 23, 59), "Thank you for fixing the street lights so quickly!", channel="x",
      category="praise", sentiment="positive")
    m(at(0, 0, 30, week=49), "Next week already", category="noise", sentiment="negative")
    rows.feedback(faq[0], True)
    rows.feedback(faq[1], False)
    rows.feedback(faq[2], True)
    # the week before: 8 messages
    m(at(0, 10, week=47), "Pothole on Oak Avenue again and again", category="roads_potholes",
      sentiment="negative")
    m(at(2, 10, week=47), "Road works on Oak Avenue, how long?", category="roads_potholes",
      sentiment="neutral")
    for hour in range(9, 13):
        m(at(3, hour, week=47), "Bins not collected on Maple Street", category="waste_recycling",
          sentiment="neutral")
    m(at(4, 10, week=47), "Bus 12 never came this morning", category="transit",
      sentiment="negative")
    m(at(6, 23, 30, week=47), "Late night pothole report from Cedar Lane",
      category="roads_potholes", sentiment="negative")
    # cases: A, B, C, F opened this week; D and E the week before
    rows.case(at(0, 9), first_response_at=at(0, 11), resolved_at=at(1, 9))  # A: 2 h, 24 h
    rows.case(at(1, 10), first_response_at=at(1, 16))  # B: 6 h, still open
    rows.case(at(2, 10))  # C: never answered
    rows.case(at(4, 10, week=47), first_response_at=at(0, 10),
              resolved_at=at(2, 10))  # D: 72 h, 120 h
    rows.case(at(3, 10, week=47), resolved_at=at(3, 12, week=47))  # E: all the week before
    rows.case(at(6, 20), first_response_at=at(0, 9, week=49))  # F: answered next week
    # alerts
    rows.alert(at(1, 9), "Flooding on River Road", messages=40, category="water_sewer",
               examples=[{"text": "Water everywhere, call 06 12 34 56 78"}, "second example"])
    rows.alert(at(2, 9), "Free tickets spam", status="dismissed", messages=90)
    rows.alert(at(4, 9, week=47), "Bus 12 not running", status="tracking", messages=25,
               updated_at=at(0, 12))
    rows.alert(at(1, 9, week=47), "Old issue", status="closed", updated_at=at(2, 9, week=47))
    rows.alert(at(0, 9, week=49), "Next week's issue")
