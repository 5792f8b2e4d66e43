"""The duplicate-report rule on hand-made vectors, and its eval on a tiny synthetic file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from responders.duplicates import DEFAULT_RULE, DuplicateRule, Report, distance_m
from responders.duplicates_eval import (
    evaluate_duplicates,
    read_rows,
    replay,
    reports_of,
    score,
    true_duplicates,
)
from townhall.cli import eval_app
from townhall.cli_duplicates import eval_duplicates

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
LAT, LON = 41.49, -71.31
METRE = 1 / 111_195  # degrees of latitude per metre
RULE = DuplicateRule(similarity=0.7, similarity_without_location=0.9, window_hours=72, radius_m=150)


def unit(cosine: float) -> np.ndarray:
    """A unit vector whose cosine with `unit(1.0)` is `cosine`."""
    return np.array([cosine, np.sqrt(1 - cosine**2), 0.0, 0.0], dtype=np.float32)


def report(
    key: int = 0,
    cosine: float = 1.0,
    category: str | None = "roads",
    hours: float = 0.0,
    north_m: float | None = 0.0,
) -> Report:
    located = north_m is not None
    return Report(
        key,
        unit(cosine),
        category,
        T0 + timedelta(hours=hours),
        LAT + (north_m or 0.0) * METRE if located else None,
        LON if located else None,
    )


def test_distance_m() -> None:
    assert distance_m(LAT, LON, LAT, LON) == 0.0
    assert distance_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(LAT, LON, LAT + 100 * METRE, LON) == pytest.approx(100, rel=1e-3)


def test_a_close_similar_report_of_the_same_category_matches() -> None:
    assert RULE.matches(report(1, 0.8, hours=2, north_m=40), report()) == pytest.approx(0.8)


def test_known_and_different_categories_never_match() -> None:
    assert RULE.matches(report(1, category="lights"), report(category="roads")) is None
    assert RULE.matches(report(1, category=None), report(category="roads")) == pytest.approx(1)
    assert RULE.matches(report(1, category="lights"), report(category=None)) == pytest.approx(1)
    lenient = DuplicateRule(0.7, 0.9, 72, 150, same_category=False)
    assert lenient.matches(report(1, category="lights"), report()) == pytest.approx(1)


def test_the_existing_report_must_be_within_the_window() -> None:
    assert RULE.matches(report(1, hours=72), report()) is not None
    assert RULE.matches(report(1, hours=72.5), report()) is None


def test_located_reports_must_be_within_the_radius() -> None:
    assert RULE.matches(report(1, north_m=140), report()) is not None
    assert RULE.matches(report(1, north_m=160), report()) is None


def test_without_a_location_the_text_must_be_more_similar() -> None:
    for new, existing in [
        (report(1, 0.8, north_m=None), report()),
        (report(1, 0.8), report(north_m=None)),
        (report(1, 0.8, north_m=None), report(north_m=None)),
    ]:
        assert RULE.matches(new, existing) is None
    assert RULE.matches(report(1, 0.8), report()) == pytest.approx(0.8)
    assert RULE.matches(report(1, 0.95, north_m=None), report()) == pytest.approx(0.95)
    assert RULE.matches(report(1, 0.95, north_m=None), report(north_m=5_000)) is not None


def test_best_picks_the_most_similar_match() -> None:
    new = report(9)
    candidates = [
        report(1, 0.75),
        report(2, 0.99, category="lights"),  # most similar, but another category
        report(3, 0.9, north_m=20),
        report(4, 0.95, hours=-100),  # too old
        report(5, 0.8),
    ]
    assert RULE.best(new, candidates) is candidates[2]
    for candidate in candidates:  # best and matches agree
        score_ = RULE.matches(new, candidate)
        assert (score_ is not None) == (candidate.key in (1, 3, 5))


def test_best_with_no_candidate_or_no_match_is_none() -> None:
    assert RULE.best(report(1), []) is None
    assert RULE.best(report(1), [report(2, 0.5), report(3, north_m=1_000)]) is None


def test_bad_rules_and_reports_are_refused() -> None:
    with pytest.raises(ValueError, match="at least similarity"):
        DuplicateRule(0.8, 0.7, 72, 150)
    with pytest.raises(ValueError, match="cosine"):
        DuplicateRule(0.8, 1.5, 72, 150)
    with pytest.raises(ValueError, match="negative"):
        DuplicateRule(0.8, 0.9, -1, 150)
    with pytest.raises(ValueError, match="timezone"):
        Report(1, unit(1.0), None, datetime(2024, 3, 1))
    assert DEFAULT_RULE.similarity_without_location >= DEFAULT_RULE.similarity


# --- the eval -----------------------------------------------------------------------------------

TEXTS = {  # fake embeddings: a few texts with chosen cosines
    "pothole on elm": unit(1.0),
    "streetlight out": np.array([0, 0, 1, 0], dtype=np.float32),
    "graffiti on the wall": np.array([0, 0, 0, 1], dtype=np.float32),
    "graffiti on the fence": np.array([0, 0, 0.8, 0.6], dtype=np.float32),  # cos 0.6
}
CATEGORY = {"pothole": "roads", "streetlight": "lights", "graffiti": "vandalism"}
# (text, label, hours after T0, metres north of (LAT, LON) or None)
ROWS = [
    ("pothole on elm", "Pothole", 0, 0),
    ("pothole on elm", "Pothole", 1, 50),  # true duplicate of 0, attached: right
    ("pothole on elm", "Pothole", 2, 5_000),  # too far: neither true nor attached
    ("streetlight out", "Light", 3, 0),  # another type at the same place
    ("pothole on elm", "Sidewalk", 4, 0),  # attached to 0 but another type: wrong merge
    ("pothole on elm", "Pothole", 100, 0),  # 96 h after the last one: alone
    ("graffiti on the wall", "Graffiti", 101, 2_000),
    ("graffiti on the fence", "Graffiti", 102, 2_010),  # true duplicate, texts too unlike
    ("pothole on elm", "Pothole", 103, None),  # joins row 5 on text alone; no truth without a place
]


def encode(texts: list[str]) -> np.ndarray:
    return np.stack([TEXTS[text] for text in texts])


def categorize(texts: list[str], vectors: np.ndarray) -> list[str | None]:
    assert len(vectors) == len(texts)
    return [CATEGORY[text.split()[0]] for text in texts]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    lines = []
    for text, label, hours, north_m in reversed(ROWS):  # read_rows sorts by time
        at = (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        lat = None if north_m is None else LAT + north_m * METRE
        lng = None if north_m is None else LON
        lines.append(json.dumps({"text": text, "label": label, "created_at": at, "lat": lat,
                                 "lng": lng, "summary": label}))  # fmt: skip
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_rows_sorts_by_time_and_names_a_bad_line(data: Path, tmp_path: Path) -> None:
    rows = read_rows(data)
    assert [row.text for row in rows] == [text for text, *_ in ROWS]
    assert rows[-1].latitude is None and rows[0].at == T0
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "y"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1"):
        read_rows(bad)


def test_ground_truth(data: Path) -> None:
    truth = true_duplicates(read_rows(data))
    assert [sorted(t) for t in truth] == [[], [0], [], [], [], [], [], [6], []]
    wider = true_duplicates(read_rows(data), hours=200, radius_m=10_000)
    assert sorted(wider[5]) == [0, 1, 2] and sorted(wider[2]) == [0, 1]


def test_replay_and_counts(data: Path) -> None:
    rows = read_rows(data)
    texts = [row.text for row in rows]
    reports = reports_of(rows, encode(texts), categorize(texts, encode(texts)))
    attached = replay(reports, RULE)
    assert attached == [None, 0, None, None, 0, None, None, None, 5]
    result = score(attached, true_duplicates(rows))
    assert result == {
        "rows": 9, "true_duplicate_rows": 2, "attached": 3, "wrong_merges": 2,
        "precision": 0.3333, "recall": 0.5, "f1": 0.4,
    }  # fmt: skip


def test_evaluate_duplicates(data: Path) -> None:
    result = evaluate_duplicates(read_rows(data), encode, categorize, RULE)
    assert (result["attached"], result["precision"], result["recall"]) == (3, 0.3333, 0.5)
    assert result["rule"] == {
        "similarity": 0.7, "similarity_without_location": 0.9, "window_hours": 72,
        "radius_m": 150, "same_category": True,
    }  # fmt: skip
    assert result["truth"] == {"hours": 72.0, "radius_m": 150.0}
    assert isinstance(result["wall_s"], float)
    # without coordinates the rule cannot tell the far pothole (row 2) from the near one, and
    # row 8 joins row 5; the truth still uses the coordinates, so only row 1 is right
    blind = evaluate_duplicates(read_rows(data), encode, categorize, RULE, locations=False)
    assert (blind["attached"], blind["wrong_merges"], blind["locations"]) == (4, 3, False)


def test_nothing_attached_has_no_precision() -> None:
    result = score([None, None], [frozenset(), frozenset({0})])
    assert result["precision"] is None and result["recall"] == 0.0 and result["f1"] is None


def test_the_command_is_registered() -> None:
    commands = {command.name: command.callback for command in eval_app.registered_commands}
    assert commands["duplicates"] is eval_duplicates
