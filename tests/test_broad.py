"""Broad answers: question analysis, sections as units, figure cards, follow-ups, JSON requests."""

from __future__ import annotations

import io
import json
import os
import re
import shutil

import pytest

from assistant import cli
from assistant.answering.routes import previous_sentences
from assistant.cases.cards import load_corpus_document
from assistant.cases.catalog import INDUSTRIES
from assistant.config import PROJECT_ROOT, Settings
from assistant.ingest.figures import check_figure_quotes, is_figure_file, load_figure
from assistant.pipeline import Assistant
from assistant.prompts import BROAD_MORE_HEADING, ERR_JSON_REQUEST
from assistant.retrieval.question import analyse
from assistant.text import collapse, split_sentences
from assistant.types import IngestError
from tests.conftest import REPORT, FakeEmbeddings, use_embedder

FIGURES = PROJECT_ROOT / "corpus" / "figures"
_INDUSTRIES = {label: pattern for label, (pattern, _) in INDUSTRIES.items()}


def _quoted(answer: str) -> list[str]:
    """Return the quoted pieces of an answer: its lines without markers, bullets, headings."""
    text = re.sub(r"\s*\[\d+\]", "\n", answer)
    return [line.strip().removeprefix("- ") for line in text.split("\n")
            if line.strip() and not line.strip().endswith(":")]


# --------------------------------------------------------------------------- analysis


@pytest.fixture
def assistant(shared_assistant):
    """These tests only ask and read: one index for the module (conftest's is per test)."""
    return shared_assistant


@pytest.mark.parametrize(("question", "kind", "asks"), [
    ("vem ska ansvara för kontakten?", "broad", None),
    ("Vem ledde träffen i Vadstena?", "fact", "name"),
    ("Hur många intervjuer genomfördes i kartläggningen?", "fact", "count"),
    ("När ägde träffen i Vadstena rum?", "fact", "date"),
    ("Vi är ett medelstort byggföretag i Göteborg som vill börja köpa tjänster av ett ASF. "
     "Var ska vi börja?", "broad", None),
    ("Hur ska vi som ASF prissätta våra tjänster mot större företag?", "broad", None),
    ("Jag ska hålla en workshop för företag och ASF i min kommun. Hur bör jag lägga upp den?",
     "broad", None),
    ("Vilka exempel finns från fastighetsbranschen?", "examples", None),
    ("Skiljer sig drivkrafterna mellan stora och små företag?", "comparison", None),
    ("What are the key success factors for working with a social enterprise?", "broad", None),
    ("Vilka delar har modellen för planering av nätverksträffar?", "list", None),
    ("Hur mycket ska vi ta betalt av företagskunder?", "broad", None),
    ("How much should we charge our business customers?", "broad", None),
    ("Hur mycket betalade Volvo för tjänsten?", "fact", "amount"),
    # Told first, then asked: about the asker's situation, whatever the question word.
    ("Vår största kund står för två tredjedelar av omsättningen. Är det riskabelt?", "broad",
     None),
    ("Vi säljer mest till kommunen just nu. Hur många ASF samarbetar med kommuner?", "broad",
     None),
    ("I studien ingick flera ASF. Hur många intervjuer genomfördes?", "fact", "count"),
])
def test_question_kinds(question, kind, asks):
    analysis = analyse(question, _INDUSTRIES)
    assert (analysis.kind, analysis.asks) == (kind, asks)


def test_the_askers_situation_is_read_from_the_question():
    situation = analyse("Vi är ett medelstort fastighetsbolag i Malmö. Hur börjar vi köpa av "
                        "ett ASF?", _INDUSTRIES).situation
    assert situation.industry == ("fastighet",)
    assert situation.place == "Malmö"
    assert situation.role == "company"
    assert situation.size == "medelstort"
    assert analyse("Jag ska hålla en workshop i min kommun om ASF.", _INDUSTRIES
                   ).situation.role == "advisor"
    assert analyse("Vi driver ett ASF inom städ. Hur hittar vi kunder?", _INDUSTRIES
                   ).situation.role == "asf"
    assert not analyse("Vad är ett IOP?", _INDUSTRIES).situation
    # Municipal staff named by title or workplace, not only by a workshop they plan.
    for question in ("Jag är näringslivschef i en liten kommun. Ska vi bjuda in ASF?",
                     "Jag jobbar på kommunens näringslivsenhet. Hur kan vi stötta ASF?"):
        assert analyse(question, _INDUSTRIES).situation.role == "advisor"
    assert analyse("Vi är ett fastighetsbolag i en kommun i Norrland.", _INDUSTRIES
                   ).situation.role == "company"


