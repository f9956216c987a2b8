"""The meeting planner: composition, inputs, Markdown/JSON/Word output, the CLI and the page."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant import cli
from assistant.config import PROJECT_ROOT, Settings
from assistant.pipeline import Assistant
from assistant.planner import (
    Plan,
    PlanError,
    Planner,
    PlanRequest,
    agenda,
    length_label,
    parse_length,
)
from assistant.prompts import PLAN_PARTS
from assistant.text import collapse
from tests.conftest import REPORT, FakeEmbeddings, use_embedder
from ui import plan_view

APP = PROJECT_ROOT / "ui" / "app.py"
THEME = "Affärssamverkan inom fastighetsbranschen"


@pytest.fixture
def full_corpus(isolated_dirs):
    """The test corpus with the shipped figure card and case cards."""
    corpus = isolated_dirs / "corpus"
    for name in ("figures", "cases"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, corpus / name)
    return corpus


@pytest.fixture
def planner(full_corpus, settings, fake_embeddings):
    a = Assistant(settings, embeddings=fake_embeddings)
    a.ensure_index()
    return Planner(a)


def _quoted_lines(plan: Plan):
    return [line for s in plan.sections for line in s.lines if line.n is not None]


PART_HEADINGS = [f"{i}. {h}" for i, h in enumerate(PLAN_PARTS.values(), start=1)]


def test_the_plan_follows_the_model_and_quotes_the_report(planner):
    plan = planner.plan(PlanRequest(THEME, "Malmö", ("ASF", "fastighetsägare"), 30, 120))
    headings = [s.heading for s in plan.sections]
    assert [h for h in headings if h in PART_HEADINGS] == PART_HEADINGS
    assert headings[-1] == "Lärdomar från träffarna 2018"
    # Each part opens with the model's guiding question, cited to the figure card.
    figure = next(c for c in plan.citations if c.title.startswith("Figur 5"))
    for key in PLAN_PARTS:
        first = plan.section(key).lines[0]
        assert first.n == figure.n and "Vägledande fråga" in first.lead
    quoted = _quoted_lines(plan)
    assert len(quoted) >= 8
    by_n = {c.n: c for c in plan.citations}
    chunks = {c.chunk_id: c for c in planner.assistant.index.chunks()}
    for line in quoted:
        citation = by_n[line.n]
        passage = collapse(chunks[citation.chunk_id].text)
        # Fixed phrasing (the lead) may frame a quote; the quote is verbatim in the passage.
        for part in re.split(r"(?<=[.?!])\s+", line.text):
            assert collapse(part) in passage, part
        assert line.markdown().endswith(f"”{line.text}” [{line.n}]")
    assert [c.n for c in plan.citations] == list(range(1, len(plan.citations) + 1))


def test_the_plan_has_an_agenda_fitted_to_the_length_and_the_asked_groups(planner):
    plan = planner.plan(PlanRequest(THEME, "", ("kommun",), 40, 90))
    method = plan.section("metod")
    lines = [line.text for line in method.lines if line.kind == "agenda"]
    assert lines == agenda(90)
    assert lines[-1].split(" ", 1)[0].endswith("1:30")
    assert all(len(line.cells) == 3 for line in method.lines if line.kind == "agenda")
    assert any("Målgrupper ni har valt: kommun." == line.text
               for line in plan.section("malgrupp").lines)
    assert any(line.kind == "question" for line in method.lines)


def test_property_theme_brings_property_cases(planner):
    plan = planner.plan(PlanRequest(THEME, "Malmö"))
    cases = [line.lead for line in plan.section("malgrupp").lines if line.kind == "case"]
    assert cases and any(name in " ".join(cases) for name in ("Yalla Rinkeby", "Yalla Vårby",
                                                                "Basta Byggservice"))


def test_outputs_markdown_json_and_a_word_file_that_reads_back(planner):
    from docx import Document

    plan = planner.plan(PlanRequest(THEME, "Malmö", ("ASF",), 25, 180))
    md = plan.to_markdown()
    assert md.startswith(f"# Plan för nätverksträff: {THEME}\n")
    assert all(f"## {i}. {h}" in md for i, h in enumerate(PLAN_PARTS.values(), start=1))
    assert "## Källor" in md and re.search(r"\[\d+\]", md)
    data = plan.to_dict()
    assert [s["key"] for s in data["sections"] if s["key"] in PLAN_PARTS] == list(PLAN_PARTS)
    assert data["citations"][0]["n"] == 1
    json.dumps(data, ensure_ascii=False)
    doc = Document(io.BytesIO(plan.to_docx()))
    styles = [(p.style.name, p.text) for p in doc.paragraphs]
    assert ("Title", plan.title) in styles
    assert [t for s, t in styles if s == "Heading 1" and t in PART_HEADINGS] == PART_HEADINGS
    assert sum(s == "List Bullet" for s, _ in styles) >= 8
    sources = [t for s, t in styles if s == "List Number"]
    assert len(sources) == len(plan.citations) and sources[0].startswith("[1] ")
    assert doc.core_properties.title == plan.title


@pytest.mark.parametrize(("request_", "message"), [
    (PlanRequest("", "Malmö"), "Ange ett tema"),
    (PlanRequest("x" * 201), "Ange ett tema"),
    (PlanRequest(THEME, participants=0), "Antalet deltagare"),
    (PlanRequest(THEME, minutes=40 * 60), "Träffens längd"),
    (PlanRequest(THEME, minutes=10), "Träffens längd"),
    (PlanRequest(THEME, groups=("astronauter",)), "Okänd målgrupp"),
])
def test_bad_inputs_get_a_swedish_message(request_, message):
    with pytest.raises(PlanError, match=message):
        request_.checked()


@pytest.mark.parametrize(("text", "minutes"), [
    ("2 timmar", 120), ("90 min", 90), ("2h", 120), ("1,5 timmar", 90), ("halvdag", 210),
    ("heldag", 420), ("45", 45), ("3", 180)])
def test_lengths_are_read_as_people_write_them(text, minutes):
    assert parse_length(text) == minutes


def test_an_unreadable_length_is_refused():
    with pytest.raises(PlanError, match="går inte att läsa"):
        parse_length("lagom länge")
    assert length_label(90) == "1 timme 30 minuter" and length_label(120) == "2 timmar"


def test_cli_plan_writes_markdown_json_and_docx(full_corpus, capsys, tmp_path, monkeypatch):
    from docx import Document

    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    assert cli.main(["plan", "--tema", THEME, "--ort", "Malmö", "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Plan för nätverksträff") and "## 5. Uppföljning" in out
    assert cli.main(["plan", "--tema", THEME, "--format", "json", "--langd", "2 timmar"]) == 0
    assert json.loads(capsys.readouterr().out)["request"]["minutes"] == 120
    target = tmp_path / "plan.docx"
    assert cli.main(["plan", "--tema", THEME, "--format", "docx", "-o", str(target)]) == 0
    assert "Planen är sparad" in capsys.readouterr().err
    assert Document(str(target)).paragraphs[0].text.startswith("Plan för nätverksträff")


@pytest.mark.parametrize(("args", "message"), [
    (["--deltagare", "0"], "Antalet deltagare"),
    (["--langd", "40 timmar"], "Träffens längd"),
    (["--langd", "lagom"], "går inte att läsa"),
    (["--format", "docx"], "--output"),
])
def test_cli_plan_refuses_bad_inputs_before_loading_anything(capsys, monkeypatch, args, message):
    def no_model(settings):
        raise AssertionError("the model must not load for a bad input")

    use_embedder(monkeypatch, no_model)
    assert cli.main(["plan", "--tema", THEME, *args]) == 2
    assert message in capsys.readouterr().err


def test_report_themes_offered_by_the_page_are_the_reports_words():
    report = collapse(REPORT.read_text(encoding="utf-8"))
    for theme in plan_view.REPORT_THEMES:
        assert f"tema {theme}" in report


@pytest.fixture
def plan_page(full_corpus, monkeypatch):
    """The app on its planning page, with the fake embedder and a fresh process-wide cache."""
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    st.cache_resource.clear()
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    app.switch_page(plan_view.PAGE_PATH).run()
    return app


def test_the_page_makes_a_plan_with_sources_and_downloads(plan_page):
    app = plan_page
    assert not app.exception
    assert app.title[0].value == plan_view.PAGE_TITLE
    app.selectbox(key="plan-theme").set_value(THEME)
    app.text_input(key="plan-place").input("Malmö")
    app.multiselect(key="plan-groups").select("ASF").select("kommun")
    app.button[0].click().run()
    assert not app.exception and not app.error
    headers = [h.value for h in app.subheader]
    parts = [h.replace(".", "\\.") for h in PART_HEADINGS]
    assert [h for h in headers if h in parts] == parts
    assert app.table, "the agenda is a table"
    assert "Källor" in headers
    assert any(":blue-badge[" in m.value for m in app.markdown)
    plan = app.session_state["plan"]
    assert plan.request.groups == ("ASF", "kommun") and plan.request.place == "Malmö"
    assert len(app.expander) == len(plan.citations)
    planner = app.session_state["planner"]
    app.button[0].click().run()          # a second plan reuses the session's planner
    assert app.session_state["planner"] is planner and not app.exception


def test_the_page_shows_a_bad_input_as_a_swedish_message(plan_page):
    app = plan_page
    app.button[0].click().run()          # no theme chosen
    assert not app.exception
    assert "Ange ett tema" in app.error[0].value
    app.selectbox(key="plan-theme").set_value(THEME)
    app.number_input(key="plan-participants").set_value(0)
    app.button[0].click().run()
    assert "Antalet deltagare" in app.error[0].value


@pytest.mark.integration
def test_property_meeting_plan_with_the_real_model(real_embeddings, real_index_root,
                                                    monkeypatch):
    """The issue's example: five parts, 8+ cited statements, property cases, Rinkeby."""
    from docx import Document

    from eval.harness import DEFAULT, settings_for

    monkeypatch.setenv("ASF_CORPUS_DIR", str(PROJECT_ROOT / "corpus"))
    settings = settings_for(Settings(), DEFAULT, real_index_root / "shipped-corpus")
    assistant = Assistant(settings, embeddings=real_embeddings)
    assistant.ensure_index()
    plan = Planner(assistant).plan(PlanRequest(THEME, "Malmö"))
    md = plan.to_markdown()
    assert all(f"## {i}. {h}" in md for i, h in enumerate(PLAN_PARTS.values(), start=1))
    report_lines = [line for line in _quoted_lines(plan) if line.kind != "case"]
    assert len(report_lines) >= 8
    cases = " ".join(line.lead for line in plan.section("malgrupp").lines if line.kind == "case")
    assert "Yalla Rinkeby" in cases
    basis = plan.section("underlag")
    assert any("Rinkeby" in line.text for line in basis.lines)
    assert any("fastighetsbranschen" in line.text for line in basis.lines)
    lessons = plan.section("lardomar")
    assert any("för få personer var anmälda" in line.text for line in lessons.lines)
    assert not plan.note                       # the report knows this theme
    unknown = Planner(assistant).plan(PlanRequest("Kvantfysik för nybörjare"))
    assert "tar inte upp temat" in unknown.note
    headings = [p.text for p in Document(io.BytesIO(plan.to_docx())).paragraphs
                if p.style.name == "Heading 1"]
    assert [h for h in headings if h in PART_HEADINGS] == PART_HEADINGS


