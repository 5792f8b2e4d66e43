"""Listening queries (settings + Slack) and polling checkpoints, on both databases."""

import pytest

from listening.checkpoints import Checkpoints
from listening.queries import ListeningQueries, QueryEntry
from townhall.db import Database


async def test_staff_manage_their_queries_next_to_the_configured_ones(db: Database) -> None:
    queries = ListeningQueries(db, ["#Springfield", "pothole  OR streetlight"])
    assert await queries.add("  Elm   Street  flooding ", added_by="U0STAFF001")
    assert not await queries.add("Elm Street flooding")  # already there
    assert not await queries.add("pothole OR streetlight")  # configured
    assert await queries.list() == [
        QueryEntry("#Springfield", "config"),
        QueryEntry("pothole OR streetlight", "config"),
        QueryEntry("Elm Street flooding", "added", "U0STAFF001"),
    ]
    with pytest.raises(ValueError, match="settings"):
        await queries.remove("#Springfield")
    with pytest.raises(ValueError, match="512"):
        await queries.add("x" * 513)
    with pytest.raises(ValueError, match="empty"):
        await queries.add("   ")
    assert await queries.remove("Elm Street flooding")
    assert not await queries.remove("Elm Street flooding")
    assert await queries.active() == ["#Springfield", "pothole OR streetlight"]


async def test_checkpoints_only_move_forward(db: Database) -> None:
    checkpoints = Checkpoints(db)
    assert await checkpoints.get("x:mentions:1") is None
    await checkpoints.advance("x:mentions:1", "1800000000000000100")
    await checkpoints.advance("x:mentions:1", "999999999999999999")  # shorter = older
    await checkpoints.advance("x:mentions:1", "1800000000000000099")
    assert await checkpoints.get("x:mentions:1") == "1800000000000000100"
    await checkpoints.advance("x:mentions:1", "1800000000000000101")
    assert await checkpoints.get("x:mentions:1") == "1800000000000000101"
