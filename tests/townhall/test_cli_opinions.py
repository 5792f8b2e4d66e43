"""`townhall eval opinions` prints one JSON object; `townhall opinions report` writes the page.

The commands are mounted on a local Typer app here, the way `townhall.cli` mounts them."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from townhall.cli_opinions import eval_opinions, opinions_app

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "polis"
KEYS = {"participants", "statements", "groups", "ari_vs_reference", "consensus", "wall_s"}

app = typer.Typer()
eval_app = typer.Typer()
app.add_typer(eval_app, name="eval")
eval_app.command("opinions")(eval_opinions)
app.add_typer(opinions_app, name="opinions")


def _write_export(folder: Path, seed: int = 3, newer: bool = False) -> None:
    """Two planted groups of 30 voting on 16 statements (one moderated out, statement 0 agreed
    by all), 8 passers-by with 2 votes; Polis's group-id is the planted group. `newer` writes
    comments.csv as newer Polis does: no datetime, is-meta and more columns; statement 14 asks
    about the voter (half of each group says yes) and is marked meta there."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1, 1], size=16)
    stances = np.array([stance, -stance])
    stances[:, 0] = 1
    folder.mkdir(parents=True)
    with (folder / "comments.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        if newer:
            out.writerow(["timestamp", "comment-id", "author-id", "agrees", "disagrees",
                          "moderated", "comment-body", "is-seed", "is-meta",
                          "group-informed-consensus"])
        else:
            out.writerow(["timestamp", "datetime", "comment-id", "author-id", "agrees",
                          "disagrees", "moderated", "comment-body"])
        for sid in range(16):
            moderated, text = -1 if sid == 15 else 1, f"Statement {sid}"
            if newer:
                out.writerow([1000 + sid, sid, 0, 0, 0, moderated, text, "false",
                              "true" if sid == 14 else "false", 0.25])
            else:
                out.writerow([1000 + sid, "x", sid, 0, 0, 0, moderated, text])
    votes, rows, stamp = [], [], 0
    for pid in range(68):
        group = pid % 2 if pid < 60 else None
        row: dict[int, int] = {}
        for sid in range(16):
            if group is None and sid >= 2:
                continue
            if group is not None and rng.random() > 0.75:
                continue
            vote = int(stances[group][sid]) if group is not None else 1
            if sid == 14 and group is not None:  # a question about the voter, across groups
                vote = 1 if pid // 2 % 2 else -1
            stamp += 1
            votes.append([stamp, "x", sid, pid, vote])
            row[sid] = vote
        rows.append([pid, "" if group is None else group, 0, len(row), 0, 0,
                     *(row.get(sid, "") for sid in range(16))])
    with (folder / "votes.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "datetime", "comment-id", "voter-id", "vote"])
        out.writerows(votes)
    with (folder / "participants-votes.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["participant", "group-id", "n-comments", "n-votes", "n-agree",
                      "n-disagree", *range(16)])
        out.writerows(rows)


def _json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize("newer", [False, True])
def test_eval_opinions_on_a_synthetic_export(tmp_path: Path, newer: bool) -> None:
    folder = tmp_path / "conversation"
    _write_export(folder, newer=newer)
    result = CliRunner().invoke(app, ["eval", "opinions", "--conversation", str(folder)])
    assert result.exit_code == 0, result.output
    figures = _json(result.stdout)
    assert set(figures) == KEYS
    assert figures["participants"] == 68 and figures["statements"] == (14 if newer else 15)
    assert figures["groups"] == 2 and figures["ari_vs_reference"] == 1.0
    assert figures["consensus"][0] == 0 and len(figures["consensus"]) == 5
    assert 15 not in figures["consensus"] and figures["wall_s"] >= 0
    assert not newer or 14 not in figures["consensus"]


@pytest.mark.skipif(not (SHARED / "15-per-hour-seattle").is_dir(),
                    reason="the shared Polis data is not here")
def test_eval_opinions_on_a_real_export() -> None:
    folder = SHARED / "15-per-hour-seattle"
    result = CliRunner().invoke(app, ["eval", "opinions", "--conversation", str(folder)])
    assert result.exit_code == 0, result.output
    assert set(_json(result.stdout)) == KEYS


def test_eval_opinions_names_a_bad_file(tmp_path: Path) -> None:
    folder = tmp_path / "conversation"
    _write_export(folder)
    (folder / "votes.csv").write_text("timestamp,comment-id,voter-id,vote\n1,0,0,yes\n")
    result = CliRunner().invoke(app, ["eval", "opinions", "--conversation", str(folder)])
    assert result.exit_code == 2
    assert "votes.csv:2: vote must be a whole number" in result.output


def test_opinions_report_writes_the_page_and_blocks(tmp_path: Path) -> None:
    folder = tmp_path / "conversation"
    _write_export(folder)
    page, blocks = tmp_path / "out" / "report.html", tmp_path / "out" / "blocks.json"
    result = CliRunner().invoke(app, ["opinions", "report", "--conversation", str(folder),
                                      "--out", str(page), "--blocks", str(blocks)])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert "Group A" in html and "Statement 0" in html
    summary = json.loads(blocks.read_text(encoding="utf-8"))
    assert summary[0]["type"] == "header"