# --------------------------------------------------------------------------- figure cards

def test_every_figure_card_field_is_a_verbatim_quote_of_the_report():
    report = REPORT.read_text(encoding="utf-8")
    cards = sorted(FIGURES.glob("*.yaml"))
    assert cards, "no figure cards shipped"
    for path in cards:
        figure = load_figure(path)
        assert check_figure_quotes(figure, report) == [], path.name
    model = load_figure(FIGURES / "planeringsmodell.yaml")
    assert [p.label.split()[0] for p in model.parts] == [
        "Syfte", "Resultat", "Målgrupp", "Metod", "Uppföljning"]


def test_a_changed_figure_quote_is_caught(tmp_path):
    text = (FIGURES / "planeringsmodell.yaml").read_text(encoding="utf-8")
    path = tmp_path / "fel.yaml"
    path.write_text(text.replace("Hur ska mötet dokumenteras?", "Hur ska mötet filmas?"),
                    encoding="utf-8")
    assert check_figure_quotes(load_figure(path), REPORT.read_text(encoding="utf-8")) == [
        "parts[5].text"]


@pytest.mark.parametrize(("content", "field"), [
    ("figure: Figur 9\nsection: X\n", "parts"),
    ("figure: Figur 9\nsection: X\nparts:\n  - label: A\n", "parts[1].text"),
    ("figure: ''\nsection: X\nparts:\n  - {label: A, text: B}\n", "figure"),
])
def test_a_bad_figure_card_names_the_file_and_the_field(tmp_path, content, field):
    path = tmp_path / "kort.yaml"
    path.write_text(content, encoding="utf-8")
    assert is_figure_file(path)
    with pytest.raises(IngestError) as err:
        load_corpus_document(path)
    assert "kort.yaml" in str(err.value) and field in str(err.value)


def test_a_card_file_is_read_again_when_it_changes(tmp_path):
    # What kind of card a YAML file is, is remembered per file version (every question asks
    # it of every corpus file): a change of size or of time alone is seen.
    path = tmp_path / "kort.yaml"
    path.write_text("name: Ett fall\n", encoding="utf-8")
    assert not is_figure_file(path)
    path.write_text("figure: Figur 9\n", encoding="utf-8")
    assert is_figure_file(path)
    stamp = path.stat().st_mtime_ns
    path.write_text("section: Figur9\n", encoding="utf-8")       # the same size
    os.utime(path, ns=(stamp + 1_000_000_000, stamp + 1_000_000_000))
    assert not is_figure_file(path)
    path.unlink()
    assert not is_figure_file(path)


def test_the_figure_is_indexed_as_one_list_in_its_section(tmp_path):
    document = load_corpus_document(FIGURES / "planeringsmodell.yaml")
    [block] = document.blocks
    assert block.section == "Nätverksträffar › Framtida arbetsmodell"
    lines = block.text.split("\n")
    assert lines[0].endswith(":") and len(lines) == 6
    assert all(line.startswith("- ") for line in lines[1:])


# --------------------------------------------------------------------------- answers

@pytest.fixture
def with_figures(isolated_dirs):
    shutil.copytree(FIGURES, isolated_dirs / "corpus" / "figures")


def test_a_broad_question_gets_points_from_other_sections_each_cited(assistant):
    answer = assistant.ask("Vi är ett företag som vill börja köpa tjänster av ett ASF. "
                           "Hur ska vi gå till väga och vad ska vi tänka på?")
    assert not answer.refused
    assert BROAD_MORE_HEADING in answer.answer
    extra = answer.answer.split(BROAD_MORE_HEADING, 1)[1]
    points = [line for line in extra.split("\n") if line.startswith("- ")]
    assert 1 <= len(points) <= Settings().answer.broad_extra_points
    # A point that announces something (ends with ":") carries its list right below it.
    lines = extra.split("\n")
    for i, line in enumerate(lines):
        if re.search(r": \[\d+\]$", line):
            assert i + 1 < len(lines) and lines[i + 1].startswith("  - "), line
    assert all(re.search(r"\[\d+\]$", p) for p in points)
    cited = " ".join(collapse(assistant.retriever.chunk(c.chunk_id).text)
                     for c in answer.citations)
    for piece in _quoted(answer.answer):
        for sentence in split_sentences(piece):
            assert sentence in cited, sentence
    sections = {c.section for c in answer.citations}
    assert len(sections) >= 2


