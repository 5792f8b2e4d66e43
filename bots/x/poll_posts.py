"""Poll posts on X: which polls X takes, and reading a poll's totals back.

X takes 2 to 4 options of 1 to 25 characters each (counted in code points, as the spec's
`maxLength` counts them) and a duration of 5 to 10080 minutes (7 days), under a question that is
the post's text and so counts against the 280 weighted characters of a post. A poll outside those
rules is refused here, before any request: X would refuse it with a 400 anyway, after spending a
call from the 15-minute posting budget, and the outbox must see a permanent error with a message
staff can act on, not a retryable one.

X's answer to creating a post carries only its id and text, never a poll id, and the totals are
read through the post (`GET /2/tweets/:id?expansions=attachments.poll_ids`), so the post id is
the handle on a poll; the poll id is informative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bots.x.text import MAX_POST_WEIGHT, weighted_length
from townhall.domain import SendError

MIN_OPTIONS, MAX_OPTIONS = 2, 4
MAX_OPTION_LENGTH = 25
MIN_DURATION, MAX_DURATION = 5, 7 * 24 * 60
POLL_FIELDS = ["duration_minutes", "end_datetime", "id", "options", "voting_status"]
# keyword arguments of tweepy's `get_tweet` that bring a post's poll with everything in it
POLL_LOOKUP: dict[str, Any] = {"expansions": ["attachments.poll_ids"], "poll_fields": POLL_FIELDS}


@dataclass(frozen=True)
class PollTotals:
    """A poll as X shows it now: labels and votes in X's order (position 1 first).

    `is_open` is X's `voting_status`; `ends_at` is when voting ends (or ended), aware UTC.
    """

    post_id: str
    poll_id: str
    labels: tuple[str, ...]
    votes: tuple[int, ...]
    is_open: bool
    ends_at: datetime | None

    @property
    def total(self) -> int:
        return sum(self.votes)

    def by_label(self) -> dict[str, int]:
        return dict(zip(self.labels, self.votes, strict=True))


def poll_problems(question: str, options: Sequence[str], duration_minutes: int) -> list[str]:
    """Why X would refuse this poll, in words staff understand; empty if X takes it."""
    problems = []
    if not question.strip():
        problems.append("the question is empty")
    elif weighted_length(question) > MAX_POST_WEIGHT:
        problems.append(f"the question is {weighted_length(question)} characters as X counts "
                        f"them; a post holds at most {MAX_POST_WEIGHT}")
    if not MIN_OPTIONS <= len(options) <= MAX_OPTIONS:
        problems.append(f"a poll on X has {MIN_OPTIONS} to {MAX_OPTIONS} options, not "
                        f"{len(options)}")
    for option in options:
        if not isinstance(option, str) or not option.strip():
            problems.append("an option is empty")
        elif len(option) > MAX_OPTION_LENGTH:
            problems.append(f"the option {option!r} is {len(option)} characters (X allows "
                            f"{MAX_OPTION_LENGTH})")
    if (isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int)
            or not MIN_DURATION <= duration_minutes <= MAX_DURATION):
        problems.append(f"a poll on X lasts {MIN_DURATION} minutes to 7 days "
                        f"({MAX_DURATION} minutes), not {duration_minutes!r} minutes")
    return problems


def check_poll(question: str, options: Sequence[str], duration_minutes: int) -> None:
    """Raise a permanent `SendError` naming every reason X would refuse the poll."""
    problems = poll_problems(question, options, duration_minutes)
    if problems:
        raise SendError("x: this poll cannot be posted: " + "; ".join(problems) + ".",
                        permanent=True)


def poll_id_of(response: Any) -> str | None:
    """The poll id in a post lookup made with `POLL_LOOKUP`, if the post has a poll."""
    polls = (getattr(response, "includes", None) or {}).get("polls") or []
    return str(polls[0].id) if polls else None


def totals_from(post_id: str, response: Any) -> PollTotals:
    """`PollTotals` from tweepy's answer to a lookup made with `POLL_LOOKUP`.

    A post X cannot find comes back as a 200 with only `errors`; that, and a post without a
    poll, are permanent: asking again will not make a poll appear.
    """
    if response.data is None:
        details = "; ".join(str(e.get("detail", e)) for e in response.errors or ())
        raise SendError(f"x: post {post_id} not found ({details or 'no data'})", permanent=True)
    polls = (response.includes or {}).get("polls") or []
    if not polls:
        raise SendError(f"x: post {post_id} has no poll", permanent=True)
    poll = polls[0]
    options = sorted(poll.options, key=lambda option: int(option["position"]))
    ends_at = poll.end_datetime
    if ends_at is not None and ends_at.tzinfo is None:
        ends_at = ends_at.replace(tzinfo=UTC)
    status = poll.voting_status
    if status is None:  # not sent: decide by the end time, as X does
        status = "open" if ends_at is None or ends_at > datetime.now(UTC) else "closed"
    return PollTotals(
        post_id=post_id,
        poll_id=str(poll.id),
        labels=tuple(str(option["label"]) for option in options),
        votes=tuple(int(option.get("votes", 0)) for option in options),
        is_open=status == "open",
        ends_at=ends_at,
    )
