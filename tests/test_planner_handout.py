"""The meeting plan as an advisor's handout: the report's meetings it draws on (theme and
place), the template sections, the Word file, quotes shown once, the model asked once."""

from __future__ import annotations

import io
import re
import shutil

import pytest

from assistant import cli
from assistant.config import PROJECT_ROOT, Settings
from assistant.pipeline import Assistant
from assistant.planner import FIXED_TOPICS, Planner, PlanRequest, is_plan_stub
from assistant.prompts import (
    MSG_PLAN_CACHED,
    MSG_PLAN_COMPOSING,
    MSG_PLAN_MODEL,
    MSG_PLAN_OPENING,
    PLAN_AUTHOR,
)
from assistant.text import collapse
from tests.conftest import FakeEmbeddings, use_embedder

THEME = "Affärssamverkan inom fastighetsbranschen"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class CountingEmbeddings(FakeEmbeddings):
    """The fake embedder, counting the texts embedded as questions and the calls."""

    def __init__(self) -> None:
        super().__init__()
        self.query_texts: list[str] = []
        self.query_calls = 0

    def embed_query(self, text: str) -> list[float]:
        self.query_texts.append(text)
        self.query_calls += 1
        return super().embed_query(text)

    def embed_queries(self, texts: list[str]) -> list[list[float]]:
        self.query_texts += texts
        self.query_calls += 1
        return [FakeEmbeddings.embed_query(self, t) for t in texts]


@pytest.fixture
def full_corpus(isolated_dirs):
    corpus = isolated_dirs / "corpus"
    for name in ("figures", "cases"):
        shutil.copytree(PROJECT_ROOT / "corpus" / name, corpus / name)
    return corpus


@pytest.fixture
def counting():
    return CountingEmbeddings()


@pytest.fixture
def assistant_(full_corpus, settings, counting):
    a = Assistant(settings, embeddings=counting)
    a.ensure_index()
    return a


def _quoted_sentences(plan):
    return [collapse(p) for s in plan.sections for line in s.lines if line.n is not None
            for p in re.split(r"(?<=[.?!])\s+", line.text)]


@pytest.mark.parametrize(("text", "stub"), [
    ("Peter Karlsson, tillträdande kommunalråd.", True),
    ("Tomas Ek, Carbex AB.", True),
    ("• Peter Karlsson, tillträdande kommunalråd.", True),
    ("Johnny Bergström, enhetschef Basta Byggservice och Mari Odenbjörk Social Trade.", True),
    ("Följande aktörer medverkade:", True),
    ("Företagsfrämjande aktörer deltog även.", True),
    ("Det framkom på träffen att fastighetsbolagen ligger i framkant med att arbeta med "
     "social inkludering.", False),
    ("Sweco uppfattar att en framgångsfaktor i de genomförda nätverksträffarna var att hitta "
     "”rätt” målgrupp.", False),
    ("Den andra träffen genomfördes den 31 oktober hos Företagarna i Västerås.", False),
])
def test_name_title_lines_and_short_pieces_are_not_plan_statements(text, stub):
    assert is_plan_stub(text) is stub


def test_a_plan_shows_each_quoted_sentence_once_and_no_fragments(assistant_):
    for theme, place in ((THEME, "Västerås"), ("Lokal samverkan", "Vadstena"),
                         ("Kompetensförsörjning", "")):
        plan = Planner(assistant_).plan(PlanRequest(theme, place))
        sentences = _quoted_sentences(plan)
        assert len(sentences) == len(set(sentences)), [s for s in sentences
                                                       if sentences.count(s) > 1]
        # The model's guiding questions are short by nature; every statement reads alone.
        statements = [collapse(p) for s in plan.sections for line in s.lines
                      if line.n is not None and line.kind != "text"
                      for p in re.split(r"(?<=[.?!])\s+", line.text)]
        assert not [s for s in statements if is_plan_stub(s)]
        # Every source is cited by a line, numbered 1, 2, …
        cited = {line.n for s in plan.sections for line in s.lines if line.n is not None}
        assert [c.n for c in plan.citations] == sorted(cited) == list(range(1, len(cited) + 1))
        bullets = [line.markdown() for s in plan.sections for line in s.lines
                   if line.kind != "text"]
        assert len(bullets) == len(set(bullets))


