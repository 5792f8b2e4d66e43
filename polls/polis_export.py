"""Read a Polis export folder into a `VoteMatrix`, with the statements and Polis's own groups.

A Polis export is a folder of CSV files: `comments.csv` (the statements and their moderation),
`votes.csv` (every vote, with its time) and `participants-votes.csv` (the participant x statement
matrix with the group Polis put each participant in). Columns are found by name, never by
position: exports from different Polis versions order and name them differently (newer ones add
`is-meta`, `is-seed`, `group-informed-consensus` to `comments.csv` and drop its `datetime`).

The matrix is built from `votes.csv`, replaying the votes in time order so that a changed vote
counts once, as its last value; without `votes.csv` the matrix of `participants-votes.csv` is
used. Statements moderated out (-1) and meta statements are excluded the way Polis excludes them
(see `polls.opinions`). Malformed input raises ValueError naming the file and line.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from polls.opinions import VoteMatrix

COMMENTS, VOTES, MATRIX, SUMMARY = (
    "comments.csv", "votes.csv", "participants-votes.csv", "summary.csv")
TRUE = {"1", "true", "t", "yes", "y"}
FALSE = {"", "0", "false", "f", "no", "n"}
MATRIX_FIXED = {"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}


@dataclass(frozen=True)
class Statement:
    id: int
    text: str
    moderated: int  # 1 accepted, 0 not moderated yet, -1 moderated out
    is_meta: bool = False

    @property
    def excluded(self) -> bool:
        return self.moderated == -1 or self.is_meta


@dataclass(frozen=True)
class PolisExport:
    votes: VoteMatrix
    statements: dict[int, Statement]
    reference_groups: dict[int, int]  # participant -> Polis's group-id (grouped ones only)
    topic: str = ""
    description: str = ""

    @property
    def texts(self) -> dict[int, str]:
        return {i: s.text for i, s in self.statements.items()}


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row, after checking the header names `required`."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [name.strip() for name in (reader.fieldnames or [])]
        except csv.Error as exc:
            raise ValueError(f"{path}:1: not a CSV file ({exc})") from exc
        missing = [name for name in required if name not in header]
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}"
                             f" (found: {', '.join(header) or 'nothing'})")
        reader.fieldnames = header
        try:
            for row in reader:
                if None in row:
                    raise ValueError(f"{path}:{reader.line_num}: more fields than the header")
                if any((value or "").strip() for value in row.values()):
                    yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}
        except csv.Error as exc:
            raise ValueError(f"{path}:{reader.line_num}: {exc}") from exc


def _int(path: Path, line: int, column: str, value: str) -> int:
    try:
        number = float(value)
        if number != int(number):
            raise ValueError(value)
        return int(number)
    except ValueError:
        raise ValueError(f"{path}:{line}: {column} must be a whole number, "
                         f"not {value!r}") from None


def _flag(path: Path, line: int, column: str, value: str) -> bool:
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ValueError(f"{path}:{line}: {column} must be true or false, not {value!r}")


def read_statements(path: Path) -> dict[int, Statement]:
    statements: dict[int, Statement] = {}
    for line, row in _rows(path, ("comment-id", "moderated", "comment-body")):
        sid = _int(path, line, "comment-id", row["comment-id"])
        if sid in statements:
            raise ValueError(f"{path}:{line}: comment-id {sid} appears twice")
        moderated = _int(path, line, "moderated", row["moderated"] or "0")
        if moderated not in (-1, 0, 1):
            raise ValueError(f"{path}:{line}: moderated must be -1, 0 or 1, not {moderated}")
        meta = _flag(path, line, "is-meta", row.get("is-meta", ""))
        statements[sid] = Statement(sid, row["comment-body"], moderated, meta)
    return statements


def read_votes(path: Path) -> list[tuple[int, int, int]]:
    """(participant, statement, vote) in the order the votes were cast."""
    timed: list[tuple[int, int, tuple[int, int, int]]] = []
    for line, row in _rows(path, ("comment-id", "voter-id", "vote")):
        vote = _int(path, line, "vote", row["vote"])
        if vote not in (-1, 0, 1):
            raise ValueError(f"{path}:{line}: vote must be 1, -1 or 0, not {vote}")
        stamp = _int(path, line, "timestamp", row["timestamp"]) if row.get("timestamp") else 0
        timed.append((stamp, line, (_int(path, line, "voter-id", row["voter-id"]),
                                    _int(path, line, "comment-id", row["comment-id"]), vote)))
    timed.sort(key=lambda t: (t[0], t[1]))
    return [vote for _, _, vote in timed]


def read_matrix(path: Path) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """The votes held in `participants-votes.csv`, and Polis's group of each participant."""
    votes: list[tuple[int, int, int]] = []
    groups: dict[int, int] = {}
    statement_columns: list[tuple[str, int]] | None = None
    for line, row in _rows(path, ("participant", "group-id")):
        pid = _int(path, line, "participant", row["participant"])
        if row["group-id"]:
            groups[pid] = _int(path, line, "group-id", row["group-id"])
        if statement_columns is None:
            statement_columns = [(c, _int(path, 1, "a statement column", c))
                                 for c in row if c not in MATRIX_FIXED]
        for column, sid in statement_columns:
            if row[column]:
                vote = _int(path, line, f"the vote on statement {sid}", row[column])
                if vote not in (-1, 0, 1):
                    raise ValueError(f"{path}:{line}: the vote on statement {sid} must be "
                                     f"1, -1 or 0, not {vote}")
                votes.append((pid, sid, vote))
    return votes, groups


def read_summary(path: Path) -> dict[str, str]:
    """`summary.csv` is key,value rows (a value may span lines)."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            return {row[0].strip(): row[1].strip() for row in csv.reader(handle) if len(row) > 1}
        except csv.Error as exc:
            raise ValueError(f"{path}: {exc}") from exc


def read_export(folder: Path) -> PolisExport:
    """Read an export folder: `comments.csv` and `votes.csv` (or `participants-votes.csv`)
    are needed; `participants-votes.csv` supplies Polis's groups, `summary.csv` the topic."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder")
    statements = read_statements(folder / COMMENTS)
    reference: dict[int, int] = {}
    votes: list[tuple[int, int, int]] | None = None
    if (folder / VOTES).exists():
        votes = read_votes(folder / VOTES)
    if (folder / MATRIX).exists():
        matrix_votes, reference = read_matrix(folder / MATRIX)
        votes = matrix_votes if votes is None else votes
    if votes is None:
        raise ValueError(f"{folder}: neither {VOTES} nor {MATRIX} is there")
    ordered = sorted(statements)
    for _, sid, _ in votes:  # a vote on a statement the comments file lacks still counts
        if sid not in statements:
            statements[sid] = Statement(sid, "", 0)
    matrix = VoteMatrix.from_votes(
        votes, statements=sorted(set(ordered) | set(statements)),
        excluded={sid for sid, s in statements.items() if s.excluded},
    )
    row = {p: i for i, p in enumerate(matrix.participants)}  # rows in participant id order
    participants = sorted(row)
    matrix = VoteMatrix(tuple(participants), matrix.statements,
                        matrix.values[[row[p] for p in participants]], matrix.excluded)
    summary = read_summary(folder / SUMMARY)
    return PolisExport(matrix, dict(sorted(statements.items())), reference,
                       summary.get("topic", ""), summary.get("conversation-description", ""))
