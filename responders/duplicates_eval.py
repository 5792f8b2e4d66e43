"""`townhall eval duplicates`: replay citizen reports as the bot would see them and score merges.

Ground truth (the issue's definition): two requests are duplicates when they have the same
request type (`label`), were created within `truth_hours` of each other and lie within
`truth_radius_m`. A request without coordinates has no true duplicate: "close in place" cannot
be known.

The replay is online, in `created_at` order: each row is offered the earlier rows still open
(within the rule's window) and is attached to the rule's best match, else it opens a case of its
own. Attached rows stay candidates: a case with several reporters is matched through any of
its reports. The rule sees the category the bot would predict (`categorize`), not the label,
so a misrouted report costs what it would cost in production.

Figures: `precision` = attached rows whose match is a true duplicate / attached rows (a wrong
merge hides a problem, so this is the figure that matters); `recall` = rows attached to one of
their earlier true duplicates / rows that have an earlier true duplicate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from responders.duplicates import DuplicateRule, Report, distance_m

Encode = Callable[[list[str]], np.ndarray]
Categorize = Callable[[list[str], np.ndarray], Sequence[str | None]]
TRUTH_HOURS = 72.0
TRUTH_RADIUS_M = 150.0


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    at: datetime
    latitude: float | None
    longitude: float | None


def read_rows(path: Path) -> list[Row]:
    """Lines `{"text", "label", "created_at", "lat", "lng"}` in `created_at` order; other
    fields are ignored (`summary` on purpose: it usually is the label)."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                at = datetime.fromisoformat(str(data["created_at"]).replace("Z", "+00:00"))
                if at.tzinfo is None:
                    raise ValueError("created_at has no timezone")
                lat, lng = data.get("lat"), data.get("lng")
                located = lat is not None and lng is not None
                rows.append(
                    Row(
                        str(data["text"]),
                        str(data["label"]),
                        at,
                        float(lat) if located else None,
                        float(lng) if located else None,
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a report line ({exc})") from exc
    rows.sort(key=lambda row: row.at)
    return rows


def true_duplicates(
    rows: Sequence[Row], hours: float = TRUTH_HOURS, radius_m: float = TRUTH_RADIUS_M
) -> list[frozenset[int]]:
    """For each row (in time order), the indices of the earlier rows it truly duplicates."""
    earlier: list[frozenset[int]] = []
    first = 0
    for i, row in enumerate(rows):
        while (row.at - rows[first].at).total_seconds() > hours * 3600:
            first += 1
        found = set()
        if row.latitude is not None and row.longitude is not None:
            for j in range(first, i):
                other = rows[j]
                if (
                    other.label == row.label
                    and other.latitude is not None
                    and other.longitude is not None
                    and distance_m(row.latitude, row.longitude, other.latitude, other.longitude)
                    <= radius_m
                ):
                    found.add(j)
        earlier.append(frozenset(found))
    return earlier


def replay(reports: Sequence[Report], rule: DuplicateRule) -> list[int | None]:
    """Per report (in time order), the index of the earlier report it was attached to."""
    attached: list[int | None] = []
    first = 0
    for i, report in enumerate(reports):
        while (report.at - reports[first].at).total_seconds() > rule.window_hours * 3600:
            first += 1
        match = rule.best(report, reports[first:i])
        attached.append(None if match is None else match.key)
    return attached


def score(attached: Sequence[int | None], truth: Sequence[frozenset[int]]) -> dict[str, object]:
    """Precision, recall and counts of a replay against the ground truth."""
    merged = sum(match is not None for match in attached)
    right = sum(
        match is not None and match in true for match, true in zip(attached, truth, strict=True)
    )
    duplicated = sum(bool(true) for true in truth)
    precision = right / merged if merged else None
    recall = right / duplicated if duplicated else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "rows": len(truth),
        "true_duplicate_rows": duplicated,
        "attached": merged,
        "wrong_merges": merged - right,
        "precision": _round(precision),
        "recall": _round(recall),
        "f1": _round(f1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def reports_of(
    rows: Sequence[Row],
    vectors: np.ndarray,
    categories: Sequence[str | None],
    *,
    locations: bool = True,
) -> list[Report]:
    """The rule's view of each row; `locations=False` drops the coordinates, to measure the
    location-free threshold on data that always has them."""
    return [
        Report(
            i,
            vectors[i],
            category,
            row.at,
            row.latitude if locations else None,
            row.longitude if locations else None,
        )
        for i, (row, category) in enumerate(zip(rows, categories, strict=True))
    ]


def evaluate_duplicates(
    rows: Sequence[Row],
    encode: Encode,
    categorize: Categorize,
    rule: DuplicateRule,
    *,
    truth_hours: float = TRUTH_HOURS,
    truth_radius_m: float = TRUTH_RADIUS_M,
    locations: bool = True,
) -> dict[str, object]:
    """Encode and categorise the rows, replay them with `rule` and score the merges.

    `wall_s` covers encoding, categorising and the replay (not loading the models).
    """
    if not rows:
        raise ValueError("no rows to evaluate")
    started = time.perf_counter()
    texts = [row.text for row in rows]
    vectors = np.asarray(encode(texts), dtype=np.float32)
    categories = list(categorize(texts, vectors))
    attached = replay(reports_of(rows, vectors, categories, locations=locations), rule)
    truth = true_duplicates(rows, truth_hours, truth_radius_m)
    result = score(attached, truth)
    result["rule"] = asdict(rule)
    result["truth"] = {"hours": truth_hours, "radius_m": truth_radius_m}
    result["locations"] = locations
    result["wall_s"] = round(time.perf_counter() - started, 3)
    return result
