"""The weekly digest's figures over known rows in two weeks, on both databases.

The rows are `townhall.testing.digest_scenario.fill_two_weeks`: read it next to these figures.
"""

from datetime import UTC, datetime, timedelta

import pytest

from listening.digest import Digest, Targets, gather_digest, last_complete_week, week_bounds
from townhall.db import Database
from townhall.testing.digest_data import DigestRows
from townhall.testing.digest_scenario import ELM, NAMES, at, fill_two_weeks


@pytest.fixture
def digest(db: Database) -> Digest:
    fill_two_weeks(DigestRows(db))
    week = week_bounds("2026-W48", "Europe/Paris")
    now = datetime(2026, 11, 30, 7, tzinfo=UTC)
    return db.transact(lambda s: gather_digest(
        s, week, category_names=NAMES, targets=Targets(4, 48), city="Springfield", now=now))


def test_weeks_are_iso_weeks_cut_at_local_midnights() -> None:
    week = week_bounds("2026-W48", "Europe/Paris")
    assert week.start == datetime(2026, 11, 22, 23, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 29, 23, tzinfo=UTC)
    assert [d.isoformat() for d in (week.days[0], week.days[-1])] == ["2026-11-23", "2026-11-29"]
    assert week.previous().label == "2026-W47"
    spring = week_bounds("2026-W13", "Europe/Paris")  # clocks go forward on Sunday 29 March
    assert spring.bounds[7] - spring.bounds[6] == timedelta(hours=23)
    assert week_bounds("2027-W01", "UTC").previous().label == "2026-W53"
    paris_monday_morning = datetime(2026, 11, 30, 7, tzinfo=UTC)
    assert last_complete_week(paris_monday_morning, "Europe/Paris").label == "2026-W48"
    assert last_complete_week(datetime(2026, 11, 29, 23, 30, tzinfo=UTC),
                              "Europe/Paris").label == "2026-W48"
    assert last_complete_week(datetime(2026, 11, 29, 22, 30, tzinfo=UTC),
                              "Europe/Paris").label == "2026-W47"
    for bad, reason in (("2026-48", "YYYY-Www"), ("2026-W54", "no week 54")):
        with pytest.raises(ValueError, match=reason):
            week_bounds(bad)
    with pytest.raises(ValueError, match="time zone"):
        week_bounds("2026-W48", "Mars/Olympus")


def test_messages_per_day_by_channel(digest: Digest) -> None:
    assert digest.channels == ("telegram", "x")
    assert [d.by_channel for d in digest.days] == [
        {"telegram": 2, "x": 0}, {"telegram": 0, "x": 2}, {"telegram": 3, "x": 0},
        {"telegram": 1, "x": 0}, {"telegram": 1, "x": 0}, {"telegram": 1, "x": 0},
        {"telegram": 0, "x": 1},
    ]
    assert [d.public_posts for d in digest.days] == [0, 2, 0, 0, 0, 0, 0]
    assert (digest.messages, digest.citizen_messages, digest.public_posts) == (11, 9, 2)
    assert digest.previous_messages == 8
    assert digest.people == 8
    assert digest.unclassified == 1


def test_categories_with_change_vs_previous_week(digest: Digest) -> None:
    figures = [(c.id, c.name, c.count, c.previous, c.change_pct) for c in digest.categories]
    assert figures == [
        ("waste_recycling", "Waste and recycling", 4, 4, 0.0),
        ("roads_potholes", "Roads and potholes", 4, 3, pytest.approx(100 / 3)),
        ("noise", "Noise", 1, 0, None),
        ("praise", "Praise", 1, 0, None),
        ("transit", "Transit", 0, 1, -100.0),
    ]
    assert [c.id for c in digest.top_issues] == [
        "waste_recycling", "roads_potholes", "noise", "praise"]


def test_sentiment_per_day_and_previous_week(digest: Digest) -> None:
    assert [(d.negative, d.neutral, d.positive) for d in digest.sentiment_days] == [
        (2, 0, 0), (1, 1, 0), (1, 1, 1), (0, 1, 0), (1, 0, 0), (0, 0, 0), (0, 0, 1)]
    week = digest.sentiment_week
    assert (week.negative, week.neutral, week.positive) == (5, 3, 2)
    before = digest.previous_sentiment
    assert (before.negative, before.neutral, before.positive) == (3, 5, 0)