def test_a_fact_question_keeps_the_single_passage_answer(assistant):
    answer = assistant.ask("Hur många intervjuer genomfördes inom ramen för undersökningen?")
    assert BROAD_MORE_HEADING not in answer.answer and "45" in answer.answer


def test_the_figure_card_is_indexed_with_its_sentences_for_broad_answers(with_figures,
                                                                         settings):
    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    assistant.ensure_index()
    [chunk] = [c for c in assistant.index.chunks() if c.source.endswith("planeringsmodell.yaml")]
    assert chunk.section == "Nätverksträffar › Framtida arbetsmodell"
    assert "- Uppföljning: Hur ska mötet dokumenteras?" in chunk.text
    topics = assistant.retriever.topics()
    parts = [s.unit.text for s in topics.sentences if s.chunk.chunk_id == chunk.chunk_id]
    assert "Uppföljning: Hur ska mötet dokumenteras?" in parts
    assert all(c.name != "Figur 5" for c in assistant.catalog)   # not read as a case card
    assert not assistant.catalog.errors


def test_a_follow_up_does_not_repeat_the_previous_answer(assistant):
    first = assistant.ask("Vad gör Le Mat Jonsered?")
    history = [{"role": "user", "content": "Vad gör Le Mat Jonsered?"},
               {"role": "assistant", "content": first.answer}]
    second = assistant.ask("Vilka samarbetar de med?", history)
    assert not second.refused
    assert second.answer != first.answer
    said = previous_sentences(history)
    new = [p for p in _quoted(second.answer) if p not in said]
    assert new, "the follow-up quotes nothing new"


def test_previous_sentences_read_every_assistant_turn():
    history = [{"role": "user", "content": "A?"},
               {"role": "assistant", "content": "Första meningen. Andra meningen. [1]"},
               {"role": "user", "content": "B?"},
               {"role": "assistant", "content": "Intro:\n- Tredje meningen. [2]"}]
    assert {"Första meningen.", "Andra meningen.", "Tredje meningen."} <= \
        previous_sentences(history)
    assert previous_sentences([{"role": "user", "content": "Bara en fråga."}]) == frozenset()


# --------------------------------------------------------------------------- JSON requests

def test_ask_json_lines_accept_a_conversation_as_a_json_object(capsys, monkeypatch):
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    cli.main(["ingest"])
    capsys.readouterr()
    first = "Vad gör Le Mat Jonsered?"
    cli.main(["ask", "--json", first])
    earlier = json.loads(capsys.readouterr().out)["answer"]
    request = {"question": "Vilka samarbetar de med?",
               "history": [{"role": "user", "content": first},
                           {"role": "assistant", "content": earlier}]}
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO((
        json.dumps(request, ensure_ascii=False) + "\n{\"question\": 3}\n{trasig\n"
        "Vad är ett IOP?\n").encode()), encoding="utf-8"))
    assert cli.main(["ask", "--json", "-"]) == 2
    objs = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert objs[0]["question"] == "Vilka samarbetar de med?"
    assert objs[0]["answer"] != earlier and not objs[0]["refused"]
    assert objs[1]["error"] == ERR_JSON_REQUEST and objs[2]["error"] == ERR_JSON_REQUEST
    assert objs[3]["question"] == "Vad är ett IOP?" and not objs[3]["refused"]


# --------------------------------------------------------------------------- facts and checks

def _passage(text: str, seq: int = 0):
    from assistant.types import Chunk, Passage

    chunk = Chunk(chunk_id=f"c{seq}", source="r.txt", title="R", section_path=("A",), page=None,
                  text=text, indexed_text=text, seq=seq)
    return Passage(chunk=chunk, score=1.0)


def test_a_count_question_leads_with_the_whole_before_a_part():
    from assistant.answering.extractive import _total_count

    passages = [_passage("Inledningsvis genomfördes 20 sonderande intervjuer med ASF."),
                _passage("Det var bra. 45 intervjuer genomfördes inom ramen för undersökningen.",
                         1)]
    total = _total_count("Hur många intervjuer genomfördes?", passages)
    assert total is not None and total.text.startswith("45 intervjuer")
    # Without a part to confuse it with, the best-matching sentence leads as before.
    assert _total_count("Hur många intervjuer genomfördes?", passages[1:]) is None
    assert _total_count("Vad är ett IOP?", passages) is None


