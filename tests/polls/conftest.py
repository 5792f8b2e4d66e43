"""Fixtures shared by the poll and consultation tests."""

from collections.abc import Callable

import pytest

from listening.models import Citizen, Conversation
from polls.subscriptions import subscribe


@pytest.fixture
def add_citizens(db) -> Callable[..., list[int]]:
    """`add_citizens(n, topic=..., prefix=...)`: citizens with a private conversation each
    (what `polls.subscriptions.audience` needs), subscribed to `topic` when given."""

    def add(count: int, *, topic: str | None = None, prefix: str = "c") -> list[int]:
        def work(session) -> list[int]:
            ids = []
            for k in range(count):
                citizen = Citizen(channel="telegram", pseudonym=f"{prefix}-{k}")
                session.add(citizen)
                session.flush()
                session.add(Conversation(
                    citizen_id=citizen.id, channel="telegram", chat_key=f"{prefix}-{k}",
                    address={"channel": "telegram", "chat_id": f"{prefix}{k}"}))
                if topic:
                    subscribe(session, int(citizen.id), topic)
                ids.append(int(citizen.id))
            return ids

        return db.transact(work)

    return add
