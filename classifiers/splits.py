"""Development splits for the issue-category benchmarks, carved out of their train files.

Neither `newport_seeclickfix` nor `crisislext26` ships a validation split, and their test splits
are kept aside, so model choices (C, features) must be compared on a part of train. The dev
splits copy the way each dataset's own test split was made, so dev figures predict test figures:

- newport: stratified 80/20 by label, seed 311, group-aware on normalised text (a duplicated
  report must not sit on both sides, or the dev score rewards memorising it);
- crisislext26: whole events held out (about 20%, stratified by event category, seed 26), because
  the question is how the classifier does on an incident it has never seen.

Usage: `python -m classifiers.splits {newport,crisislext26} OUT_DIR [--source DATA_DIR]`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

from classifiers.datasets import read_records

DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
DATASETS = {"newport": "newport_seeclickfix", "crisislext26": "crisislext26"}
OUTPUT_PREFIX = {"newport": "newport", "crisislext26": "crisis"}
DEV_FRACTION = 0.2


def _write_jsonl(path: Path, records: list[dict]) -> None:
    """Only `text` and `label`: nothing else (summary, event, location) can leak downstream."""
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            row = {"text": str(record["text"]), "label": str(record["label"])}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces: what makes two reports 'the same'."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def split_by_label_groups(
    records: list[dict], seed: int, fraction: float = DEV_FRACTION
) -> tuple[list[dict], list[dict]]:
    """Stratified split where records with equal normalised text stay together.

    A group is filed under the label most of its records carry; per label, shuffled groups go to
    dev while they fit in that label's dev share (`fraction` of its records, rounded). The first
    shuffled group always stays in train, so no label disappears from train.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[normalise(str(record["text"]))].append(index)
    by_label: dict[str, list[list[int]]] = defaultdict(list)
    for members in groups.values():
        labels = [str(records[i]["label"]) for i in members]
        by_label[max(sorted(set(labels)), key=labels.count)].append(members)
    rng = random.Random(seed)
    dev: set[int] = set()
    for label in sorted(by_label):
        label_groups = by_label[label]
        rng.shuffle(label_groups)
        want = round(sum(len(g) for g in label_groups) * fraction)
        taken = 0
        for members in label_groups[1:]:
            if taken + len(members) <= want:
                dev.update(members)
                taken += len(members)
    train = [r for i, r in enumerate(records) if i not in dev]
    held = [r for i, r in enumerate(records) if i in dev]
    return train, held


def held_out_events(
    events: dict[str, dict], seed: int, fraction: float = DEV_FRACTION
) -> list[str]:
    """About `fraction` of the events per event category; singleton categories stay in train."""
    by_category: dict[str, list[str]] = defaultdict(list)
    for event_id, meta in sorted(events.items()):
        by_category[str(meta.get("category", "unknown"))].append(event_id)
    rng = random.Random(seed)
    chosen: list[str] = []
    for category in sorted(by_category):
        members = by_category[category]
        if len(members) < 2:
            continue
        chosen += rng.sample(members, max(1, round(len(members) * fraction)))
    return sorted(chosen)


def make_dev_split(
    dataset: str, out_dir: Path, *, source: Path | None = None
) -> tuple[Path, Path]:
    """Write `<prefix>_train.jsonl` and `<prefix>_dev.jsonl` into `out_dir`; return their paths."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(DATASETS)}")
    folder = source or DATA_ROOT / DATASETS[dataset]
    records = read_records(folder / "train.jsonl")
    if dataset == "newport":
        train, dev = split_by_label_groups(records, seed=311)
    else:
        events = json.loads((folder / "events_train.json").read_text(encoding="utf-8"))
        dev_events = set(held_out_events(events, seed=26))
        missing = [r for r in records if "event" not in r]
        if missing:
            raise ValueError(f"{folder / 'train.jsonl'}: records without an event field")
        train = [r for r in records if r["event"] not in dev_events]
        dev = [r for r in records if r["event"] in dev_events]
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = OUTPUT_PREFIX[dataset]
    paths = out_dir / f"{prefix}_train.jsonl", out_dir / f"{prefix}_dev.jsonl"
    _write_jsonl(paths[0], train)
    _write_jsonl(paths[1], dev)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--source", type=Path, help="the dataset folder (default: shared/data)")
    args = parser.parse_args(argv)
    for path in make_dev_split(args.dataset, args.out_dir, source=args.source):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        print(f"{path}: {lines} rows")


if __name__ == "__main__":
    main()
