"""Reading labelled JSONL: one `{"text", "label", ...}` object per line, errors naming file:line.

Every training and evaluation command reads its data through here, so a malformed line gives the
same clear message everywhere instead of a traceback from deep inside a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: Path | str) -> list[dict[str, Any]]:
    """Every non-empty line as a dict with a string `text` and a `label`."""
    path = Path(path)
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object with text and label")
            if not isinstance(record.get("text"), str):
                raise ValueError(f"{path}:{number}: `text` must be a string")
            if "label" not in record:
                raise ValueError(f"{path}:{number}: `label` is missing")
            record["_line"] = number
            records.append(record)
    if not records:
        raise ValueError(f"{path}: no rows")
    return records


def read_rows(path: Path | str) -> list[tuple[str, str]]:
    """(text, label) pairs where the label is a class name."""
    rows = []
    for record in read_records(path):
        label = record["label"]
        if label is None or isinstance(label, dict | list) or str(label) == "":
            raise ValueError(f"{path}:{record['_line']}: `label` must be a class name")
        rows.append((record["text"], str(label)))
    return rows


def read_labelled(path: Path | str, labels: tuple[str, ...]) -> list[tuple[str, int]]:
    """(text, index) pairs; a label is an index or one of `labels` (case-insensitive)."""
    names = {name.lower().replace("-", "_"): i for i, name in enumerate(labels)}
    rows = []
    for record in read_records(path):
        label, where = record["label"], f"{path}:{record['_line']}"
        if isinstance(label, str) and not label.isdigit():
            key = label.lower().replace("-", "_")
            if key not in names:
                raise ValueError(f"{where}: unknown label {label!r}")
            label = names[key]
        if isinstance(label, bool) or not isinstance(label, int | str):
            raise ValueError(f"{where}: unknown label {label!r}")
        label = int(label)
        if not 0 <= label < len(labels):
            raise ValueError(f"{where}: label {label} out of range")
        rows.append((record["text"], label))
    return rows