def test_an_advice_question_about_time_needs_no_number():
    from assistant.answering.answerability import missing_answer_type

    question = "Hur lång leveranstid ska man räkna med från ett socialt företag?"
    text = "Det kan ta längre tid för ett ASF att leverera."
    assert missing_answer_type(question, text, text) is not None
    assert missing_answer_type(question, text, text, quantities=False) is None
    money = "Vad kostar det per timme att anlita ett ASF?"
    assert missing_answer_type(money, text, text, quantities=False) is not None


def test_a_majority_is_not_a_count_of_the_asked_noun():
    from assistant.answering.answerability import missing_answer_type

    question = "Hur många arbetsintegrerande sociala företag finns det i Sverige?"
    text = "En majoritet av de arbetsintegrerande sociala företagen samarbetar med kommunen."
    assert missing_answer_type(question, text, text) is not None
    assert missing_answer_type(question, "Det finns 300 arbetsintegrerande sociala företag.",
                               text) is None


def test_a_buying_company_gets_a_point_about_its_own_industry(assistant):
    answer = assistant.ask("Vi är ett fastighetsbolag i Malmö. Hur kommer vi igång med att "
                           "köpa tjänster av ett ASF och vad ska vi tänka på?")
    assert not answer.refused and BROAD_MORE_HEADING in answer.answer
    points = answer.answer.split(BROAD_MORE_HEADING, 1)[1].strip().split("\n")
    # The sector's point comes first, and names the sector among its first words.
    first = points[0].removeprefix("- ")
    assert re.search(r"fastighet", " ".join(first.split()[:10]), re.IGNORECASE), first


def test_a_cut_quotation_is_not_a_point():
    from assistant.text import is_fragment

    assert is_fragment("Matchning mellan vad de kan och vi behöver.”")
    assert not is_fragment("En företrädare menar att: ”Det gäller att leverera med tider.”")
    assert not is_fragment("Det är viktigt att det finns en kontaktperson.")


def test_a_fact_follow_up_may_quote_what_an_earlier_answer_said(assistant):
    question = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
    first = assistant.ask(question)
    history = [{"role": "user", "content": question},
               {"role": "assistant", "content": first.answer}]
    again = assistant.ask(question, history)
    assert "45" in again.answer and not again.refused


def test_broad_questions_are_answered_with_bm25_alone(settings, fake_embeddings):
    bm25 = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(
        update={"mode": "bm25"})})
    assistant = Assistant(bm25, embeddings=fake_embeddings)
    assistant.ensure_index()
    answer = assistant.ask("Vi är ett företag som vill börja köpa tjänster av ett ASF. Hur ska "
                           "vi gå till väga och vad ska vi tänka på?")
    assert not answer.refused


def test_a_year_is_not_a_count():
    from assistant.answering.extractive import _total_count

    passages = [_passage("Inledningsvis genomfördes 20 sonderande intervjuer med ASF."),
                _passage("Under 2019 intervjuer hölls det flera.", 1)]
    assert _total_count("Hur många intervjuer genomfördes?", passages) is None


def test_points_never_repeat_what_the_first_part_quotes(assistant):
    answer = assistant.ask("Vi är ett företag som vill börja köpa tjänster av ett ASF. "
                           "Hur ska vi gå till väga och vad ska vi tänka på?")
    first, _, rest = answer.answer.partition(BROAD_MORE_HEADING)
    said = {s for s in split_sentences(re.sub(r"\s*\[\d+\]", "", first))}
    for line in rest.split("\n"):
        for sentence in split_sentences(re.sub(r"\s*\[\d+\]|^\s*-\s*", "", line)):
            assert sentence not in said, sentence


@pytest.fixture
def with_cases(isolated_dirs, settings):
    """An Assistant over the report and the case cards, indexed with the fake embedder."""
    shutil.copytree(PROJECT_ROOT / "corpus" / "cases", isolated_dirs / "corpus" / "cases")
    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    assistant.ensure_index()
    return assistant


