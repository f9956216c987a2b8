"""The case catalog (fallexempel): cards true to the report, indexed as passages, listed and
filtered by `asf cases`, answering list questions with every matching case cited, the case
page, and clear Swedish errors for malformed cards that leave the rest of the index alone.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant.answering.catalog import answer_from_catalog
from assistant.cases.cards import (
    ARENAS,
    STARTED_BY,
    case_chunk,
    check_quotes,
    document_text,
    load_case,
)
from assistant.cases.catalog import CaseQuery, Catalog, question_query
from assistant.cli import main
from assistant.config import PROJECT_ROOT
from assistant.ingest.loaders import load_document
from assistant.prompts import CASES_ANSWER_NOTE
from assistant.text import collapse
from assistant.types import IngestError
from tests.conftest import use_embedder

CASES = PROJECT_ROOT / "corpus" / "cases"
REPORT = PROJECT_ROOT / "corpus" / "sweco-asf-samverkan-naringslivet.txt"
CASE_PAGE = PROJECT_ROOT / "ui" / "app_pages" / "cases.py"

# Every named ASF, network and partner in the report (read from the report, not the cards).
NAMED_CASES = ["Entrévärdarna", "Le Mat Jonsered", "Koopus", "Aspiranterna",
               "Stickans Bokföring och event", "Gotlands skog och miljö", "RTAS",
               "Clean Car Service", "Kamratstödet", "Yalla Rinkeby", "Yalla Vårby",
               "Basta Byggservice", "Dialogkraft", "Koop M", "Företagarna"]
NAMED_PARTNERS = ["Volvo Cars", "Galaxen", "ByggVesta", "Balder", "Social Trade",
                  "Jönköping City", "Skogsröjet", "IT-spåret", "Göteborgs universitet",
                  "Carbex AB", "Vadstenabostäder", "Vadstena Sparbank", "Arbetsförmedlingen"]


def _catalog() -> Catalog:
    return Catalog.load(sorted(CASES.glob("*.yaml")), lambda p: f"cases/{p.name}")


def _names(answer) -> set[str]:
    return {c.title.removeprefix("Fallexempel: ") for c in answer.citations}


@pytest.fixture
def with_cases(isolated_dirs):
    """The temporary corpus with the real case cards copied in."""
    shutil.copytree(CASES, isolated_dirs / "corpus" / "cases")
    return isolated_dirs / "corpus" / "cases"


@pytest.fixture
def case_assistant(with_cases, settings, fake_embeddings):
    from assistant.pipeline import Assistant

    a = Assistant(settings, embeddings=fake_embeddings)
    report = a.ensure_index()
    assert report is not None and not report.errors
    return a


# ---------------------------------------------------------------------- the cards themselves
def test_every_quote_appears_verbatim_in_the_report():
    catalog = _catalog()
    assert not catalog.errors
    report = document_text(REPORT)
    problems = [p for case in catalog for p in check_quotes(case, report)]
    assert problems == []


def test_a_card_quotes_the_reports_body_not_only_a_footnote():
    """A card's passage is its quotes: a footnote alone ("Skogsröjet är en musikfestival …")
    reads as an unrelated line there; the card quotes the sentence that names the partner."""
    report = load_document(REPORT)
    body = collapse(" ".join(b.text for b in report.blocks if b.kind != "footnote"))
    for case in _catalog():
        for name, fact in case.facts():
            assert collapse(fact.quote) in body, (case.name, name, fact.quote)


def test_quote_check_collapses_whitespace_but_nothing_else():
    case = load_case(CASES / "koopus.yaml")
    spaced = REPORT.read_text(encoding="utf-8").replace(" ", "  \n ")
    assert check_quotes(case, spaced) == []
    altered = REPORT.read_text(encoding="utf-8").replace("hörselskydd", "hörselkåpor")
    problems = check_quotes(case, altered)
    assert problems and all("koopus.yaml" in p and "finns inte ordagrant" in p for p in problems)


def test_every_quote_stands_in_a_section_the_card_names():
    report = load_document(REPORT)
    blocks = [(collapse(re.sub(r"(?m)^- ", "", b.text)), b.section) for b in report.blocks]
    sections = {b.section for b in report.blocks}
    for case in _catalog():
        for declared in case.sections:
            assert any(s.startswith(declared) for s in sections), (case.name, declared)
        for name, fact in case.facts():
            found = [s for text, s in blocks if fact.quote in text]
            assert found, (case.name, name)
            assert any(s.startswith(d) for s in found for d in case.sections), \
                (case.name, name, found)


def test_every_named_case_and_partner_of_the_report_is_in_the_catalog():
    catalog = _catalog()
    names = {c.name for c in catalog}
    for name in NAMED_CASES:
        assert any(n.startswith(name) for n in names), name
    partner_text = " ".join(v for c in catalog for v in c.values("partners"))
    for partner in NAMED_PARTNERS:
        assert partner in partner_text, partner
    assert len(catalog) == len({c.slug for c in catalog}) == len(NAMED_CASES)


def test_cards_use_the_reports_vocabularies():
    for case in _catalog():
        assert set(case.values("arena")) <= set(ARENAS)
        assert set(case.values("started_by")) <= set(STARTED_BY)
        assert case.summary.quote and case.sections


# ---------------------------------------------------------------------- malformed cards
GOOD = (CASES / "koopus.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace('name: "Koopus"\n', ""), "saknar det obligatoriska fältet ”name”"),
    (GOOD.replace("  - value: kommuner och myndigheter", "  - value: kyrkan"),
     "fältet ”arena (post 2)” har värdet ”kyrkan”"),
    (GOOD.replace("  - value: tidigare branschkontakt", "  - value: tur"),
     "fältet ”started_by (post 1)” har värdet ”tur”"),
    (GOOD.replace("kind: ASF", "kind: kooperativ"), "fältet ”kind” har värdet ”kooperativ”"),
    (GOOD.replace("name:", "namn:", 1), "okänt fält ”namn”"),
    (GOOD + "  - value: {trasig\n", "inte giltig YAML"),
    ('name: "A"\nkind: ASF\nsummary: "bara text"\nsection: "X"\n',
     "fältet ”summary” ska ha både value"),
    (GOOD.replace('    quote: "De monterar och paketerar hörselskydd åt ett företag som är deras '
                  'största kund."\n', "", 1), "fältet ”partners (post 1)” ska ha både value"),
    (GOOD.replace("partner_values: []", "partner_values: fel"),
     "”partner_values” ska vara en lista"),
    ("", "är tomt"),
    ("- bara\n- en lista\n", "ska bestå av fält"),
])
def test_malformed_card_gets_a_swedish_error_naming_file_and_field(tmp_path, text, expected):
    path = tmp_path / "trasigt-kort.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as err:
        load_case(path)
    assert "trasigt-kort.yaml" in str(err.value)
    assert expected in str(err.value)


def test_yaml_error_names_the_line(tmp_path):
    path = tmp_path / "rad.yaml"
    path.write_text('name: "A"\nkind: ASF\nsummary:\n  value: "x\n  quote: y\n', encoding="utf-8")
    with pytest.raises(IngestError, match=r"rad\.yaml är inte giltig YAML \(rad \d+"):
        load_case(path)


def test_bad_card_is_reported_and_the_rest_of_the_index_is_unaffected(with_cases, settings,
                                                                      fake_embeddings):
    from assistant.pipeline import Assistant

    (with_cases / "utan-namn.yaml").write_text(GOOD.replace('name: "Koopus"\n', ""),
                                               encoding="utf-8")
    a = Assistant(settings, embeddings=fake_embeddings)
    report = a.ensure_index()
    assert [e.path.name for e in report.errors] == ["utan-namn.yaml"]
    assert "saknar det obligatoriska fältet ”name”" in str(report.errors[0])
    sources = a.index.sources()
    assert "sweco-asf-samverkan-naringslivet.txt" in sources
    assert sum(s.startswith("cases/") for s in sources) == len(NAMED_CASES)
    assert [e.path.name for e in a.catalog.errors] == ["utan-namn.yaml"]
    assert len(a.catalog) == len(NAMED_CASES)
    assert not a.ask("Hur fick andra ASF sin första kund?").refused


def test_strict_ingest_of_a_bad_card_changes_nothing(case_assistant, tmp_path):
    bad = tmp_path / "trasig.yaml"
    bad.write_text("name: [", encoding="utf-8")
    before = sorted(case_assistant.index.ids())
    report = case_assistant.ingest([bad])
    assert report.errors and "trasig.yaml är inte giltig YAML" in str(report.errors[0])
    assert sorted(case_assistant.index.ids()) == before


# ---------------------------------------------------------------------- indexing
def test_a_card_is_one_passage_of_report_text_with_its_fields_as_metadata(case_assistant):
    cards = [c for c in case_assistant.index.chunks() if c.kind == "case"]
    assert len(cards) == len(NAMED_CASES)
    report = collapse(document_text(REPORT))
    for chunk in cards:
        for quote in chunk.text.split("\n\n"):
            assert collapse(quote) in report
        assert chunk.title.startswith("Fallexempel: ")
        assert chunk.indexed_text.startswith(chunk.title)
    # The quotes are matched once, in the report's own passages: no sentence units for cards.
    assert case_assistant.index.unit_vectors([c.chunk_id for c in cards]) == []
    koopus = next(c for c in cards if c.source == "cases/koopus.yaml")
    assert "Bransch: Legoarbeten åt industrin" in koopus.indexed_text
    assert "Så började affärerna: tidigare branschkontakt" in koopus.indexed_text
    data = case_assistant.index.store.get(where={"case_slug": "koopus"},
                                          include=["metadatas"])
    meta = data["metadatas"][0]
    assert meta["kind"] == "case" and meta["source"] == "cases/koopus.yaml"
    assert meta["case_place"] == "Dalarna"
    assert meta["case_arena"] == "näringslivet; kommuner och myndigheter"
    assert meta["case_started_by"] == "tidigare branschkontakt"
    assert meta["case_section"] == meta["section"] == (
        "Kartläggningen – en överblick › ”Rätt” bransch ger tillgång till marknader")
    assert all(isinstance(v, str | int | float | bool) for v in meta.values())


def test_card_chunk_id_matches_the_catalogs(case_assistant):
    koopus = case_assistant.catalog.get("koopus")
    assert koopus is not None
    assert case_chunk(koopus).chunk_id in set(case_assistant.index.ids())


def test_a_changed_card_is_reindexed_and_an_unchanged_one_is_not(case_assistant, with_cases):
    assert not case_assistant.ingest(strict=False).changed
    path = with_cases / "rtas.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "partners: []", 'partners:\n  - value: "Företag som RTAS samarbetar med"\n'
        '    quote: "de företag som man samarbetar med"'), encoding="utf-8")
    report = case_assistant.ingest(strict=False)
    assert report.changed_sources == ["cases/rtas.yaml"]
    assert report.added == report.removed == 1
    assert any(c.value.startswith("Företag som RTAS")
               for c in case_assistant.catalog.get("rtas").partners)


def test_retrieval_finds_cards_by_their_fields(case_assistant):
    hits = case_assistant.retriever.retrieve("fallexempel fastighetsbranschen samarbetspart")
    assert any(h.chunk.kind == "case" for h in hits[:5])


# ---------------------------------------------------------------------- list questions
@pytest.mark.parametrize("question, expected", [
    ("Finns det exempel från fastighetsbranschen?",
     {"Yalla Rinkeby", "Yalla Vårby", "Basta Byggservice"}),
    ("Hur fick andra ASF sin första kund?",
     {"Gotlands skog och miljö (GSM)", "Stickans Bokföring och event", "Koopus",
      "Le Mat Jonsered"}),
    ("How did other social enterprises get their first customers?",
     {"Gotlands skog och miljö (GSM)", "Stickans Bokföring och event", "Koopus",
      "Le Mat Jonsered"}),
    ("Vilka exempel finns där affärerna kom till genom en rekommendation?",
     {"Stickans Bokföring och event"}),
    ("Vilka exempel finns från industrin?", {"Koopus", "RTAS"}),
])
def test_list_question_is_answered_from_the_catalog_citing_every_case(case_assistant, question,
                                                                      expected):
    answer = case_assistant.ask(question)
    # An English question's note first says why the answer is in Swedish.
    assert not answer.refused and answer.note.endswith(CASES_ANSWER_NOTE)
    assert expected <= _names(answer)
    report = collapse(REPORT.read_text(encoding="utf-8"))
    assert len(answer.citations) == len(_names(answer))
    for c in answer.citations:
        assert c.source.startswith("cases/") and c.section
        assert f"[{c.n}]" in answer.answer
        for part in c.quote.split(" … "):
            assert collapse(part) in report          # the quote is the report's own text
            assert part in answer.answer
    assert {ctx.chunk_id for ctx in answer.contexts} == {c.chunk_id for c in answer.citations}


def test_list_answer_streams_its_lines_before_the_answer(case_assistant):
    from assistant.types import Answer

    events = list(case_assistant.stream("Finns det exempel från Jönköping?"))
    assert isinstance(events[-1], Answer)
    assert "".join(e for e in events[:-1] if isinstance(e, str)).strip() == events[-1].answer
    assert _names(events[-1]) == {"Stickans Bokföring och event"}


@pytest.mark.parametrize("question", [
    "Vad gör Koopus?",                                          # about one case: retrieval
    "Ge ett exempel på när ett företag hyrt in en person från ett ASF.",
    "Inom vilka branscher verkar de ASF som ingick i kartläggningen?",
    "Vilka andra ASF och samarbetsparter medverkade i Rinkeby?",
    "Hur fick de det uppdraget?",
    "Finns det exempel från textilbranschen?",                  # no card: normal pipeline
    "Vilka exempel finns på samverkan mellan ASF och andra ASF?",
    "Vilka exempel finns på mervärden?",
])
def test_other_questions_fall_through_to_the_pipeline(case_assistant, question):
    assert answer_from_catalog(case_assistant.catalog, question) is None
    assert case_assistant.ask(question).note != CASES_ANSWER_NOTE


def test_main_eval_questions_are_not_hijacked():
    import yaml

    catalog = _catalog()
    items = yaml.safe_load((PROJECT_ROOT / "eval" / "questions.yaml").read_text("utf-8"))
    routed = {i["id"] for i in items if answer_from_catalog(catalog, i["question"])}
    # Only the property-company question is a list-of-cases question.
    assert routed <= {"q089"}


def test_a_follow_up_is_answered_from_the_catalog_only_when_it_asks_for_cases_itself():
    catalog = _catalog()
    earlier = ["Finns det exempel från fastighetsbranschen?"]
    shown = frozenset({"Yalla Rinkeby", "Koop M"})
    assert answer_from_catalog(catalog, "och hur får vi samarbetet att hålla i längden?",
                               earlier, shown) is None
    more = answer_from_catalog(catalog, "vilka fler exempel finns?", earlier, shown)
    assert more is not None and more.answer.startswith("Utöver dem som redan nämnts")
    assert "fastighet" in more.answer.split("\n")[0]
    assert not _names(more) & shown and {"Yalla Vårby", "Basta Byggservice"} <= _names(more)
    # Without "fler" the same list is asked for again.
    again = answer_from_catalog(catalog, "Finns det exempel?", earlier, shown)
    assert again is not None and shown <= _names(again)


def test_a_case_question_naming_no_filter_takes_the_latest_one_the_conversation_said():
    # The asker described their company two turns back; the turn in between named no filter.
    earlier = ["Vi är ett fastighetsbolag i Göteborg. Hur kommer vi igång med att köpa "
               "tjänster av ett ASF?", "Vad kan det kosta?"]
    answer = answer_from_catalog(_catalog(), "Finns det exempel från vår bransch?", earlier)
    assert answer is not None and "fastighet" in answer.answer.split("\n")[0]
    assert {"Yalla Rinkeby", "Yalla Vårby"} <= _names(answer)
    assert not {"Aspiranterna", "Clean Car Service"} & _names(answer)


def test_no_case_from_the_place_said_gives_the_cases_from_elsewhere_and_says_so():
    # The property sector has cases, Västerås has one, but none is both: the asker's place
    # (said two turns back) is dropped, and the answer says so instead of leaving the catalog.
    earlier = ["Vi är ett fastighetsbolag i Västerås som vill börja köpa tjänster från ett ASF. "
               "Var börjar vi?"]
    answer = answer_from_catalog(_catalog(), "Finns det exempel från vår bransch?", earlier)
    assert answer is not None
    assert answer.answer.split("\n")[0] == (
        "Inget av rapportens fallexempel från Västerås passar frågan. Från andra orter har "
        "rapporten 5 som gör det (bransch: fastighet):")
    assert {"Yalla Rinkeby", "Yalla Vårby"} <= _names(answer)
    # A question that names the place itself is not answered from elsewhere: it leaves the
    # catalog (the other routes search the report); a place alone is answered from there.
    assert answer_from_catalog(_catalog(), "Finns det exempel från fastighetsbranschen i "
                                           "Västerås?") is None
    here = answer_from_catalog(_catalog(), "Vilka fallexempel finns från Västerås?")
    assert here is not None and len(here.citations) == 1


def test_asking_for_more_cases_than_there_are_says_so():
    answer = answer_from_catalog(_catalog(), "Finns det fler exempel?",
                                 ["Finns det exempel från IT-branschen?"],
                                 frozenset({"Aspiranterna"}))
    assert answer is not None and not answer.citations
    assert answer.answer.startswith("Rapporten har inga fler fallexempel som passar frågan "
                                    "(bransch: IT) än det som redan nämnts.")


def test_more_cases_of_another_kind_after_a_list_are_cases():
    answer = answer_from_catalog(_catalog(), "Finns det fler från fastighetsbranschen?",
                                 ["Vilka exempel finns från Vadstena?"], frozenset({"Koop M"}))
    assert answer is not None and "Koop M" not in _names(answer)
    assert "Yalla Rinkeby" in _names(answer)


def test_a_board_is_no_way_of_starting_unless_business_came_through_it():
    catalog = _catalog()
    q = question_query("Vilka ASF lyfts fram som goda exempel på att ha företagskompetens i "
                       "styrelsen?", catalog)
    assert q is not None and not q.started_by
    # The answer names the filter in the question's words, not in stems ("företagskompet").
    assert "företagskompetens" in q.criteria() and "företagskompet," not in q.criteria()
    q = question_query("Vilka exempel finns där samarbetet kom till via styrelsen?", catalog)
    assert q is not None and q.started_by == ["styrelse- och nätverkskontakter"]


def test_a_list_question_about_a_place_no_card_has_is_not_a_catalog_question():
    # Filtering by its other words ("kontakta") listed three cases from elsewhere.
    assert question_query("Vilka ASF finns i Umeå som jag kan kontakta?", _catalog()) is None


def test_question_filters_are_read_from_the_question():
    catalog = _catalog()
    q = question_query("Finns det exempel från fastighetsbranschen i Rinkeby?", catalog)
    assert q is not None and q.industry == ["fastighet"] and q.place == ["Rinkeby"]
    q = question_query("Vilka exempel finns där ASF samarbetar med kommunen?", catalog)
    assert q is not None and q.arena == ["kommuner och myndigheter"]
    q = question_query("Vilka exempel finns på kompetensförsörjning?", catalog)
    assert q is not None and q.text == ["kompetensförsörjning"]
    q = question_query("Vilka fallexempel finns?", catalog)
    assert q is not None and q.empty() and len(catalog.filter(q)) == len(catalog)
    assert question_query("Vad gör Koopus?", catalog) is None


def test_case_query_combines_filters_with_and():
    catalog = _catalog()
    both = catalog.filter(CaseQuery(arena=["näringslivsnätverk"], started_by=["rekommendation"]))
    assert [m.case.name for m in both] == ["Stickans Bokföring och event"]
    either = catalog.filter(CaseQuery(started_by=["rekommendation", "upphandling"]))
    assert {m.case.name for m in either} == {"Stickans Bokföring och event",
                                             "Gotlands skog och miljö (GSM)"}


# ---------------------------------------------------------------------- asf cases
def test_cli_lists_and_filters_cases(with_cases, capsys):
    assert main(["cases", "--industry", "fastighet", "--place", "Rinkeby"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 fallexempel (bransch: fastighet; ort: Rinkeby)")
    assert "Yalla Rinkeby" in out and "Koopus" not in out


def test_cli_prints_json(with_cases, capsys):
    assert main(["cases", "--started-by", "rekommendation", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data] == ["Stickans Bokföring och event"]
    assert data[0]["started_by"][0]["value"] == "rekommendation"
    assert data[0]["source"] == "cases/stickans-bokforing-och-event.yaml"


def test_cli_free_text_kind_and_quotes(with_cases, capsys):
    assert main(["cases", "hörselskydd", "--kind", "ASF", "--quotes"]) == 0
    out = capsys.readouterr().out
    assert "Koopus" in out and "”De monterar och paketerar hörselskydd" in out
    assert main(["cases", "--kind", "nätverk"]) == 0
    assert "Företagarna" in capsys.readouterr().out


def test_cli_rejects_an_unknown_filter_value_in_swedish(with_cases, capsys):
    assert main(["cases", "--arena", "kyrkan"]) == 2
    assert "Okänt värde för --arena: ”kyrkan”. Tillåtna värden: näringslivet" in \
        capsys.readouterr().err


def test_cli_check_verifies_quotes_against_the_corpus(with_cases, capsys):
    # The shipped corpus has a figure card beside the case cards; it is no document to check
    # against (it once stopped the check with "filtyp som inte stöds").
    shutil.copytree(PROJECT_ROOT / "corpus" / "figures", with_cases.parent / "figures")
    assert main(["cases", "--check"]) == 0
    assert "Alla citat i 15 fallkort" in capsys.readouterr().out
    path = with_cases / "koopus.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hörselskydd åt", "skor åt"),
                    encoding="utf-8")
    assert main(["cases", "--check"]) == 1
    assert "koopus.yaml: citatet i fältet ”summary” finns inte ordagrant" in \
        capsys.readouterr().err


def test_cli_reports_a_bad_card_and_lists_the_rest(with_cases, capsys):
    (with_cases / "trasig.yaml").write_text("name: [", encoding="utf-8")
    assert main(["cases"]) == 0
    captured = capsys.readouterr()
    assert "trasig.yaml är inte giltig YAML" in captured.err
    assert captured.out.startswith(f"{len(NAMED_CASES)} fallexempel")


# ---------------------------------------------------------------------- the case page
@pytest.fixture
def case_page(with_cases, monkeypatch, fake_embeddings):
    use_embedder(monkeypatch, lambda settings: fake_embeddings)
    st.cache_resource.clear()
    at = AppTest.from_file(str(CASE_PAGE), default_timeout=120)
    yield at
    st.cache_resource.clear()


def test_case_page_filters_the_table_and_opens_a_card(case_page):
    at = case_page.run()
    assert not at.exception
    assert at.title[0].value == "Fallexempel"
    assert len(at.table[0].value) == len(NAMED_CASES)
    at.multiselect(key="cases-started").select("rekommendation").run()
    assert list(at.table[0].value["Namn"]) == ["Stickans Bokföring och event"]
    assert at.selectbox(key="cases-pick-").value == "stickans-bokforing-och-event"
    shown = " ".join(m.value for m in at.markdown)
    assert "Stickans Bokföring och event" in shown
    assert "De fick till exempel ett stängslinguppdrag på rekommendation" in shown
    assert "Hur uppstår affärssamarbetet" in shown


def test_case_page_industry_and_text_filters(case_page):
    at = case_page.run()
    at.multiselect(key="cases-industry").select("fastighet").run()
    assert {"Yalla Rinkeby", "Yalla Vårby", "Basta Byggservice"} <= set(
        at.table[0].value["Namn"])
    at.text_input(key="cases-text").input("Balder").run()
    assert list(at.table[0].value["Namn"]) == ["Yalla Vårby"]
    at.text_input(key="cases-text").input("ingenting sådant finns").run()
    assert at.info and "Inga fallexempel" in at.info[0].value


def test_case_page_opens_the_card_a_link_names(case_page):
    case_page.query_params["case"] = "koopus"
    at = case_page.run()
    assert not at.exception
    assert at.selectbox(key="cases-pick-koopus").value == "koopus"
    assert any("Koopus" in m.value for m in at.markdown)


def test_case_link_for_a_cited_card():
    from ui.cases_view import link_for_citation

    assert link_for_citation("cases/koopus.yaml") == {"case": "koopus"}
    assert link_for_citation("sweco-asf-samverkan-naringslivet.txt") is None


def test_card_text_on_the_page_is_never_markup(with_cases):
    from ui.cases_view import card_markdown

    path = with_cases / "elak.yaml"
    path.write_text(GOOD.replace('name: "Koopus"', 'name: "<script>x</script> [l](http://e)"'),
                    encoding="utf-8")
    blocks = card_markdown(load_case(path))
    assert "<script>" not in blocks[0] and "](http" not in blocks[0]


# ---------------------------------------------------------------------- the case eval
def test_case_eval_scores_recall_and_precision_of_cases(case_assistant):
    from eval.cases_eval import load_case_items, report_lines, run_case_eval

    items = load_case_items()
    assert len(items) >= 12 and all(i.question for i in items)
    names = {c.name for c in case_assistant.catalog}
    assert {n for i in items for n in (*i.expected, *i.also_ok)} <= names
    run = run_case_eval(case_assistant, items)
    metrics = run["metrics"]
    assert metrics["items"] == len(items)
    assert metrics["case_recall"] >= 0.9 and metrics["case_precision"] >= 0.9
    assert metrics["negatives_correct"] == 1.0
    assert any("case_recall" in line for line in report_lines(run))


def test_the_templates_example_is_a_valid_card(tmp_path):
    template = (CASES / "TEMPLATE.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", template, re.S)
    assert example is not None
    path = tmp_path / "exempel.yaml"
    path.write_text(example.group(1), encoding="utf-8")
    case = load_case(path)
    assert case.name == "Exempelkooperativet" and case.values("started_by") == ["rekommendation"]
