from datetime import UTC, datetime, timedelta

import pytest

from polls.results import PollError, PollResults, tally_lines
from polls.service import PollDraft, check_draft
from polls.subscriptions import Topics, slug

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TOPICS = Topics.from_names(["Roads and transport", "Parks"], ["Old Town"])


def draft(**changes) -> PollDraft:
    values = dict(question="Dog run in Riverside Park?", options=["Yes", "No"],
                  audience="topic:parks", closes_at=NOW + timedelta(days=1), created_by="U1")
    values.update(changes)
    return PollDraft(**values)


def test_topics_have_short_ids_and_are_found_by_what_citizens_type():
    assert slug("Waste & Recycling!") == "waste-recycling"
    assert TOPICS.names == {"roads-and-transport": "Roads and transport", "parks": "Parks",
                            "area-old-town": "Old Town"}
    assert TOPICS.find("Parks") == "parks"
    assert TOPICS.find("roads") == "roads-and-transport"
    assert TOPICS.find("old town") == "area-old-town"
    assert TOPICS.find("zoo") is None
    assert TOPICS.find("") is None


def test_a_valid_draft_passes():
    check_draft(draft(), TOPICS, NOW)
    check_draft(draft(audience="group:-100123"), TOPICS, NOW)
    check_draft(draft(audience="x", options=["Yes", "No", "Maybe", "Later"]), TOPICS, NOW)


@pytest.mark.parametrize(("changes", "message"), [
    ({"question": " "}, "question"),
    ({"question": "x" * 301}, "question"),
    ({"options": ["Only one"]}, "2 to 10"),
    ({"options": [str(i) for i in range(11)]}, "2 to 10"),
    ({"options": ["Yes", "x" * 101]}, "at most 100"),
    ({"options": ["Yes", "yes"]}, "the same"),
    ({"closes_at": NOW - timedelta(minutes=1)}, "future"),
    ({"audience": "topic:zoo"}, "Unknown topic"),
    ({"audience": "everyone"}, "audience"),
    ({"audience": "x", "options": ["A", "B", "C", "D", "E"]}, "on X has at most 4"),
    ({"audience": "x", "options": ["Yes", "x" * 26]}, "on X has at most 4"),
    ({"audience": "x", "closes_at": NOW + timedelta(days=8)}, "7 days"),
])
def test_a_bad_draft_says_what_is_wrong(changes, message):
    with pytest.raises(PollError, match=message):
        check_draft(draft(**changes), TOPICS, NOW)


def test_results_give_percentages_and_a_tally_with_bars():
    results = PollResults(1, "Q?", ["Yes", "No", "Maybe"], "open", [3, 1, 0],
                          {"telegram": [3, 1, 0]}, voters=4)
    assert results.percentages == [75.0, 25.0, 0.0]
    assert results.as_dict()["options"][0] == {
        "option": "Yes", "votes": 3, "percent": 75.0, "by_channel": {"telegram": 3}
    }
    lines = tally_lines(results).splitlines()
    assert lines[0] == "Yes" and lines[1].endswith("3 (75%)") and "█" in lines[1]
    assert lines[-1].endswith("0 (0%)")