def test_cases_and_response_times(digest: Digest) -> None:
    cases = digest.cases
    assert (cases.opened, cases.resolved, cases.open_at_end) == (4, 2, 3)
    assert (cases.opened_previous, cases.resolved_previous) == (2, 1)
    assert cases.opened_per_day == (1, 1, 1, 0, 0, 0, 1)
    assert cases.resolved_per_day == (0, 1, 1, 0, 0, 0, 0)
    response = digest.response
    assert response.responded == 3  # A, B and D (answered this week, whenever opened)
    assert response.first_response_median_h == pytest.approx(6.0)
    assert response.resolved == 2
    assert response.resolution_median_h == pytest.approx((24 + 120) / 2)
    assert response.first_response_on_time == 1  # A within 4 h
    assert response.first_response_compliance == pytest.approx(1 / 3)
    assert response.resolution_compliance == pytest.approx(1 / 2)  # A within 48 h
    assert response.waiting_past_target == 1  # C; F was exactly 4 h old at the week's end
    assert response.open_past_target == 2  # B and C are older than 48 h


def test_no_compliance_without_targets(db: Database) -> None:
    rows = DigestRows(db)
    rows.case(at(0, 9), first_response_at=at(0, 11), resolved_at=at(1, 9))
    week = week_bounds("2026-W48", "Europe/Paris")
    digest = db.transact(lambda s: gather_digest(s, week, category_names={}))
    assert digest.response.first_response_median_h == pytest.approx(2.0)
    assert digest.response.first_response_compliance is None
    assert digest.response.resolution_compliance is None
    assert digest.response.waiting_past_target == 0


def test_faq_replies_and_helped_rate(digest: Digest) -> None:
    assert (digest.faq.replies, digest.faq.rated, digest.faq.helpful) == (4, 3, 2)
    assert digest.faq.helped_rate == pytest.approx(2 / 3)


def test_satisfaction_ratings_of_the_week(db: Database) -> None:
    rows = DigestRows(db)
    for score, day, comment in ((5, 0, "Fast, thanks"), (4, 1, None), (2, 2, "Call me: 555 0100"),
                                (1, 9, None)):  # the last one is rated the week after
        case = rows.case(at(0, 9), first_response_at=at(0, 11), resolved_at=at(0, 12))
        rows.rating(case, score, at(day, 15), comment)
    week = week_bounds("2026-W48", "Europe/Paris")
    digest = db.transact(lambda s: gather_digest(s, week, category_names={}))
    rated = digest.satisfaction
    assert (rated.ratings, rated.scores) == (3, (0, 1, 0, 1, 1))
    assert rated.average == pytest.approx(11 / 3)
    assert rated.satisfied_rate == pytest.approx(2 / 3)
    assert rated.comments[0] == "Call me: [phone]" and "Fast, thanks" in rated.comments


def test_emerging_issues_of_the_week_without_dismissed_ones(digest: Digest) -> None:
    assert [(i.label, i.status, i.messages) for i in digest.emerging] == [
        ("Flooding on River Road", "open", 40), ("Bus 12 not running", "tracking", 25)]
    flooding = digest.emerging[0]
    assert flooding.category == "water_sewer"  # not in NAMES: shown by its id
    assert flooding.examples == ("Water everywhere, call [phone]", "second example")
    assert flooding.first_alert == at(1, 9)


def test_quotes_are_distinct_redacted_and_never_offensive(digest: Digest) -> None:
    roads = digest.quotes["roads_potholes"]
    assert [q.text for q in roads] == [
        ELM,  # the public post with the highest score; its copy is left out
        "There is a pothole on Elm Street that wrecked my tyre, call me at [phone] or [email]",
        "Potholes all along the ring road after the frost",
    ]
    assert [(q.channel, q.public) for q in roads] == [
        ("x", True), ("telegram", False), ("telegram", False)]
    assert digest.quotes["noise"] == ()  # its only message is offensive
    assert len(digest.quotes["waste_recycling"]) == 3


def test_an_empty_week(db: Database) -> None:
    week = week_bounds("2026-W40", "UTC")
    digest = db.transact(lambda s: gather_digest(s, week, category_names=NAMES))
    assert digest.is_empty
    assert digest.messages == digest.previous_messages == digest.people == 0
    assert digest.categories == () and digest.quotes == {} and digest.emerging == ()
    assert digest.response.first_response_median_h is None
    assert digest.faq.helped_rate is None