def test_the_place_picks_the_meeting_held_there_by_name(assistant_):
    plan = Planner(assistant_).plan(PlanRequest("Lokal samverkan", "Västerås"))
    at_place = [m for m in plan.meetings if m.by_place]
    assert [m.place for m in at_place] == ["Västerås"]
    assert "Västerås" in plan.basis() and "samma ort" in plan.basis()
    basis = plan.section("underlag")
    assert any(line.kind == "text" and "Västerås" in line.text for line in basis.lines)
    assert any("31 oktober hos Företagarna i Västerås" in line.text for line in basis.lines)
    # A case card at the place is offered as host, quoted from the report.
    hosts = [line for line in plan.section("uppgifter").lines if line.kind == "host"]
    assert hosts and "Företagarna" in hosts[0].lead and hosts[0].n is not None
    assert plan.to_dict()["meetings"][0]["by_place"] in (True, False)


def test_another_place_and_theme_are_matched_by_the_cards_and_the_meeting_names(assistant_):
    # Vadstena held a meeting (its section's heading); Jönköping held none, but a case card
    # is there; a place the report never names gets neither.
    vadstena = Planner(assistant_).plan(PlanRequest("Kompetensförsörjning", "Vadstena kommun"))
    assert [m.place for m in vadstena.meetings if m.by_place] == ["Vadstena"]
    jonkoping = Planner(assistant_).plan(PlanRequest("Kompetensförsörjning", "Jönköping"))
    assert not [m for m in jonkoping.meetings if m.by_place]
    hosts = [line.lead for line in jonkoping.section("uppgifter").lines if line.kind == "host"]
    assert any("Stickans" in h for h in hosts)
    nowhere = Planner(assistant_).plan(PlanRequest("Kompetensförsörjning", "Kiruna"))
    assert not [m for m in nowhere.meetings if m.by_place]
    assert not [line for line in nowhere.section("uppgifter").lines if line.kind == "host"]


def test_the_handout_has_fields_invitation_roles_checklist_follow_up_and_evaluation(
        assistant_):
    plan = Planner(assistant_).plan(PlanRequest(THEME, "Västerås", ("ASF",), 30, 120))
    keys = [s.key for s in plan.sections]
    for key in ("uppgifter", "underlag", "inbjudan", "roller", "checklista", "efter",
                "utvardering", "metod"):
        assert key in keys
    text = plan.to_markdown()
    for word in ("Datum:", "Värd:", "Ort och lokal: Västerås", "Moderator", "Antecknare",
                 "Talare från ett ASF", "Talare från ett företag", "Lokal:", "Anmälan:",
                 "Mat och fika", "Tillgänglighet", "Minnesanteckningar", "Kontaktlista",
                 "Nästa steg", "| Tid | Punkt | Ansvarig |"):
        assert word in text, word
    # What the assistant writes itself is marked as a template; the report's words are
    # quoted with their source.
    for key in ("uppgifter", "inbjudan", "roller", "checklista", "efter", "utvardering"):
        assert plan.section(key).lines[0].text.startswith("Mall:")
        assert all(line.n is None for line in plan.section(key).lines
                   if line.kind == "template")
    assert all(line.markdown().startswith(line.lead + "”") for s in plan.sections
               for line in s.lines if line.n is not None)


def test_the_word_file_is_a4_swedish_with_properties_agenda_table_and_page_numbers(
        assistant_):
    from docx import Document

    plan = Planner(assistant_).plan(PlanRequest(THEME, "Västerås", ("ASF",), 25, 180))
    doc = Document(io.BytesIO(plan.to_docx()))
    for section in doc.sections:
        assert abs(section.page_width.mm - 210) < 0.5 and abs(section.page_height.mm - 297) < 0.5
        footer = section.footer._element.xml
        assert "PAGE" in "".join(t.text or "" for t in section.footer._element.iter(
            f"{W}instrText")), footer
    for name in ("Normal", "Heading 1", "List Bullet", "Title"):
        lang = doc.styles[name].element.find(f"{W}rPr/{W}lang")
        assert lang is not None and lang.get(f"{W}val") == "sv-SE", name
    props = doc.core_properties
    assert props.title == plan.title and props.author == PLAN_AUTHOR == "ASF-assistenten"
    assert len(doc.tables) == 1
    table = doc.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["Tid", "Punkt", "Ansvarig"]
    agenda = [line for line in plan.section("metod").lines if line.kind == "agenda"]
    assert [tuple(c.text for c in row.cells) for row in table.rows[1:]] == [
        line.cells for line in agenda]
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert len(bullets) == len(set(bullets))
    assert not any("Peter Karlsson" in b or "Sammanlagt genomfördes" in b and
                   bullets.count(b) > 1 for b in bullets)


