"""The fake X's poll posts and post lookup, checked against X's OpenAPI spec.

The fake's poll rules are written by hand; these tests hold them to the spec from both sides: a
table of request bodies is sent to the fake and each is checked with the spec's own
`CreatePostsRequest` schema, and the two must agree, and every answer is validated against the
response schemas (`spec_violations`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tweepy import BadRequest, TwitterServerError

from bots.x import AccessDenied, RateLimited, XApiClient
from tests.testing.conftest import x_fixtures
from townhall.testing.fake_x import FakeX
from townhall.testing.fake_x_polls import EXPANSIONS, POLL_FIELDS, SPEC_EXPANSIONS
from townhall.testing.x_spec import XSpec, load_cassette

POLL_LOOKUP = {"expansions": ["attachments.poll_ids"],
               "poll_fields": ["duration_minutes", "end_datetime", "id", "options",
                               "voting_status"]}  # fmt: skip


@pytest.fixture
async def client(fake: FakeX) -> AsyncIterator[XApiClient]:
    api = XApiClient(api_url=fake.base_url, **fake.credentials)
    yield api
    await api.close()


def _enum(spec: XSpec, parameter: str) -> set[str]:
    return set(spec.spec["components"]["parameters"][parameter]["schema"]["items"]["enum"])


def test_the_fake_accepts_the_spec_s_field_and_expansion_names(spec: XSpec) -> None:
    assert _enum(spec, "PollFieldsParameter") == POLL_FIELDS
    assert _enum(spec, "PostExpansionsParameter") == SPEC_EXPANSIONS <= EXPANSIONS
    poll = spec.schemas["CreatePostsPoll"]
    assert poll["properties"]["options"]["minItems"] == 2
    assert poll["properties"]["options"]["maxItems"] == 4
    assert poll["properties"]["options"]["items"]["maxLength"] == 25
    duration = poll["properties"]["duration_minutes"]
    assert (duration["minimum"], duration["maximum"]) == (5, 10080)


async def test_a_poll_post_and_its_lookup_answer_as_the_spec_says(
    fake: FakeX, client: XApiClient
) -> None:
    created = await client.create_tweet(text="Which day for the farmers' market?",
                                        poll_options=["Saturday", "Sunday", "Either"],
                                        poll_duration_minutes=90)
    post_id = created.data["id"]
    assert set(created.data) == {"edit_history_tweet_ids", "id", "text"}  # no poll id
    fake.vote_in_poll(post_id, 2, count=3)
    fake.vote_in_poll(post_id, 1)
    looked_up = await client.get_tweet(post_id, **POLL_LOOKUP)
    poll = fake.poll_of(post_id)
    assert looked_up.data["attachments"] == {"poll_ids": [poll["id"]]}
    [shown] = looked_up.includes["polls"]
    assert shown.id == poll["id"] != post_id
    assert shown.options == [{"position": 1, "label": "Saturday", "votes": 1},
                             {"position": 2, "label": "Sunday", "votes": 3},
                             {"position": 3, "label": "Either", "votes": 0}]
    assert shown.voting_status == "open" and shown.duration_minutes == 90
    created_at = datetime.fromtimestamp(
        ((int(post_id) >> 22) + 1_288_834_974_657) / 1000, UTC
    )  # fmt: skip
    assert abs(shown.end_datetime - created_at - timedelta(minutes=90)) < timedelta(seconds=1)
    bare = await client.get_tweet(post_id, expansions=["attachments.poll_ids"])
    assert set(bare.includes["polls"][0].data) == {"id", "options"}  # X's default poll fields
    plain = await client.get_tweet(post_id)
    assert set(plain.data.data) == {"edit_history_tweet_ids", "id", "text"} and not plain.includes
    assert fake.spec_violations == []
    assert fake.calls_to("post")[0].params["poll"] == {
        "options": ["Saturday", "Sunday", "Either"], "duration_minutes": 90}


async def test_a_poll_closes_by_the_fake_s_clock(fake: FakeX, client: XApiClient) -> None:
    created = await client.create_tweet(text="Open the pool at 7?", poll_options=["Yes", "No"],
                                        poll_duration_minutes=5)
    post_id = created.data["id"]
    fake.vote_in_poll(post_id, 1, count=2)
    fake.advance(timedelta(minutes=4, seconds=50))
    assert (await client.get_tweet(post_id, **POLL_LOOKUP)).includes["polls"][0].voting_status == (
        "open")
    fake.advance(timedelta(seconds=11))
    closed = (await client.get_tweet(post_id, **POLL_LOOKUP)).includes["polls"][0]
    assert closed.voting_status == "closed" and closed.options[0]["votes"] == 2
    with pytest.raises(ValueError, match="closed"):
        fake.vote_in_poll(post_id, 2)
    with pytest.raises(ValueError):
        fake.advance(timedelta(seconds=-1))
    assert fake.spec_violations == []


def _poll(**overrides: Any) -> dict[str, Any]:
    return {"options": ["Yes", "No"], "duration_minutes": 60, **overrides}


BODIES = [  # (name, body): the fake and the spec must agree on each
    ("two options", {"text": "q", "poll": _poll()}),
    ("four, 25 characters", {"text": "q", "poll": _poll(options=["a" * 25, "b", "c", "d"])}),
    ("shortest", {"text": "q", "poll": _poll(duration_minutes=5)}),
    ("longest", {"text": "q", "poll": _poll(duration_minutes=10080)}),
    ("reply settings in the poll", {"text": "q", "poll": _poll(reply_settings="following")}),
    ("whole minutes as a float", {"text": "q", "poll": _poll(duration_minutes=60.0)}),
    ("a blank option", {"text": "q", "poll": _poll(options=[" ", "b"])}),
    ("one option", {"text": "q", "poll": _poll(options=["Yes"])}),
    ("five options", {"text": "q", "poll": _poll(options=list("abcde"))}),
    ("26 characters", {"text": "q", "poll": _poll(options=["a" * 26, "b"])}),
    ("empty option", {"text": "q", "poll": _poll(options=["", "b"])}),
    ("number option", {"text": "q", "poll": _poll(options=[1, "b"])}),
    ("4 minutes", {"text": "q", "poll": _poll(duration_minutes=4)}),
    ("10081 minutes", {"text": "q", "poll": _poll(duration_minutes=10081)}),
    ("minutes as text", {"text": "q", "poll": _poll(duration_minutes="60")}),
    ("fractional minutes", {"text": "q", "poll": _poll(duration_minutes=60.5)}),
    ("no duration", {"text": "q", "poll": {"options": ["Yes", "No"]}}),
    ("no options", {"text": "q", "poll": {"duration_minutes": 60}}),
    ("unknown poll key", {"text": "q", "poll": _poll(duration=60)}),
    ("bad reply settings", {"text": "q", "poll": _poll(reply_settings="everyone")}),
    ("poll is null", {"text": "q", "poll": None}),
    ("unknown post key", {"text": "q", "polls": _poll()}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body"), BODIES, ids=[name for name, _ in BODIES])
async def test_poll_requests_are_refused_exactly_when_the_spec_refuses_them(
    fake: FakeX, client: XApiClient, spec: XSpec, name: str, body: dict[str, Any]
) -> None:
    spec_says_valid = spec.errors("CreatePostsRequest", body) == []
    try:
        await client.request("POST", "/2/tweets", json=body, user_auth=True)
    except BadRequest as exc:
        accepted, message = False, str(exc)
    else:
        accepted, message = True, ""
    assert accepted == spec_says_valid, (name, message)
    if not accepted:
        assert "poll" in message or "property" in message
        assert fake.posts == []  # nothing was posted
    assert fake.spec_violations == []  # error bodies are spec problems too


async def test_a_poll_needs_user_context(fake: FakeX, client: XApiClient) -> None:
    with pytest.raises(AccessDenied, match="Application-Only is forbidden"):
        await client.create_tweet(text="q", poll_options=["a", "b"], poll_duration_minutes=60,
                                  user_auth=False)
    assert fake.posts == [] and fake.spec_violations == []


async def test_the_lookup_checks_its_parameters(fake: FakeX, client: XApiClient) -> None:
    post = fake.post("no poll here", by="eve")
    with pytest.raises(BadRequest, match=r"poll\.fields"):
        await client.get_tweet(post["id"], poll_fields=["votes"])
    with pytest.raises(BadRequest, match="expansions"):
        await client.get_tweet(post["id"], expansions=["attachments.polls"])
    with pytest.raises(BadRequest, match="does not match"):
        await client.get_tweet("not-an-id")
    plain = await client.get_tweet(post["id"], **POLL_LOOKUP)
    assert "attachments" not in plain.data.data and not plain.includes
    missing = await client.get_tweet("1234567890123", **POLL_LOOKUP)  # 200, only `errors`
    assert missing.data is None
    assert missing.errors[0]["type"].endswith("resource-not-found")
    assert missing.errors[0]["resource_type"] == "tweet"
    for user_auth in (False, True):  # app-only bearer or the account's keys
        await client.get_tweet(post["id"], user_auth=user_auth)
    assert fake.spec_violations == [] and fake.auth_failures == []


async def test_faults_limits_and_tiers_reach_the_new_endpoints(
    fake: FakeX, client: XApiClient, spec: XSpec
) -> None:
    created = await client.create_tweet(text="q", poll_options=["a", "b"],
                                        poll_duration_minutes=60)
    post_id = created.data["id"]
    fake.fail_next("lookup", 500)
    with pytest.raises(TwitterServerError):
        await client.get_tweet(post_id, **POLL_LOOKUP)
    fake.fail_next("lookup", 429, reset_in=1.0)
    with pytest.raises(RateLimited):
        await client.get_tweet(post_id, **POLL_LOOKUP)
    fake.fail_next("post", 429, reset_in=1.0)
    with pytest.raises(RateLimited):
        await client.create_tweet(text="q2", poll_options=["a", "b"], poll_duration_minutes=60)
    assert len(fake.posts) == 1  # a refused call has no side effect
    assert fake.spec_violations == []
    async with FakeX(spec=spec, tier="free") as free:
        free_client = XApiClient(api_url=free.base_url, **free.credentials)
        made = await free_client.create_tweet(text="q", poll_options=["a", "b"],
                                              poll_duration_minutes=60)
        with pytest.raises(AccessDenied):
            await free_client.get_tweet(made.data["id"], **POLL_LOOKUP)
        await free_client.close()
        assert free.spec_violations == []


async def test_polls_come_with_timelines_too(fake: FakeX, client: XApiClient) -> None:
    created = await client.create_tweet(text="Rename the park? #parks", poll_options=["a", "b"],
                                        poll_duration_minutes=60)
    found = await client.search_recent_tweets("#parks", **POLL_LOOKUP)
    assert found.data[0].data["attachments"]["poll_ids"] == [fake.poll_of(created.data["id"])["id"]]
    assert found.includes["polls"][0].voting_status == "open"
    assert fake.spec_violations == []


def test_the_validator_catches_a_wrong_poll(spec: XSpec) -> None:
    good = {"data": {"id": "1", "text": "q", "edit_history_tweet_ids": ["1"],
                     "attachments": {"poll_ids": ["2"]}},
            "includes": {"polls": [{"id": "2", "options": [
                {"position": 1, "label": "a", "votes": 0}]}]}}  # fmt: skip
    assert spec.response_errors("GetPostsByIdResponse", 200, good) == []
    votes_as_text = json.loads(json.dumps(good).replace('"votes": 0', '"votes": "0"'))
    assert spec.response_errors("GetPostsByIdResponse", 200, votes_as_text)
    no_label = json.loads(json.dumps(good).replace('"label": "a", ', ""))
    assert spec.response_errors("GetPostsByIdResponse", 200, no_label)
    invented = json.loads(json.dumps(good).replace('"id": "2"', '"id": "2", "total": 0'))
    assert spec.response_errors("GetPostsByIdResponse", 200, invented) == [
        "includes.polls.total: not a Poll field"]


async def test_a_recorded_lookup_parses_through_the_fake(
    fake: FakeX, client: XApiClient, spec: XSpec
) -> None:
    [interaction] = load_cassette(x_fixtures() / "tweepy-cassettes" / "test_client_get_tweet.yaml")
    body = json.loads(interaction.body)
    assert spec.response_errors("GetPostsByIdResponse", 200, body) == []
    fake.replay("lookup", interaction.body)
    response = await client.get_tweet(body["data"]["id"])
    assert response.data.id == int(body["data"]["id"])
    assert response.data.text == body["data"]["text"]
    assert interaction.headers["x-rate-limit-limit"] == ["300"]  # X's budget when recorded
