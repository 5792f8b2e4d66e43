"""`townhall bench all`: the suite, the runner and the table, with stand-in benchmark processes
(the real benchmarks take minutes each; they have their own tests)."""

import sys
from datetime import UTC, datetime

from townhall.bench_all import (
    BEGIN,
    END,
    Run,
    last_json_object,
    markdown,
    run_one,
    shown_command,
    splice,
    suite,
)

PG = "postgresql+psycopg://townhall:secret@db.example:5432/postgres"


def test_the_suite_covers_both_databases_and_both_backends() -> None:
    runs = suite(PG)
    pipeline = {(r.database, r.backend) for r in runs if r.benchmark == "pipeline"}
    e2e = {(r.database, r.backend) for r in runs if r.benchmark == "e2e"}
    every = {(d, b) for d in ("sqlite", "postgresql") for b in ("onnx", "torch")}
    assert pipeline == every and e2e == every
    assert {r.backend for r in runs if r.benchmark == "classify"} == {"onnx", "torch"}
    assert {r.database for r in runs if r.benchmark == "digest"} == {"sqlite", "postgresql"}
    assert all(r.database == "sqlite" for r in suite(None) if r.database)
    [pipeline_pg_onnx] = [r for r in runs if r.benchmark == "pipeline"
                          and r.database == "postgresql" and r.backend == "onnx"]
    assert pipeline_pg_onnx.args[:3] == ("pipeline", "--n", "2000")
    assert "--database-url" in pipeline_pg_onnx.args


def test_commands_are_shown_as_typed_without_the_password() -> None:
    run = Run("pipeline", ("pipeline", "--n", "5000", "--database-url", PG), ("msgs_per_s",))
    shown = shown_command(run)
    assert shown.startswith("townhall bench pipeline --n 5000 --database-url ")
    assert "secret" not in shown and "***" in shown


def test_the_last_json_object_printed_is_the_result() -> None:
    out = 'loading\n{"benchmark": "x", "a": 1}\nnot json {\n{"benchmark": "x", "a": 2}\n'
    assert last_json_object(out) == {"benchmark": "x", "a": 2}


def test_a_benchmark_process_gives_its_figures_or_its_error() -> None:
    ok = [sys.executable, "-c", "import sys, json; print('warming up'); "
          "print(json.dumps({'msgs_per_s': 12.5, 'argv': sys.argv[1:]}))"]
    run = Run("pipeline", ("pipeline", "--n", "10"), ("msgs_per_s",), "sqlite", "onnx")
    outcome = run_one(run, ok)
    assert outcome.error == ""
    assert outcome.figures == {"msgs_per_s": 12.5, "argv": ["bench", "pipeline", "--n", "10"]}

    broken = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no model\\n'); "
              "sys.exit(3)"]
    failed = run_one(run, broken)
    assert failed.error.startswith("exit 3") and "boom: no model" in failed.error

    silent = [sys.executable, "-c", "print('done')"]
    assert "no JSON object" in run_one(run, silent).error


def test_the_table_has_a_row_per_run_with_its_command() -> None:
    runs = [
        Run("pipeline", ("pipeline", "--n", "5000"), ("msgs_per_s", "p95_ms"), "sqlite", "onnx"),
        Run("pipeline", ("pipeline", "--n", "5000", "--backend", "torch"),
            ("msgs_per_s", "p95_ms"), "sqlite", "torch"),
    ]
    ok = [sys.executable, "-c", "import json; print(json.dumps({'msgs_per_s': 321.0, "
          "'p95_ms': 41.5}))"]
    outcomes = [run_one(runs[0], ok), run_one(runs[1], [sys.executable, "-c", "exit(1)"])]
    text = markdown(outcomes, when=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert "Measured 2026-11-30 12:00 UTC" in text and "- cores: " in text
    assert "| database | backend | msgs_per_s | p95_ms | command |" in text
    assert "| sqlite | onnx | 321 | 41.5 | `townhall bench pipeline --n 5000` |" in text
    assert "| sqlite | torch | failed: exit 1" in text


def test_the_generated_part_replaces_only_what_is_between_the_markers() -> None:
    document = f"# Performance\n\nIntro.\n\n{BEGIN}\nold table\n{END}\n\n## Profile\nkept\n"
    updated = splice(document, "new table")
    assert updated == f"# Performance\n\nIntro.\n\n{BEGIN}\nnew table\n{END}\n\n## Profile\nkept\n"
    assert splice("# Performance\n", "t") == f"# Performance\n\n{BEGIN}\nt\n{END}\n"
    assert splice(updated, "newer").count(BEGIN) == 1
