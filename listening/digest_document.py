"""What the digest says, as format-neutral blocks that `digest_render` turns into HTML or Markdown.

Writing the content once keeps the e-mailed HTML and the Markdown saying the same thing. The
wording is for managers: plain sentences, figures compared with the previous week, and the
definitions that make the figures honest (what a "public post" is, what the response times
measure, and that people writing to a city on social media are not a sample of its residents).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from listening.digest import Digest, EmergingIssue
from listening.digest_charts import (
    Chart,
    Table,
    change_label,
    channel_name,
    count_of,
    day_label,
    number,
    percent,
)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    muted: bool = False


@dataclass(frozen=True)
class Figures:
    items: tuple[tuple[str, str], ...]  # (label, value)


@dataclass(frozen=True)
class ChartBlock:
    chart: Chart


@dataclass(frozen=True)
class TableBlock:
    table: Table


@dataclass(frozen=True)
class Quotes:
    items: tuple[tuple[str, str], ...]  # (text, where it came from)


@dataclass(frozen=True)
class Note:
    text: str


Block = Heading | Paragraph | Figures | ChartBlock | TableBlock | Quotes | Note

REPRESENTATIVENESS = (
    "These figures describe the people who wrote to the city or posted publicly where we "
    "listen. Social media users are not a representative sample of residents: some groups "
    "post far more than others and many residents never do, so read volumes and sentiment as "
    "signals to look into, not as measures of public opinion."
)


def _short(value: float) -> str:
    """One decimal, without a trailing .0: 4, 2.6."""
    return f"{value:.1f}".removesuffix(".0")


def hours_label(hours: float | None) -> str:
    if hours is None:
        return "n/a"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{_short(hours)} h"
    return f"{_short(hours / 24)} days"


def _target(hours: float | None) -> str:
    return "none set" if hours is None else hours_label(hours)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _change(now: int, before: int, noun: str = "messages") -> str:
    if before == 0:
        return f"no {noun} the previous week" if now else "none the previous week either"
    return f"{change_label((now - before) * 100.0 / before)} vs {number(before)} the week before"


def _period(digest: Digest) -> str:
    week = digest.week
    first, last = week.days[0], week.days[-1]
    year, number_, _ = first.isocalendar()
    return (f"Week {number_} of {year}: {first:%A} {first.day} {first:%B} to {last:%A} "
            f"{last.day} {last:%B} {last.year} ({week.timezone})")


def _at_a_glance(digest: Digest) -> Figures:
    cases, response, faq = digest.cases, digest.response, digest.faq
    first = hours_label(response.first_response_median_h)
    if response.first_response_compliance is not None:
        first += (f" ({_share(response.first_response_compliance)} within "
                  f"{hours_label(response.targets.first_response_hours)})")
    helped = "no ratings yet" if faq.helped_rate is None else (
        f"{_share(faq.helped_rate)} of {number(faq.rated)} ratings said it helped")
    return Figures((
        ("Messages",
         f"{number(digest.messages)} ({_change(digest.messages, digest.previous_messages)})"),
        ("Of which", f"{number(digest.citizen_messages)} citizen messages to the city, "
                     f"{number(digest.public_posts)} public posts we listened to"),
        ("People", f"{number(digest.people)} distinct accounts"),
        ("Cases", f"{number(cases.opened)} opened, {number(cases.resolved)} resolved, "
                  f"{number(cases.open_at_end)} still open at the end of the week"),
        ("Median first response", first),
        ("FAQ replies", f"{number(faq.replies)}; {helped}"),
        ("Satisfaction", _satisfaction_line(digest)),
        ("Emerging issues", number(len(digest.emerging))),
    ))


def _issue_source(channel: str, public: bool, sentiment: str | None) -> str:
    kind = "public post" if public else "citizen message"
    return f"{channel_name(channel)}, {kind}" + (f", {sentiment}" if sentiment else "")


def _top_issues(digest: Digest, charts: dict[str, Chart]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Top issues")]
    if "categories" not in charts:
        return [*blocks, Paragraph("No message was classified into an issue category.")]
    blocks.append(ChartBlock(charts["categories"]))
    if digest.unclassified:
        blocks.append(Paragraph(
            f"{count_of(digest.unclassified, 'message')} had no category (commands such as "
            "/status, or not yet classified).", muted=True))
    for rank, issue in enumerate(digest.top_issues, 1):
        change = ("new this week" if issue.change_pct is None
                  else f"{change_label(issue.change_pct)} vs previous week")
        blocks.append(Heading(3, f"{rank}. {issue.name}: {count_of(issue.count, 'message')} "
                                 f"({change})"))
        quotes = digest.quotes.get(issue.id, ())
        if quotes:
            blocks.append(Quotes(tuple(
                (q.text, _issue_source(q.channel, q.public, q.sentiment)) for q in quotes
            )))
        else:
            blocks.append(Paragraph("No message suitable for quoting (too short, too long "
                                    "or offensive).", muted=True))
    return blocks


def _emerging_issue(issue: EmergingIssue) -> list[Block]:
    channels = ", ".join(f"{channel_name(c)} {number(n)}" for c, n in issue.channels.items())
    items = [
        ("Category", issue.category or "n/a"),
        ("Status", issue.status),
        ("Messages", f"{count_of(issue.messages, 'message')} from "
                     f"{count_of(issue.citizens, 'account')}"),
        ("Growth", f"{issue.growth:.1f} times the expected volume when raised"),
        ("First alert", f"{day_label(issue.first_alert.date())} {issue.first_alert:%H:%M}"),
    ]
    if channels:
        items.append(("Channels", channels))
    if issue.sentiment:
        items.append(("Sentiment", issue.sentiment))
    blocks: list[Block] = [Heading(3, issue.label or "Unnamed issue"), Figures(tuple(items))]
    if issue.examples:
        blocks.append(Quotes(tuple((text, "example") for text in issue.examples)))
    return blocks


def _emerging(digest: Digest) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Emerging issues")]
    if not digest.emerging:
        return [*blocks, Paragraph("No emerging issue was raised this week.")]
    blocks.append(Paragraph("Sudden rises in messages about one subject, raised to staff during "
                            "the week (issues staff dismissed are left out)."))
    for issue in digest.emerging:
        blocks += _emerging_issue(issue)
    return blocks


def _sentiment(digest: Digest, charts: dict[str, Chart]) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Sentiment")]
    if "sentiment" not in charts:
        return [*blocks, Paragraph("No message had a sentiment this week.")]
    week, before = digest.sentiment_week, digest.previous_sentiment
    text = (f"{percent(week.negative, week.total)} of messages were negative and "
            f"{percent(week.positive, week.total)} positive")
    if before.total:
        text += (f" (previous week: {percent(before.negative, before.total)} negative, "
                 f"{percent(before.positive, before.total)} positive)")
    return [*blocks, Paragraph(text + "."), ChartBlock(charts["sentiment"])]


def _cases(digest: Digest, charts: dict[str, Chart]) -> list[Block]:
    cases, response = digest.cases, digest.response
    targets = response.targets
    blocks: list[Block] = [
        Heading(2, "Cases and response times"),
        Paragraph(f"{count_of(cases.opened, 'case')} opened "
                  f"({_change(cases.opened, cases.opened_previous, 'cases')}), "
                  f"{number(cases.resolved)} resolved, {number(cases.open_at_end)} still open "
                  "at the end of the week."),
    ]
    if "cases" in charts:
        blocks.append(ChartBlock(charts["cases"]))
    blocks.append(TableBlock(Table(
        ("Measure", "Median", "Cases", "Target", "Within target"),
        (
            ("Time to first staff response", hours_label(response.first_response_median_h),
             number(response.responded), _target(targets.first_response_hours),
             _share(response.first_response_compliance)),
            ("Time to resolution", hours_label(response.resolution_median_h),
             number(response.resolved), _target(targets.resolution_hours),
             _share(response.resolution_compliance)),
        ),
    )))
    late = []
    if targets.first_response_hours is not None:
        late.append((f"Open, no reply after {hours_label(targets.first_response_hours)}",
                     number(response.waiting_past_target)))
    if targets.resolution_hours is not None:
        late.append((f"Open after {hours_label(targets.resolution_hours)}",
                     number(response.open_past_target)))
    if late:
        blocks += [Paragraph("Cases past their target at the end of the week:"),
                   Figures(tuple(late))]
    blocks.append(Paragraph(
        "Times are measured from a case's creation to the first staff reply and to its "
        "resolution, for the replies and resolutions that happened this week.", muted=True))
    return blocks


def _faq(digest: Digest) -> list[Block]:
    faq = digest.faq
    helped = "n/a" if faq.helped_rate is None else _share(faq.helped_rate)
    return [
        Heading(2, "FAQ answers"),
        Figures((
            ("Replies from the FAQ", number(faq.replies)),
            ("\u201cDid this help?\u201d answers", number(faq.rated)),
            ("Said it helped", f"{helped} ({number(faq.helpful)} of {number(faq.rated)})"),
        )),
        Paragraph("Replies include the \u201cwhich of these did you mean?\u201d questions; a "
                  "\u201cno\u201d answer opens a case for staff.", muted=True),
    ]


def _satisfaction_line(digest: Digest) -> str:
    rated = digest.satisfaction
    if rated.average is None or rated.satisfied_rate is None:
        return "no ratings yet"
    return (f"{rated.average:.1f} / 5 from {number(rated.ratings)} ratings "
            f"({_share(rated.satisfied_rate)} gave 4 or 5)")


def _satisfaction(digest: Digest) -> list[Block]:
    rated = digest.satisfaction
    if not rated.ratings:
        return []
    spread = ", ".join(f"{score}: {number(count)}" for score, count in
                       zip(range(1, 6), rated.scores, strict=True))
    blocks: list[Block] = [
        Heading(2, "Satisfaction"),
        Figures((("Average rating", _satisfaction_line(digest)), ("Ratings by score", spread))),
    ]
    for comment in rated.comments:
        blocks.append(Paragraph(f"\u201c{comment}\u201d"))
    blocks.append(Paragraph("After a case is resolved, every resident attached to it is asked "
                            "to rate it from 1 to 5 and may add a comment.", muted=True))
    return blocks


def _polls(digest: Digest, charts: dict[str, Chart]) -> list[Block]:
    if not digest.polls:
        return []
    blocks: list[Block] = [Heading(2, "Polls")]
    for index, poll in enumerate(digest.polls, 1):
        blocks.append(Heading(3, f"{poll.question} ({number(poll.voters)} voters)"))
        chart = charts.get(f"poll{index}")
        blocks.append(ChartBlock(chart) if chart else Paragraph("No votes."))
    return blocks


def digest_document(digest: Digest, charts: Sequence[Chart]) -> list[Block]:
    """The whole report, top to bottom."""
    by_name = {chart.name: chart for chart in charts}
    blocks: list[Block] = [
        Heading(1, f"Weekly issue digest: {digest.city}" if digest.city
                else "Weekly issue digest"),
        Paragraph(_period(digest), muted=True),
    ]
    if digest.is_empty:
        blocks.append(Paragraph(
            "Nothing was received this week: no citizen messages, no public posts, no case "
            "opened or resolved and no emerging issue."))
        if digest.cases.open_at_end:
            blocks.append(Paragraph(
                f"Cases still open at the end of the week: {number(digest.cases.open_at_end)}."))
        blocks.append(Note(REPRESENTATIVENESS))
        return blocks
    blocks += [Heading(2, "At a glance"), _at_a_glance(digest)]
    blocks += [Heading(2, "Messages per day")]
    if "volume" in by_name:
        blocks += [
            Paragraph("Citizen messages are what residents wrote to the city; public posts are "
                      "public messages we listened to (group chats and keyword searches), "
                      "counted but never answered."),
            ChartBlock(by_name["volume"]),
        ]
    else:
        blocks.append(Paragraph("No messages this week."))
    blocks += _top_issues(digest, by_name)
    blocks += _emerging(digest)
    blocks += _sentiment(digest, by_name)
    blocks += _cases(digest, by_name)
    blocks += _faq(digest)
    blocks += _satisfaction(digest)
    blocks += _polls(digest, by_name)
    blocks += [Heading(2, "About these figures"), Note(REPRESENTATIVENESS), Paragraph(
        f"Made by Townhall on {digest.generated_at.astimezone(digest.week.zone):%Y-%m-%d %H:%M} "
        f"({digest.week.timezone}). Quotes are chosen automatically; e-mail addresses, phone "
        "numbers and @handles are removed.", muted=True)]
    return blocks
