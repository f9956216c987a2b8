"""Feedback storage in SQLite and `asf feedback export` as CSV or JSONL."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest

from assistant.config import Settings
from assistant.feedback import (
    COLUMNS,
    FeedbackStore,
    citations_of,
    feedback_path,
    register,
)

CITATIONS = [{"n": 1, "chunk_id": "c1", "source": "rapport.txt", "title": "Rapporten",
              "section": "Sammanfattning › Uppdraget", "page": None,
              "quote": "45 intervjuer genomfördes, med ”citat”, kommatecken och radbrytning\n."}]


def _export(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="asf")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["feedback", "export", *argv])
    return args.func(args)


@pytest.fixture
def store(settings) -> FeedbackStore:
    s = FeedbackStore(feedback_path(settings))
    s.record("a1", 1, question="Hur många intervjuer?", answer="45 intervjuer. [1]",
             citations=CITATIONS, role="Företag / CSR")
    s.record("a2", 0, question="Kanelbullar?", answer="Det framgår inte av rapporten",
             refused=True, role="Rådgivare / främjare")
    return s


def test_default_path_is_in_the_data_folder_and_env_moves_it(tmp_path, monkeypatch):
    assert feedback_path(Settings()) == Settings().data_dir / "feedback.sqlite3"
    monkeypatch.setenv("ASF_FEEDBACK_DB", str(tmp_path / "x" / "f.db"))
    assert feedback_path(Settings()) == tmp_path / "x" / "f.db"


def test_rating_is_stored_updated_and_cleared(store):
    rows = store.rows()
    assert [(r["answer_id"], r["rating"], r["refused"]) for r in rows] == [
        ("a1", 1, False), ("a2", 0, True)]
    assert rows[0]["citations"] == CITATIONS
    store.record("a1", 0, question="Hur många intervjuer?", answer="45 intervjuer. [1]")
    assert [r["rating"] for r in store.rows()] == [0, 0]
    assert store.rows()[0]["role"] == "Företag / CSR"
    store.record("a1", None, question="", answer="")
    assert [r["answer_id"] for r in store.rows()] == ["a2"]


def test_invalid_rating_is_rejected(store):
    with pytest.raises(ValueError):
        store.record("a3", 5, question="q", answer="a")


def test_citations_of_an_answer(assistant):
    answer = assistant.ask("Hur många intervjuer genomfördes inom ramen för undersökningen?")
    cited = citations_of(answer)
    assert cited[0]["n"] == 1 and cited[0]["quote"] == answer.citations[0].quote
    assert set(cited[0]) == {"n", "chunk_id", "source", "title", "section", "page", "quote"}


def test_export_csv_round_trips(store):
    out = io.StringIO()
    assert store.export(out, "csv") == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0]["rating"] == "1" and rows[1]["refused"] == "1"
    assert json.loads(rows[0]["citations"]) == CITATIONS


def test_export_jsonl(store):
    out = io.StringIO()
    store.export(out, "jsonl")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["answer_id"] for line in lines] == ["a1", "a2"]
    assert lines[0]["citations"] == CITATIONS and lines[1]["refused"] is True


def test_cli_writes_csv_to_a_file(store, tmp_path, capsys):
    target = tmp_path / "ut" / "omdomen.csv"
    assert _export("--output", str(target)) == 0
    assert "Antal exporterade omdömen: 2" in capsys.readouterr().err
    text = target.read_text(encoding="utf-8-sig")   # with a BOM, for Excel
    assert text.startswith("answer_id,created_at") and "Företag / CSR" in text


def test_cli_writes_jsonl_to_stdout(store, capsys):
    assert _export("--format", "jsonl") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["question"] == "Kanelbullar?"


def test_cli_without_feedback_says_so(capsys):
    assert _export("--format", "jsonl") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "Inga omdömen är sparade ännu" in captured.err


def test_cli_rejects_unknown_format():
    with pytest.raises(SystemExit):
        _export("--format", "xml")


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    from assistant.feedback import _safe_cell

    for value in ("=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert _safe_cell(value) == "'" + value
    assert _safe_cell("Vad är ett IOP?") == "Vad är ett IOP?" and _safe_cell(3) == 3


def test_ratings_are_read_back_by_answer_id(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    assert store.ratings(["a"]) == {}                       # no file yet: none, no file made
    assert not (tmp_path / "feedback.sqlite3").exists()
    for i in range(1200):                                   # more ids than one statement takes
        store.record(f"id{i}", i % 2, question="F?", answer="S.")
    store.record("id7", None, question="F?", answer="S.")   # taken back
    found = store.ratings([f"id{i}" for i in range(1200)] + ["unknown"])
    assert len(found) == 1199 and found["id8"] == 0 and found["id9"] == 1 and "id7" not in found