def test_no_case_is_attached_for_an_industry_no_card_has(with_cases):
    from assistant.prompts import BROAD_EXAMPLES_HEADING

    assistant = with_cases
    textile = assistant.ask("Vi är ett textilföretag. Hur kommer vi igång med att köpa "
                            "tjänster av ett ASF och vad ska vi tänka på?")
    assert BROAD_EXAMPLES_HEADING not in textile.answer
    property_ = assistant.ask("Vi är ett fastighetsbolag. Hur kommer vi igång med att köpa "
                              "tjänster av ett ASF och vad ska vi tänka på?")
    examples = property_.answer.split(BROAD_EXAMPLES_HEADING)[-1]
    assert BROAD_EXAMPLES_HEADING in property_.answer
    cards = {c.name for c in assistant.catalog if "fastighet" in " ".join(
        c.values("industry")).lower() or any("fastighet" in q.lower() for q in c.quotes())}
    assert any(name in examples for name in cards)


def test_a_case_found_by_industry_shows_the_sentence_that_names_it(with_cases):
    # Stickans Bokföring och event is a cleaning case by its events work; shown by its
    # summary (bookkeeping and events), it read as padding under a question on cleaning.
    from assistant.prompts import BROAD_EXAMPLES_HEADING

    answer = with_cases.ask("Vi behöver städning av våra kontor. Hur kommer vi igång med att köpa "
                           "tjänster av ett ASF och vad ska vi tänka på?")
    assert BROAD_EXAMPLES_HEADING in answer.answer
    examples = [line for line in answer.answer.split(BROAD_EXAMPLES_HEADING)[-1].split("\n")
                if line.startswith("- ")]
    assert examples and all("städ" in line.lower() for line in examples)


def test_a_sentence_inside_an_interviewees_quotation_is_not_read_alone():
    from assistant.text import inside_quotation

    passage = ("Inledning utan citat.\n”Man skulle kunna formalisera sådana samarbeten. Men jag "
               "är lite kluven till det. Då ställs det högre krav.” Efter citatet fortsätter "
               "texten.")
    assert inside_quotation(passage, "Men jag är lite kluven till det.")
    assert inside_quotation(passage, "Då ställs det högre krav.”") is True
    assert not inside_quotation(passage, "Efter citatet fortsätter texten.")
    assert not inside_quotation(passage, "Inledning utan citat.")
    assert not inside_quotation(passage, "”Man skulle kunna formalisera sådana samarbeten.")


# --------------------------------------------------------------------------- subsections, roles

def test_a_list_under_a_heading_in_an_earlier_headings_form_is_its_own_section(assistant):
    # The reader files it there (see tests/test_ingest.py), so citations and the broad
    # answer's one point per section agree.
    topics = assistant.retriever.topics()
    by_heading = {s.heading: s for s in topics.sections}
    public = by_heading["Rekommendationer till offentliga aktörer och företagsfrämjare"]
    assert public.path[:-1] == ("Sammanfattande analys och rekommendationer",
                                "Marknadsföring och försäljning är viktigt")
    texts = [topics.sentences[r].unit.text for r in public.sentences]
    assert len(texts) == 2
    assert all(t.startswith("Offentliga aktörer och företagsfrämjare") for t in texts)
    assert all(topics.sentences[r].section == topics.sections.index(public)
               for r in public.sentences)
    # A lead-in that points forward is a sentence, not a heading.
    assert "Följande aktörer medverkade" not in by_heading
    assert topics.section_matrix.shape[0] == len(topics.sections)


def test_a_section_addressed_to_the_askers_group_is_ranked_higher(assistant):
    question = "Vad kan vi som kommun göra för att ASF ska få fler kunder?"
    analysis = assistant.analyse(question, question)
    assert analysis.situation.role == "advisor"
    retrieval = assistant.retriever.search(question)
    topics = assistant.retriever.topics()
    broad = assistant.broad
    plain = broad.section_scores(question, retrieval, topics)
    steered = broad.section_scores(question, retrieval, topics,
                                   broad._signals(question, retrieval, topics, analysis))
    heading = [s.heading for s in topics.sections]
    public = heading.index("Rekommendationer till offentliga aktörer och företagsfrämjare")
    assert steered[public] == pytest.approx(plain[public] + broad.shape.w_addressed)
    assert steered[heading.index("Kartläggningens analysmodell")] == pytest.approx(
        plain[heading.index("Kartläggningens analysmodell")])


