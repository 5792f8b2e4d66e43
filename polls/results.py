"""A poll's results: counts and percentages per option and per channel, and distinct voters.

Telegram votes come from the votes table, where each citizen has at most one row per poll. X
only gives a poll post's totals (read back on a schedule into `PollDelivery.totals`); X allows
one vote per account, so they add to the counts and to the voters as they are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from listening.digest import PollOption as ReportOption
from listening.digest import PollResult as ReportPoll
from polls.models import Poll, PollDelivery, PollVote


class PollError(ValueError):
    """A poll that cannot be created or changed; the message is for the staff member."""


@dataclass
class PollResults:
    poll_id: int
    question: str
    options: list[str]
    status: str
    counts: list[int]
    by_channel: dict[str, list[int]] = field(default_factory=dict)
    voters: int = 0

    @property
    def percentages(self) -> list[float]:
        total = sum(self.counts)
        return [round(100 * n / total, 1) if total else 0.0 for n in self.counts]

    def as_dict(self) -> dict[str, Any]:
        return {
            "poll_id": self.poll_id, "question": self.question, "status": self.status,
            "voters": self.voters,
            "options": [
                {"option": option, "votes": n, "percent": pct,
                 "by_channel": {ch: counts[i] for ch, counts in self.by_channel.items()}}
                for i, (option, n, pct) in enumerate(
                    zip(self.options, self.counts, self.percentages, strict=True)
                )
            ],
        }


def poll_results(session: Session, poll_id: int) -> PollResults:
    poll = session.get(Poll, poll_id)
    if poll is None:
        raise PollError(f"There is no poll {poll_id}.")
    counts = [0] * len(poll.options)
    by_channel: dict[str, list[int]] = defaultdict(lambda: [0] * len(poll.options))
    votes = session.exec(select(PollVote).where(PollVote.poll_id == poll_id)).all()
    for vote in votes:
        for option in vote.option_ids:
            if 0 <= option < len(counts):
                counts[option] += 1
                by_channel[vote.channel][option] += 1
    voters = len(votes)
    # platforms that only give totals (X): anonymous, but one vote per account, so each vote
    # is one more voter
    totals = session.exec(
        select(PollDelivery.channel, PollDelivery.totals).where(
            PollDelivery.poll_id == poll_id, col(PollDelivery.totals).is_not(None)
        )
    ).all()
    for channel, total in totals:
        for option, n in enumerate((total or {}).get("votes", [])[: len(counts)]):
            counts[option] += int(n)
            by_channel[channel][option] += int(n)
            voters += int(n)
    return PollResults(poll_id, poll.question, list(poll.options), poll.status, counts,
                       dict(by_channel), voters)


def polls_between(session: Session, start: datetime, end: datetime) -> list[PollResults]:
    """The results of every poll that was open at some time in [start, end), oldest first."""
    polls = session.exec(
        select(Poll.id).where(
            Poll.created_at < end,
            col(Poll.closed_at).is_(None) | (col(Poll.closed_at) >= start),
        ).order_by(col(Poll.id))
    ).all()
    return [poll_results(session, int(poll_id)) for poll_id in polls]


def tally_lines(results: PollResults) -> str:
    """The tally as text bars, for the Slack card."""
    width = 20
    most = max(results.counts) if any(results.counts) else 1
    lines = []
    for option, n, pct in zip(results.options, results.counts, results.percentages, strict=True):
        bar = "█" * round(width * n / most) if n else ""
        lines.append(f"{option}\n`{bar:<{width}}` {n} ({pct:g}%)")
    return "\n".join(lines)


def as_report_poll(results: PollResults) -> ReportPoll:
    """The results in the shape the digest (and its poll chart) uses."""
    return ReportPoll(
        results.question,
        tuple(ReportOption(label, votes)
              for label, votes in zip(results.options, results.counts, strict=True)),
        results.voters,
    )
