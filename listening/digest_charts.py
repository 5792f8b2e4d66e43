"""The digest's charts: PNG images drawn with matplotlib, each with alt text and its data table.

A chart travels with what a reader without the image needs: `alt` says in one or two sentences
what the chart shows (for screen readers and mail clients that block images) and `table` holds
the exact numbers (to be shown beside the image). Building the three here, from the same data,
keeps them from disagreeing.

Drawing uses matplotlib's object API on the Agg canvas, never `pyplot`: pyplot keeps global
figure state that is neither thread-safe nor needed, and the digest job renders off the event
loop on a worker thread. Colours are the Okabe-Ito palette, readable with colour-blindness.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from listening.digest import Digest, PollResult

matplotlib.use("Agg")  # headless: no display on a server, and no GUI toolkit to import

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
SENTIMENT_COLOURS = {"negative": "#D55E00", "neutral": "#999999", "positive": "#009E73"}
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 3.2, 100  # 640 x 320 px: fits a phone and a mail client
MAX_CATEGORY_BARS = 8
FONT = 10  # points; a 640 px chart is shown at about 360 px on a phone
CHANNEL_NAMES = {"telegram": "Telegram", "x": "X", "slack": "Slack"}


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    name: str  # part of the file name: digest-2026-W48-<name>.png
    title: str
    alt: str
    png: bytes
    table: Table


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.replace("_", " ").title())


def day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _tick(day: date) -> str:
    """A day on a chart's axis, on two lines so that seven fit side by side."""
    return f"{day:%a}\n{day.day} {day:%b}"


