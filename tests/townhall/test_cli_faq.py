"""`townhall faq export` and `townhall faq import` against a real database, configured through
TOWNHALL_* variables as in production."""

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from responders.faq import load_knowledge_base
from townhall.cli import app

ROOT = Path(__file__).resolve().parents[2]
NEW_ENTRY = {
    "id": "dog-licence",
    "category": "permits",
    "questions": ["How do I license my dog?", "dog tag renewal"],
    "answer": "License your dog online at https://city.example/dogs; it costs $20 a year.",
}


@pytest.fixture
def runner(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TOWNHALL_DATABASE_URL", database_url)
    monkeypatch.setenv("TOWNHALL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TOWNHALL_FAQ__PATH", str(ROOT / "config" / "faq.yaml"))
    return CliRunner()


def _write(path: Path, entries: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "entries": entries}), encoding="utf-8")
    return path


def test_export_import_export(runner: CliRunner, tmp_path: Path) -> None:
    _, configured = load_knowledge_base(ROOT / "config" / "faq.yaml")

    exported = runner.invoke(app, ["faq", "export"])
    assert exported.exit_code == 0, exported.output
    default = tmp_path / "var" / "faq-export.yaml"
    assert str(default) in exported.stderr and f"{len(configured)} entries" in exported.stderr
    assert load_knowledge_base(default)[1] == configured

    new = _write(tmp_path / "new.yaml", [NEW_ENTRY])
    imported = runner.invoke(app, ["faq", "import", str(new)])
    assert imported.exit_code == 0, imported.output
    assert "1 added, 0 updated, 0 unchanged" in imported.stderr

    again = runner.invoke(app, ["faq", "import", str(default)])  # the configured entries as-is
    assert again.exit_code == 0, again.output
    assert f"0 added, 0 updated, {len(configured)} unchanged" in again.stderr

    out = tmp_path / "merged.yaml"
    merged = runner.invoke(app, ["faq", "export", "--out", str(out)])
    assert merged.exit_code == 0 and "1 from the database" in merged.stderr
    entries = load_knowledge_base(out)[1]
    assert [e.id for e in entries] == [*(e.id for e in configured), "dog-licence"]
    assert entries[-1].answer == NEW_ENTRY["answer"]

    to_stdout = runner.invoke(app, ["faq", "export", "--out", "-"])
    assert to_stdout.exit_code == 0
    assert yaml.safe_load(to_stdout.stdout)["entries"][-1]["id"] == "dog-licence"


def test_a_malformed_file_is_refused_with_its_reasons(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("entries: [ {id: x", encoding="utf-8")
    result = runner.invoke(app, ["faq", "import", str(broken)])
    assert result.exit_code == 1 and "Nothing imported" in result.stderr

    invalid = _write(tmp_path / "invalid.yaml", [NEW_ENTRY, {**NEW_ENTRY, "id": "Dog Licence"}])
    result = runner.invoke(app, ["faq", "import", str(invalid)])
    assert result.exit_code == 1
    assert "Dog Licence" in result.stderr and "lowercase" in result.stderr

    missing = runner.invoke(app, ["faq", "import", str(tmp_path / "nowhere.yaml")])
    assert missing.exit_code == 2

    exported = runner.invoke(app, ["faq", "export", "--out", "-"])
    assert "dog-licence" not in exported.stdout  # nothing of the refused files was stored


def test_calibrate_writes_the_chosen_values_and_keeps_the_comments(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    config = tmp_path / "townhall.toml"
    config.write_text(
        "[faq]\n# how sure the bot must be\nthreshold = 0.9\nmargin = 0.5\n\n[outbox]\n"
        "max_attempts = 3\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TOWNHALL_CONFIG", str(config))
    data = tmp_path / "labelled.jsonl"
    rows = [
        ("what day does the garbage truck come", "trash-collection-day"),
        ("can pizza boxes go in the recycling", "recycling-rules"),
        ("how can I pay my parking fine", "parking-ticket"),
        ("the lamp on my street is broken", "street-light-out"),
        ("who won the football game last night", "oos"),
        ("recommend me a good movie", "oos"),
    ]
    data.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))

    result = runner.invoke(app, ["faq", "calibrate", "--data", str(data)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["met_target"] and figures["answered_wrong_rate"] == 0.0
    assert figures["in_scope_accuracy"] == 1.0 and figures["oos_recall"] == 1.0
    text = config.read_text()
    assert f"threshold = {figures['threshold']!r}" in text
    assert f"margin = {figures['margin']!r}" in text
    assert "# how sure the bot must be" in text and "max_attempts = 3" in text

    data.write_text(json.dumps({"text": "x", "label": "no-such-entry"}) + "\n")
    refused = runner.invoke(app, ["faq", "calibrate", "--data", str(data)])
    assert refused.exit_code == 2 and "no-such-entry" in refused.stderr