def test_the_model_is_asked_once_for_a_new_theme_and_not_for_one_planned_before(
        assistant_, counting):
    Planner(assistant_).plan(PlanRequest(THEME, "Västerås"))
    assert counting.query_calls == 1                       # one batched call …
    assert sorted(counting.query_texts) == sorted({THEME, *FIXED_TOPICS})   # … for all texts
    counting.query_texts.clear()
    counting.query_calls = 0
    # A new planner (as a new `asf plan` process) reads the vectors kept on disk.
    Planner(assistant_).plan(PlanRequest(THEME, "Malmö", participants=40))
    assert counting.query_calls == 0
    Planner(assistant_).plan(PlanRequest("Lokal samverkan", "Vadstena"))
    assert counting.query_texts == ["Lokal samverkan"] and counting.query_calls == 1


def test_a_data_folder_that_cannot_be_written_still_gives_a_plan(assistant_, counting,
                                                                  monkeypatch):
    planner = Planner(assistant_)
    planner.vectors.path = assistant_.settings.data_dir / "no-such-dir" / "x" / "v.npz"
    (assistant_.settings.data_dir / "no-such-dir").write_text("a file, not a folder")
    plan = planner.plan(PlanRequest(THEME, "Västerås"))
    assert plan.sections and counting.query_calls == 1


def test_cli_plan_says_in_swedish_what_it_is_doing(full_corpus, capsys, monkeypatch):
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    assert cli.main(["plan", "--tema", THEME, "--ort", "Västerås"]) == 0
    captured = capsys.readouterr()
    for line in (MSG_PLAN_OPENING, MSG_PLAN_MODEL, MSG_PLAN_COMPOSING):
        assert line in captured.err
    assert "Planen bygger på rapportens träff" in captured.out
    assert cli.main(["plan", "--tema", THEME]) == 0
    assert MSG_PLAN_CACHED in capsys.readouterr().err


@pytest.mark.integration
def test_theme_and_place_pick_the_reports_meetings_with_the_real_model(
        real_embeddings, real_index_root, monkeypatch):
    """Issue 25: cleaning for property companies in Västerås draws on the Rinkeby meeting
    (the property sector) and the Västerås one (the place), not Vadstena; another theme and
    place pick by the same rules; a theme the report does not treat gets none."""
    from eval.harness import DEFAULT, settings_for

    monkeypatch.setenv("ASF_CORPUS_DIR", str(PROJECT_ROOT / "corpus"))
    settings = settings_for(Settings(), DEFAULT, real_index_root / "shipped-corpus")
    assistant = Assistant(settings, embeddings=real_embeddings)
    assistant.ensure_index()
    planner = Planner(assistant)
    plan = planner.plan(PlanRequest("Städtjänster åt fastighetsbolag", "Västerås"))
    assert [(m.place, m.by_theme, m.by_place) for m in plan.meetings] == [
        ("Rinkeby", True, False), ("Västerås", False, True)]
    assert not plan.note
    assert "Rinkeby (närmast temat)" in plan.basis()
    sentences = _quoted_sentences(plan)
    assert len(sentences) == len(set(sentences))
    assert not any("Peter Karlsson" in s for s in sentences)
    rural = planner.plan(PlanRequest("Lokal samverkan på landsbygden", "Motala"))
    assert [(m.place, m.by_theme, m.by_place) for m in rural.meetings] == [
        ("Vadstena", True, False)]
    hr = planner.plan(PlanRequest("HR och rekrytering", ""))
    assert [m.place for m in hr.meetings] == ["Västerås"]
    unknown = planner.plan(PlanRequest("Kvantfysik för nybörjare", "Västerås"))
    assert [(m.place, m.by_theme) for m in unknown.meetings] == [("Västerås", False)]
    assert "tar inte upp temat" in unknown.note