@pytest.mark.parametrize("minutes", range(30, 601, 5))
def test_every_agenda_item_has_time_and_the_items_fill_the_meeting(minutes):
    lines = agenda(minutes)
    spans = [re.match(r"(\d+):(\d\d)–(\d+):(\d\d) ", line).groups() for line in lines]
    starts = [int(h) * 60 + int(m) for h, m, _, _ in spans]
    ends = [int(h) * 60 + int(m) for _, _, h, m in spans]
    assert all(end - start >= 5 for start, end in zip(starts, ends, strict=True))
    assert starts[0] == 0 and ends[-1] == minutes and starts[1:] == ends[:-1]


@pytest.mark.parametrize(("args", "message"), [
    (["--malgrupp", "astronauter"], "Okänd målgrupp"),
    (["--deltagare", "tio"], "inget heltal"),
    (["--ort", "x" * 101], "högst 100 tecken"),
])
def test_cli_plan_says_in_swedish_what_is_wrong(capsys, monkeypatch, args, message):
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    assert cli.main(["plan", "--tema", THEME, *args]) == 2
    assert message in capsys.readouterr().err


def test_persona_eval_of_no_items_asks_nothing():
    from eval.persona import evaluate_persona

    metrics, results = evaluate_persona(object(), [])   # type: ignore[arg-type]
    assert results == [] and metrics["overall"]["items"] == 0