def test_a_section_addressed_to_the_askers_group_is_drawn_from_even_below_the_first(
        assistant, monkeypatch):
    from dataclasses import replace

    question = "Vad kan vi som kommun göra för att ASF ska få fler kunder?"
    analysis = assistant.analyse(question, question)
    retrieval = assistant.retriever.search(question)
    topics = assistant.retriever.topics()
    broad = assistant.broad
    heading = [s.heading for s in topics.sections]
    public = heading.index("Rekommendationer till offentliga aktörer och företagsfrämjare")
    # One section only, and the addressed one is not the best by the question alone.
    monkeypatch.setattr(broad, "shape", broad.shape.model_copy(
        update={"sections": 1, "min_section_share": 0.0}))
    assert int(broad.section_scores(question, retrieval, topics).argmax()) != public
    points = broad.select_by_section(question, retrieval, analysis)
    assert {p.sentence.section for p in points} == {public}
    assert all(p.situation for p in points)     # shown first
    unaddressed = broad.select_by_section(question, retrieval, replace(
        analysis, situation=replace(analysis.situation, role=None)))
    assert public not in {p.sentence.section for p in unaddressed}
    assert not any(p.situation for p in unaddressed)


# --------------------------------------------------------------------------- planning model

@pytest.mark.parametrize(("question", "meeting"), [
    ("Jag ska hålla en workshop för företag och ASF i min kommun. Hur bör jag lägga upp den?",
     True),
    ("Hur planerar jag en frukostträff med lokala företagare?", True),
    ("I'm organising a networking event for social enterprises. How should I plan it?", True),
    ("Vad gör Koopus?", False),
    ("Vilka utmaningar finns med kommunikationen?", False),
])
def test_a_question_about_planning_a_meeting_is_recognised(question, meeting):
    assert analyse(question, _INDUSTRIES).meeting is meeting


def test_a_meeting_planning_question_gets_the_planning_model(with_figures, settings):
    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    assistant.ensure_index()
    answer = assistant.ask("Jag ska hålla en workshop för företag och ASF i min kommun. "
                           "Hur bör jag lägga upp den?")
    assert not answer.refused
    assert "- Syfte med mötet: Formulera syftet med mötet, träffen eller workshopen" in \
        answer.answer
    assert "- Uppföljning: Hur ska mötet dokumenteras?" in answer.answer
    [figure] = [c for c in answer.citations if c.source.endswith("planeringsmodell.yaml")]
    assert "Uppföljning: Hur ska mötet dokumenteras?" in figure.quote
    # The model comes first among the points, each part once.
    points = answer.answer.split("Figur 5 Modell för planering av nätverksträffar:", 1)
    assert len(points) == 2 and answer.answer.count("Uppföljning:") == 1
    other = assistant.ask("Vilka utmaningar finns med kommunikationen?")
    assert "Uppföljning:" not in other.answer


def test_an_asf_asking_for_customers_gets_how_cases_got_theirs(isolated_dirs, settings):
    from assistant.prompts import BROAD_EXAMPLES_HEADING

    shutil.copytree(PROJECT_ROOT / "corpus" / "cases", isolated_dirs / "corpus" / "cases")
    assistant = Assistant(settings, embeddings=FakeEmbeddings())
    assistant.ensure_index()
    question = ("Vi har startat ett socialt företag som gör cykelreparationer. Hur hittar vi "
                "våra första företagskunder?")
    analysis = assistant.analyse(question, question)
    assert (analysis.situation.role, analysis.customers) == ("asf", True)
    answer = assistant.ask(question)
    assert BROAD_EXAMPLES_HEADING in answer.answer
    examples = answer.answer.split(BROAD_EXAMPLES_HEADING)[-1]
    started = {c.started_by[0].quote for c in assistant.catalog if c.started_by}
    shown = [q for q in started if q in examples]
    assert shown, examples
    cited = {c.quote for c in answer.citations}
    assert all(any(q in c for c in cited) for q in shown)
    assert not analyse("Vad gör Koopus?", _INDUSTRIES).customers
    # Mentioning customers is not asking how to get them.
    assert not analyse("Ska vi berätta för kunderna att vi är ett socialt företag?",
                       _INDUSTRIES).customers
    assert analyse("Hur får man sin första riktiga företagskund?", _INDUSTRIES).customers