def number(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def count_of(value: int, noun: str) -> str:
    """`1 message`, `2,345 messages` (the plural is the noun with an s)."""
    return f"{value:,} {noun}" if value == 1 else f"{value:,} {noun}s"


def change_label(change: float | None) -> str:
    if change is None:
        return "new"
    return "0%" if round(change) == 0 else f"{change:+.0f}%"


def _versus(change: float | None) -> str:
    return "new this week" if change is None else f"{change_label(change)} vs previous week"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


def _figure(height: float = HEIGHT_IN) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _tidy(axes: Axes, counts: str = "y") -> None:
    """Light frame and grid; whole numbers with thousands separators on the `counts` axis."""
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.grid(axis=counts, alpha=0.3)
    axes.tick_params(axis=counts, labelsize=FONT)
    axes.set_axisbelow(True)
    if counts:
        axis = axes.yaxis if counts == "y" else axes.xaxis
        axis.set_major_locator(MaxNLocator(integer=True))
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def volume_chart(digest: Digest) -> Chart:
    """Messages per day, stacked by channel."""
    labels = [day_label(d.day) for d in digest.days]
    ticks = [_tick(d.day) for d in digest.days]
    figure = _figure()
    axes = figure.add_subplot()
    bottoms = [0] * len(labels)
    for index, channel in enumerate(digest.channels):
        values = [d.by_channel.get(channel, 0) for d in digest.days]
        axes.bar(ticks, values, bottom=bottoms, label=channel_name(channel),
                 color=PALETTE[index % len(PALETTE)])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_ylabel("messages", fontsize=FONT)
    axes.tick_params(axis="x", labelsize=FONT - 1)
    axes.legend(frameon=False, fontsize=FONT)
    _tidy(axes)
    busiest = max(digest.days, key=lambda d: d.total)
    by_channel = ", ".join(
        f"{channel_name(c)} {number(sum(d.by_channel.get(c, 0) for d in digest.days))}"
        for c in digest.channels
    )
    alt = (
        f"Bar chart of messages per day, stacked by channel, {labels[0]} to {labels[-1]}. "
        f"{number(digest.messages)} in all ({by_channel}); the busiest day was "
        f"{day_label(busiest.day)} with {number(busiest.total)}."
    )
    headers = ("Day", *(channel_name(c) for c in digest.channels), "Total", "Public posts")
    rows = tuple(
        (label, *(number(d.by_channel.get(c, 0)) for c in digest.channels), number(d.total),
         number(d.public_posts))
        for label, d in zip(labels, digest.days, strict=True)
    )
    totals = ("Week", *(number(sum(d.by_channel.get(c, 0) for d in digest.days))
                        for c in digest.channels),
              number(digest.messages), number(digest.public_posts))
    return Chart("volume", "Messages per day by channel", alt, _png(figure),
                 Table(headers, (*rows, totals)))


def categories_chart(digest: Digest) -> Chart:
    """This week's most frequent categories next to the previous week's counts."""
    shown = [c for c in digest.categories if c.count > 0][:MAX_CATEGORY_BARS]
    names = [c.name for c in reversed(shown)]
    figure = _figure(max(HEIGHT_IN, 0.9 + 0.35 * len(shown)))
    axes = figure.add_subplot()
    positions = list(range(len(shown)))
    height = 0.4
    axes.barh([p + height / 2 for p in positions], [c.count for c in reversed(shown)],
              height=height, label="this week", color=PALETTE[0])
    axes.barh([p - height / 2 for p in positions], [c.previous for c in reversed(shown)],
              height=height, label="previous week", color="#BBBBBB")
    axes.set_yticks(positions, names, fontsize=FONT)
    axes.set_xlabel("messages", fontsize=FONT)
    axes.legend(frameon=False, fontsize=FONT, loc="lower right")
    _tidy(axes, counts="x")
    listed = "; ".join(
        f"{c.name} {number(c.count)} ({_versus(c.change_pct)})"
        for c in shown[:3]
    )
    alt = (f"Horizontal bar chart of the {len(shown)} most frequent issue categories this week "
           f"beside the previous week. Top: {listed}.")
    rows = tuple(
        (c.name, number(c.count), number(c.previous), change_label(c.change_pct))
        for c in digest.categories
    )
    return Chart("categories", "Top issue categories", alt, _png(figure),
                 Table(("Category", "This week", "Previous week", "Change"), rows))


def sentiment_chart(digest: Digest) -> Chart:
    """Each day's messages split by sentiment, as shares of that day's classified messages."""
    labels = [day_label(d.day) for d in digest.sentiment_days]
    ticks = [_tick(d.day) for d in digest.sentiment_days]
    figure = _figure()
    axes = figure.add_subplot()
    bottoms = [0.0] * len(labels)
    for sentiment, colour in SENTIMENT_COLOURS.items():
        shares = [100 * getattr(d, sentiment) / d.total if d.total else 0.0
                  for d in digest.sentiment_days]
        axes.bar(ticks, shares, bottom=bottoms, label=sentiment, color=colour)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    axes.set_ylim(0, 100)
    axes.set_ylabel("share of messages", fontsize=FONT)
    axes.tick_params(axis="x", labelsize=FONT - 1)
    axes.legend(frameon=False, fontsize=FONT, ncols=3, loc="upper center",
                bbox_to_anchor=(0.5, 1.15))
    _tidy(axes)
    axes.yaxis.set_major_formatter(StrMethodFormatter("{x:.0f}%"))
    week, before = digest.sentiment_week, digest.previous_sentiment
    alt = (
        f"Stacked bar chart of the share of negative, neutral and positive messages per day, "
        f"{labels[0]} to {labels[-1]}. Negative over the week: "
        f"{percent(week.negative, week.total)} (previous week "
        f"{percent(before.negative, before.total)})."
    )
    rows = tuple(
        (label, number(d.negative), number(d.neutral), number(d.positive),
         percent(d.negative, d.total))
        for label, d in zip(labels, digest.sentiment_days, strict=True)
    )
    totals = ("Week", number(week.negative), number(week.neutral), number(week.positive),
              percent(week.negative, week.total))
    return Chart("sentiment", "Sentiment per day", alt, _png(figure),
                 Table(("Day", "Negative", "Neutral", "Positive", "% negative"),
                       (*rows, totals)))


def cases_chart(digest: Digest) -> Chart:
    """Cases opened and resolved per day."""
    labels = [day_label(d) for d in digest.week.days]
    cases = digest.cases
    figure = _figure()
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    width = 0.4
    axes.bar([p - width / 2 for p in positions], cases.opened_per_day, width=width,
             label="opened", color=PALETTE[1])
    axes.bar([p + width / 2 for p in positions], cases.resolved_per_day, width=width,
             label="resolved", color=PALETTE[2])
    axes.set_xticks(positions, [_tick(d) for d in digest.week.days], fontsize=FONT - 1)
    axes.set_ylabel("cases", fontsize=FONT)
    axes.legend(frameon=False, fontsize=FONT)
    _tidy(axes)
    alt = (
        f"Bar chart of cases opened and resolved per day, {labels[0]} to {labels[-1]}: "
        f"{number(cases.opened)} opened, {number(cases.resolved)} resolved, "
        f"{number(cases.open_at_end)} still open at the end of the week."
    )
    rows = tuple(
        (label, number(o), number(r))
        for label, o, r in zip(labels, cases.opened_per_day, cases.resolved_per_day, strict=True)
    )
    return Chart("cases", "Cases opened and resolved", alt, _png(figure),
                 Table(("Day", "Opened", "Resolved"),
                       (*rows, ("Week", number(cases.opened), number(cases.resolved)))))


def poll_chart(poll: PollResult, index: int) -> Chart:
    """One poll's votes per option."""
    options = list(poll.options)
    total = sum(o.votes for o in options)
    figure = _figure(max(2.0, 0.8 + 0.35 * len(options)))
    axes = figure.add_subplot()
    positions = list(range(len(options)))
    axes.barh(positions, [o.votes for o in reversed(options)], color=PALETTE[4])
    axes.set_yticks(positions, [o.label for o in reversed(options)], fontsize=FONT)
    axes.set_xlabel("votes", fontsize=FONT)
    _tidy(axes, counts="x")
    leader = max(options, key=lambda o: o.votes) if options else None
    alt = f"Horizontal bar chart of the votes in the poll \u201c{poll.question}\u201d"
    alt += f" ({number(poll.voters)} voters)"
    if leader is not None:
        alt += f"; most chosen: {leader.label} with {percent(leader.votes, total)} of votes."
    rows = tuple((o.label, number(o.votes), percent(o.votes, total)) for o in options)
    return Chart(f"poll{index}", poll.question, alt, _png(figure),
                 Table(("Option", "Votes", "Share"), rows))


def digest_charts(digest: Digest) -> list[Chart]:
    """Every chart the digest has data for, in the order the report shows them."""
    charts: list[Chart] = []
    if digest.messages:
        charts.append(volume_chart(digest))
    if any(c.count for c in digest.categories):
        charts.append(categories_chart(digest))
    if digest.sentiment_week.total:
        charts.append(sentiment_chart(digest))
    if digest.cases.opened or digest.cases.resolved:
        charts.append(cases_chart(digest))
    charts.extend(poll_chart(poll, i) for i, poll in enumerate(digest.polls, 1) if poll.options)
    return charts


def charts_by_name(charts: Sequence[Chart]) -> dict[str, Chart]:
    return {chart.name: chart for chart in charts}