def _one_chunk_topics(text: str):
    """A topic index over one chunk of text, every sentence with the same vector."""
    from assistant.ingest.chunking import split_units
    from assistant.retrieval.topics import TopicIndex
    from assistant.types import Chunk

    chunk = Chunk(chunk_id="c0", source="r.txt", title="R", section_path=("A",), page=None,
                  text=text, indexed_text=text, seq=0)
    return TopicIndex([chunk], {"c0": [1.0, 0.0]},
                      [("c0", u.position, [1.0, 0.0]) for u in split_units(text)])


def test_a_list_item_is_scored_with_its_lead_in_and_a_sentence_with_the_one_before():
    topics = _one_chunk_topics("Priset är en fråga för sig. Kunderna vill se kvalitet.\n\n"
                               "Tre saker avgör priset:\n- Marknaden.\n- Subventioner.\n"
                               "- Konkurrensen.")
    rows = {s.unit.text: s.row for s in topics.sentences}
    market = topics.point_tokens[rows["Marknaden."]]
    assert topics.sentence_tokens[rows["Subventioner."]] < market
    assert topics.sentence_tokens[rows["Tre saker avgör priset:"]] < market
    assert market == topics.point_tokens[rows["Tre saker avgör priset:"]]
    assert topics.point_tokens[rows["Kunderna vill se kvalitet."]] != market
    first = rows["Priset är en fråga för sig."]
    assert topics.previous[rows["Kunderna vill se kvalitet."]] == first
    assert topics.previous[first] == first


@pytest.mark.parametrize(("sentence", "meta"), [
    ("Kapitlet avhandlar även vilka drivkrafter som finns.", True),
    ("1) Först följer ett bakgrundskapitel som behandlar affärssamverkan.", True),
    ("5) Sedan följer ett avsnitt där vi redogör för de nätverksträffar som ordnats.", True),
    ("En modell för hur nätverksträffar kan genomföras presenteras även.", True),
    ("Urvalet av respondenter har byggt på Tillväxtverkets kunskaper.", True),
    ("Variationen av branscher speglar den urvalsprincip som ligger till grund.", True),
    ("Kapitalet räcker sällan till investeringar.", False),
    ("Mindre företag är mer krassa och ser mer till den direkta affären.", False),
])
def test_sentences_about_the_document_itself_are_told_from_findings(sentence, meta):
    from assistant.answering.broad import META_SENTENCE

    assert bool(META_SENTENCE.search(sentence)) is meta


def test_a_sentence_about_the_document_is_never_a_point(assistant):
    from assistant.answering.broad import META_SENTENCE

    question = "Vilka drivkrafter har företagen för att göra affärer med ASF?"
    analysis = assistant.analyse(question, question)
    retrieval = assistant.retriever.search(question)
    topics, scores = assistant.broad.scores(question, retrieval, analysis)
    meta = [s.row for s in topics.sentences if META_SENTENCE.search(s.unit.text)]
    assert meta and all(scores[row] == 0 for row in meta)
    assert any(scores[s.row] > 0 for s in topics.sentences)


def test_a_point_that_points_back_at_a_quotation_s_end_does_not_open_mid_quote():
    from assistant.answering.broad import readable

    topics = _one_chunk_topics("Ett företag sa:\n\n”En utmaning är deras ledtider. Det är längre "
                               "ledtider vilket vi måste beakta.”\n\nDetta kan uppfattas som "
                               "bristande kvalitet. Det tar tid.")
    rows = {s.unit.text: s.row for s in topics.sentences}
    detta = topics.sentences[rows["Detta kan uppfattas som bristande kvalitet."]]
    assert [s.unit.text for s in readable(topics, detta)] == [detta.unit.text]
    tid = topics.sentences[rows["Det tar tid."]]
    assert len(readable(topics, tid)) == 1       # "Det" opens as often as it points back


def test_a_point_brings_a_chain_of_antecedents():
    from assistant.answering.broad import readable

    topics = _one_chunk_topics("Några företag ligger i ett utsatt område. Dessa företag vill lyfta "
                               "området. Ett sätt att åstadkomma detta är att samverka med ett "
                               "lokalt ASF.")
    last = next(s for s in topics.sentences if s.unit.text.startswith("Ett sätt"))
    assert [s.unit.text for s in readable(topics, last)][0] == \
        "Några företag ligger i ett utsatt område."
