"""The chat UI under Streamlit's AppTest: asking, citations, roles, refusals, feedback, export,
the sources page and uploads; plus the pure rendering helpers it is built from.

The app builds its own Assistant from Settings(); the fixture swaps the embedder that
Settings makes for the deterministic fake, and isolated_dirs keeps every folder in tmp.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from assistant.cases import catalog
from assistant.config import PROJECT_ROOT, Settings
from assistant.conversations import ConversationStore
from assistant.feedback import FeedbackStore
from assistant.pipeline import Assistant
from assistant.prompts import CANNOT_ANSWER_PHRASE, ROLES
from assistant.retrieval import hybrid
from tests.conftest import use_embedder
from tests.test_faults_input import _locked
from ui import export, render, state, texts

APP = PROJECT_ROOT / "ui" / "app.py"
QUESTION = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
OFF_TOPIC = "Hur bakar man kanelbullar med kardemumma?"
MALICIOUS = """# Säkerhetstest för kvittoskrivare

Kvittoskrivaren Zyxel-7 skriver ut kvitton i kassan. <script>window.__xss = 1</script>
Läs mer på [x](http://evil.example/) eller http://evil.example/path och www.evil.example.
<img src=x onerror="window.__xss=2"> Skriv till evil@example.com för :red[hjälp].
"""


@pytest.fixture
def app(monkeypatch, fake_embeddings):
    """The app, with the fake embedder and a fresh process-wide cache."""
    use_embedder(monkeypatch, lambda settings: fake_embeddings)
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=120)
    yield at
    st.cache_resource.clear()


def _ask(at: AppTest, question: str) -> AppTest:
    return at.chat_input[0].set_value(question).run()


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _last_answer(at: AppTest):
    return at.session_state["messages"][-1]["answer"]


# ---------------------------------------------------------------------- chat
def test_first_page_greets_and_offers_starters_for_each_role(app):
    app.run()
    assert not app.exception
    assert app.sidebar.radio[0].options == [r["label"] for r in ROLES.values()]
    for key, role in ROLES.items():
        app.sidebar.radio[0].set_value(key).run()
        assert str(role["welcome"]) in _markdown(app)
        labels = [b.label for b in app.main.button]
        assert labels == list(role["starters"]) and 4 <= len(labels) <= 6
    assert app.chat_input[0].placeholder.startswith("Skriv din fråga")


def test_question_gets_a_streamed_answer_with_numbered_citations(app):
    app.run()
    _ask(app, QUESTION)
    assert not app.exception
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    answer = _last_answer(app)
    assert not answer.refused and answer.citations
    body = app.chat_message[1].markdown[0].value
    assert "45" in body and ":blue-badge[1]" in body
    assert "[" not in body.replace(":blue-badge[", "")
    labels = [e.label for e in app.chat_message[1].expander]
    assert len(labels) == len(answer.citations)
    assert labels[0].startswith("\\[1\\]") and "Sammanfattning" in labels[0]
    # The expander shows source, section and the passage with the quote marked.
    inside = [m.value for m in app.chat_message[1].expander[0].markdown]
    assert any("**Källa:**" in v and "**Avsnitt:**" in v for v in inside)
    assert any(":orange-background[" in v and "45" in v for v in inside)


def test_whole_section_can_be_read_from_a_citation(app):
    app.run()
    _ask(app, QUESTION)
    toggle = app.chat_message[1].expander[0].toggle[0]
    assert toggle.label == "Läs hela avsnittet"
    toggle.set_value(True).run()
    section = _last_answer(app).citations[0].section
    settings = Settings()
    from assistant.pipeline import Assistant

    chunks = [c for c in Assistant(settings).index.chunks() if c.section == section]
    shown = app.chat_message[1].expander[0].markdown[-1].value
    assert chunks
    for chunk in chunks:
        assert render.escape_markdown(chunk.text.split("\n")[0][:30]) in shown


def test_starter_question_is_asked_on_click(app):
    app.run()
    starter = str(ROLES["asf"]["starters"][2])
    app.sidebar.radio[0].set_value("asf").run()
    next(b for b in app.main.button if b.label == starter).click().run()
    assert not app.exception
    messages = app.session_state["messages"]
    assert messages[0]["content"] == starter and messages[1]["answer"] is not None
    assert not [b for b in app.main.button if b.label == starter]   # welcome is gone


def test_refusal_looks_different_and_shows_the_closest_passages(app):
    app.run()
    _ask(app, OFF_TOPIC)
    answer = _last_answer(app)
    assert answer.refused
    reply = app.chat_message[1]
    assert reply.warning and reply.warning[0].value.startswith(CANNOT_ANSWER_PHRASE)
    assert not any(":blue-badge[" in m.value for m in reply.markdown)
    assert len(reply.expander) == 3
    assert reply.expander[0].label.startswith(render.escape_markdown(answer.contexts[0].title))


def test_follow_up_question_uses_the_history(app):
    app.run()
    _ask(app, "Hur uppstår samarbetet mellan Volvo Cars och Clean Car Service?")
    _ask(app, "Och vad innebär det?")
    answer = _last_answer(app)
    assert "Volvo Cars" in answer.standalone_question
    assert len(app.chat_message) == 4


def test_bad_question_shows_a_swedish_error(app):
    app.run()
    _ask(app, "ASF " * 400)
    assert not app.exception
    assert "för lång" in app.chat_message[1].error[0].value
    assert app.session_state["messages"][-1]["error"]


def test_new_conversation_clears_the_chat(app):
    app.run()
    _ask(app, QUESTION)
    next(b for b in app.sidebar.button if b.label == "Ny konversation").click().run()
    assert app.session_state["messages"] == [] and not app.chat_message


# ---------------------------------------------------------------------- saved conversations
VOLVO = "Hur uppstår samarbetet mellan Volvo Cars och Clean Car Service?"


def _saved(at: AppTest) -> list:
    """Return the sidebar's buttons that open a saved conversation."""
    return [b for b in at.sidebar.button if b.key and b.key.startswith("chat-")]


def _click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.sidebar.button if b.label == label).click().run()


def test_earlier_conversation_is_listed_reopened_renamed_and_deleted(app, settings):
    app.run()
    app.sidebar.radio[0].set_value("asf").run()
    _ask(app, VOLVO)
    answer = _last_answer(app)
    _click(app, "Ny konversation")
    assert app.session_state["messages"] == [] and not app.chat_message
    app.sidebar.radio[0].set_value("company").run()
    [listed] = _saved(app)
    assert listed.label == render.short_title(VOLVO) and not listed.disabled
    # Reopened in a new browser session: the chat, its citations and its group come back.
    again = AppTest.from_file(str(APP), default_timeout=120).run()
    next(b for b in _saved(again)).click().run()
    assert not again.exception
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert again.session_state["messages"][0]["content"] == VOLVO
    restored = _last_answer(again)
    assert restored.answer == answer.answer and restored.citations == answer.citations
    assert len(again.chat_message[1].expander) == len(answer.citations)
    assert again.sidebar.radio[0].value == "asf"
    assert _saved(again)[0].disabled                        # the open one
    assert again.chat_message[1].feedback[0].value is None
    # A follow-up continues from the reopened turns.
    _ask(again, "Och vad innebär det?")
    assert "Volvo Cars" in _last_answer(again).standalone_question
    store = ConversationStore(settings.data_dir / "conversations.sqlite3")
    [stored] = store.conversations()
    assert stored.questions == 2 and stored.title == VOLVO
    # Rename, then delete after confirming.
    again.sidebar.text_input[0].input("Volvo och CCS").run()
    assert [b.label for b in _saved(again)] == ["Volvo och CCS"]
    assert store.conversations()[0].title == "Volvo och CCS"
    _click(again, "Ta bort samtalet")
    assert store.conversations()                            # not before the confirmation
    _click(again, "Ja, ta bort")
    assert not again.exception
    assert store.conversations() == [] and not _saved(again)
    assert again.session_state["messages"] == [] and not again.chat_message


def test_many_saved_conversations_are_listed_newest_first(app, settings):
    from assistant.conversations import Turn

    store = ConversationStore(settings.data_dir / "conversations.sqlite3")
    for i in range(12):
        question = f"Fråga nummer {i} om [länkar](http://x) " + "ord " * 20
        store.save(f"k{i}", [Turn("user", question), Turn("assistant", "Svar.")],
                   role="advisor")
    app.run()
    labels = [b.label for b in _saved(app)]
    assert len(labels) == 12 and labels[0].startswith("Fråga nummer 11 om \\[länkar\\]")
    assert all(len(label) < 90 and label.endswith(" …") for label in labels)
    for label in labels:
        assert_inert(label)


def test_locked_conversation_database_warns_and_the_chat_goes_on(app, settings):
    path = settings.data_dir / "conversations.sqlite3"
    app.run()
    with _locked(path):
        _ask(app, QUESTION)
        assert not app.exception
        assert not _last_answer(app).refused                 # the answer is there
        warning = app.sidebar.warning[0].value
        assert "Samtalet kunde inte sparas" in warning and "är låst" in warning
        assert str(settings.data_dir) not in warning
        _click(app, "Ny konversation")                      # would lose the unsaved chat
        assert len(app.session_state["messages"]) == 2
        assert "ligger det kvar här" in app.sidebar.warning[0].value
        _ask(app, OFF_TOPIC)
        assert len(app.chat_message) == 4
    _ask(app, "Och vad innebär det?")                       # saved whole once the lock is gone
    assert not app.sidebar.warning
    [(conversation, turns)] = [ConversationStore(path).load(c.id)
                               for c in ConversationStore(path).conversations()]
    assert conversation.title == QUESTION and len(turns) == 6


# ---------------------------------------------------------------------- start-up
def test_start_up_builds_what_the_first_question_would_wait_for(app, settings, monkeypatch):
    _with_cards(settings, "avtal-muntliga-eller-skriftliga", "prissattning")
    (settings.corpus_dir / "cases").mkdir()
    for name in ("aspiranterna.yaml", "basta-byggservice.yaml"):
        (settings.corpus_dir / "cases" / name).write_bytes(
            (PROJECT_ROOT / "corpus" / "cases" / name).read_bytes())
    app.run()
    loaded = state.load_assistant()
    assert loaded.warming is not None
    loaded.warming.join(timeout=120)
    assert not loaded.warming.is_alive()
    # The first question locates no card point in the report and reads no case card: the
    # start-up did both (they made the first answer 3.9 s slower than the next ones).
    calls = {"locate": 0, "load_case": 0}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(hybrid, "locate", counting("locate", hybrid.locate))
    monkeypatch.setattr(catalog, "load_case", counting("load_case", catalog.load_case))
    _ask(app, QUESTION)
    assert not app.exception and _last_answer(app).citations
    assert calls == {"locate": 0, "load_case": 0}
    assert len(loaded.assistant.catalog) == 2
    assert len(loaded.assistant.retriever.guide().entries) == 2
    assert calls == {"locate": 0, "load_case": 0}


def test_the_chat_box_opens_when_the_model_and_caches_are_loaded(app, monkeypatch):
    # Drawn closed while the start-up warms everything a question needs, then the page draws
    # itself again with the box open: the first answer waits for nothing (#25).
    release = threading.Event()
    real_warm_up = Assistant.warm_up
    monkeypatch.setattr(Assistant, "warm_up",
                        lambda self: release.wait(60) and real_warm_up(self))
    boxes = []
    real_chat_input = st.chat_input

    def recording(placeholder, **kwargs):
        boxes.append((placeholder, kwargs.get("disabled", False)))
        threading.Timer(0.5, release.set).start()      # the warm-up ends after the drawing
        return real_chat_input(placeholder, **kwargs)

    monkeypatch.setattr(st, "chat_input", recording)
    app.run()
    assert not app.exception
    assert boxes[0] == (texts.CHAT_WARMING, True)
    assert boxes[-1] == (texts.CHAT_PLACEHOLDER, False)
    assert not app.chat_input[0].disabled and state.warming() is None
    _ask(app, QUESTION)
    assert _last_answer(app).citations


def test_the_launcher_starts_building_before_any_page_runs(app, monkeypatch):
    # `python -m ui.serve` calls preload() as the server starts; the first page run waits for
    # that build instead of starting a second one.
    builds = []
    real_build = state._build
    monkeypatch.setattr(state, "_build", lambda: builds.append("build") or real_build())
    state.preload()
    app.run()
    assert not app.exception and builds == ["build"]
    _ask(app, QUESTION)
    assert _last_answer(app).citations and builds == ["build"]


def test_a_failed_preload_is_shown_once_and_the_next_page_run_builds_again(app, monkeypatch):
    real_build = state._build
    monkeypatch.setattr(state, "_build", lambda: (_ for _ in ()).throw(
        RuntimeError("Modellmappen saknas")))
    state.preload()
    app.run()
    assert any("Assistenten kunde inte startas: Modellmappen saknas" in e.value
               for e in app.error)
    monkeypatch.setattr(state, "_build", real_build)
    app.run()
    assert not app.error
    _ask(app, QUESTION)
    assert _last_answer(app).citations


# ---------------------------------------------------------------------- feedback
def test_thumbs_are_stored_with_question_answer_and_citations(app, settings):
    app.run()
    _ask(app, QUESTION)
    answer = _last_answer(app)
    app.chat_message[1].feedback[0].set_value(1).run()
    assert not app.exception
    store = FeedbackStore(settings.data_dir / "feedback.sqlite3")
    [row] = store.rows()
    assert row["rating"] == 1 and row["question"] == QUESTION
    assert row["answer"] == answer.answer and row["role"] == "Företag / CSR"
    assert row["citations"][0]["quote"] == answer.citations[0].quote
    assert "Tack för ditt omdöme!" in [c.value for c in app.chat_message[1].caption]
    app.chat_message[1].feedback[0].set_value(0).run()
    assert [r["rating"] for r in store.rows()] == [0]


def test_feedback_file_follows_the_settings(app, tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "omdomen.sqlite3"
    monkeypatch.setenv("ASF_FEEDBACK_DB", str(target))
    app.run()
    _ask(app, OFF_TOPIC)
    app.chat_message[1].feedback[0].set_value(0).run()
    [row] = FeedbackStore(target).rows()
    assert row["refused"] and row["rating"] == 0


# ---------------------------------------------------------------------- export
def test_download_holds_the_conversation_as_markdown_and_word(app):
    app.run()
    assert all(b.disabled for b in app.sidebar.download_button)
    _ask(app, OFF_TOPIC)
    _ask(app, QUESTION)
    labels = [b.label for b in app.sidebar.download_button]
    assert labels == ["Ladda ner samtalet (Markdown)", "Ladda ner samtalet (Word)"]
    assert not any(b.disabled for b in app.sidebar.download_button)
    messages = app.session_state["messages"]
    text = export.conversation_markdown(messages, "Företag / CSR", datetime(2025, 1, 2, 3, 4))
    answer = messages[3]["answer"]
    assert text.startswith("# Samtal med ASF-assistenten\n")
    assert "Exporterat 2025-01-02 03:04. Roll: Företag / CSR." in text
    assert "## Fråga 1" in text and "## Fråga 2" in text and "**Källor**" in text
    assert "45 intervjuer genomfördes" in text and "\n[1] " in text
    assert "> " + export.escape_export(answer.citations[0].quote.split(" … ")[0])[:60] in text
    assert CANNOT_ANSWER_PHRASE in text and "**Närmaste avsnitt**" in text


def test_markdown_export_escapes_only_what_markdown_would_change():
    text = "Fotnot 2: IOP (idéburet offentligt partnerskap) [1]. Kostnad 5 $ & 10 % – ja!"
    assert export.escape_export(text) == text
    for live, shown in [("*fet*", "\\*fet\\*"), ("<b>x</b>", "\\<b>x\\</b>"),
                        ("[a](http://x)", "[a\\](http://x)"), ("`kod`", "\\`kod\\`"),
                        ("# Rubrik", "\\# Rubrik"), ("1. punkt", "1\\. punkt"),
                        ("_kursiv_", "\\_kursiv\\_"), ("ett_ord", "ett_ord")]:
        assert export.escape_export(live) == shown
    assert export.escape_export("Punkter:\n- ett\n  - två") == "Punkter:  \n- ett  \n  - två"
    messages = [{"role": "user", "content": "Vad är ett IOP?"},
                {"role": "assistant", "content": "", "answer": {
                    "answer": "Ett IOP (idéburet offentligt partnerskap) är ett avtal [1].",
                    "note": "Not: svaret är citerat.", "refused": False, "citations": [
                        {"n": 1, "title": "Rapporten", "section": "2.1 IOP: en väg", "page": 3,
                         "quote": "IOP är en samverkansform."}]}}]
    text = export.conversation_markdown(messages, "Rådgivare", datetime(2025, 1, 2))
    assert "\\" not in text, text
    assert "[1] Rapporten – 2.1 IOP: en väg, sida 3" in text
    assert text.rstrip().endswith("*Not: svaret är citerat.*")      # the note comes last


def test_word_export_is_a4_swedish_with_a_heading_per_question(app):
    from io import BytesIO

    from docx import Document
    from docx.oxml.ns import qn

    app.run()
    _ask(app, QUESTION)
    _ask(app, OFF_TOPIC)
    messages = app.session_state["messages"]
    doc = Document(BytesIO(export.conversation_docx(messages, "Företag / CSR")))
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    normal = doc.styles["Normal"].element.rPr.find(qn("w:lang"))
    assert normal.get(qn("w:val")) == "sv-SE"
    assert doc.core_properties.title == "Samtal med ASF-assistenten"
    assert doc.core_properties.author == "ASF-assistenten"
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:4] == ["Fråga 1", "Svar", "Källor", "Fråga 2"]
    body = "\n".join(p.text for p in doc.paragraphs)
    answer = messages[1]["answer"]
    assert answer.answer.split("[1]")[0].strip()[:40] in body
    assert f"”{answer.citations[0].quote.split(' … ')[0][:40]}" in body
    assert CANNOT_ANSWER_PHRASE in body and "Närmaste avsnitt" in headings
    assert "\\" not in body


# ---------------------------------------------------------------------- safety
def test_document_text_is_never_live_markup(app, settings):
    (settings.corpus_dir / "sakerhet.md").write_text(MALICIOUS, encoding="utf-8")
    app.run()
    _ask(app, "Vad gör kvittoskrivaren Zyxel-7 i kassan?")
    answer = _last_answer(app)
    shown = [m.value for m in app.chat_message[1].markdown]
    shown += [e.label for e in app.chat_message[1].expander]
    assert any("Zyxel" in v for v in shown), "the document should be cited or shown"
    for value in shown:
        assert_inert(value)
    assert not answer.refused


def assert_inert(markdown: str) -> None:
    """Fail when Markdown would render HTML, a link or Streamlit markup from document text."""
    unescaped = re.sub(r"\\.", "", markdown)
    assert "<" not in unescaped and ">" not in unescaped
    assert "](" not in unescaped and "[" not in unescaped.replace(":blue-badge[", "").replace(
        ":orange-background[", "")
    assert "http://" not in markdown and "www.evil" not in markdown
    assert not re.search(r"@[\w-]", markdown)


# ---------------------------------------------------------------------- sources page
def test_sources_page_browses_sections_in_order(app):
    app.run()
    app.switch_page("app_pages/sources.py").run()
    assert not app.exception
    assert [t.label for t in app.tabs] == ["Bläddra", "Sök", "Dokument", "Ladda upp"]
    document, section = app.selectbox
    assert document.value == "sweco-asf-samverkan-naringslivet.txt"
    first = section.options[0]
    assert first.startswith("Sammanfattning")
    section.set_value(3).run()
    assert any(c.value.startswith("Avsnitt 4 av") for c in app.caption)
    next(b for b in app.button if b.label == "Nästa avsnitt").click().run()
    assert app.selectbox[1].value == 4
    next(b for b in app.button if b.label == "Föregående avsnitt").click().run()
    next(b for b in app.button if b.label == "Föregående avsnitt").click().run()
    assert app.selectbox[1].value == 2
    documents = app.dataframe[0].value
    assert list(documents.columns) == ["Titel", "Fil", "Textavsnitt"]
    assert documents.iloc[0]["Textavsnitt"] > 50


def test_sources_page_search_uses_the_retriever(app):
    app.run()
    app.switch_page("app_pages/sources.py").run()
    app.text_input[0].input("muntliga avtal").run()
    hits = [m.value for m in app.tabs[1].markdown]
    assert hits and hits[0].startswith("**1\\. ")
    assert any("muntliga" in h.lower() for h in hits)


def _upload(app: AppTest, name: str, data: bytes) -> AppTest:
    app.switch_page("app_pages/sources.py").run()
    app.file_uploader[0].upload(name, data, "text/plain").run()
    next(b for b in app.tabs[3].button if b.label == "Läs in för mig").click().run()
    job = app.session_state["upload-job"] if "upload-job" in app.session_state else None
    if job is None:                 # read within the click's own run
        return app
    assert job.wait(60)             # read in the background: the page shows it when done
    return app.run()


def test_upload_is_read_for_this_session_only(app, settings):
    app.run()
    _upload(app, "eget.md", MALICIOUS.encode())
    assert not app.exception
    assert app.tabs[3].success and "eget.md är inläst för dig" in app.tabs[3].success[0].value
    # Private: not in the shared list of documents, nothing saved in the data folder.
    assert not (settings.data_dir / "uploads").exists()
    assert all("eget" not in row for row in app.dataframe[0].value["Fil"])
    assert "eget.md" in app.tabs[2].caption[0].value
    app.switch_page("app_pages/chat.py").run()
    _ask(app, "Vad gör kvittoskrivaren Zyxel-7 i kassan?")
    cited = [c for c in _last_answer(app).citations if "eget.md" in c.source]
    assert cited and cited[0].title == "eget.md (din uppladdade fil)"


def _chunk_ids(settings, embeddings) -> list[str]:
    from assistant.pipeline import Assistant

    return sorted(Assistant(settings, embeddings=embeddings).index.ids())


@pytest.mark.parametrize("name, data, message", [
    ("tom.txt", b"   \n", "tom eller saknar läsbar text"),
    ("trasig.pdf", b"%PDF-1.4 inte alls en pdf", "trasig"),
])
def test_bad_upload_is_refused_and_leaves_index_and_folder_unchanged(app, settings, name, data,
                                                                     message, fake_embeddings):
    app.run()
    before = _chunk_ids(settings, fake_embeddings)
    _upload(app, name, data)
    assert not app.exception
    assert app.tabs[3].error and message in app.tabs[3].error[0].value
    assert app.session_state["private-documents"] == {}
    assert "Indexet är oförändrat" in app.tabs[3].error[0].value
    assert not (settings.data_dir / "uploads" / name).exists()
    assert _chunk_ids(settings, fake_embeddings) == before


def test_too_large_upload_is_refused(app, settings, monkeypatch):
    monkeypatch.setenv("ASF_MAX_UPLOAD_MB", "1")
    app.run()
    app.switch_page("app_pages/sources.py").run()
    # Refused as soon as it is chosen; the button to read it in stays disabled.
    app.file_uploader[0].upload("stor.txt", b"Stor fil om ASF. " * 70_000, "text/plain").run()
    assert "för stor" in app.tabs[3].error[0].value and "högst 1 MB" in app.tabs[3].error[0].value
    assert next(b for b in app.tabs[3].button if b.label == "Läs in för mig").disabled
    assert not (Settings().data_dir / "uploads" / "stor.txt").exists()


# ---------------------------------------------------------------------- pure helpers
@pytest.mark.parametrize("raw", [
    "<script>alert(1)</script>", "[x](http://evil)", "![bild](http://evil/x.png)",
    "http://evil.example/path", "www.evil.example", "evil@example.com", ":red[hej]",
    ":material/home:", "$x^2$", "**fet** _kursiv_ `kod`", "# Rubrik", "1. lista", "> citat",
    "<img src=x onerror=alert(1)>", "&lt;script&gt;", "| a | b |", "~~stryk~~",
])
def test_escape_markdown_leaves_no_live_markup(raw):
    assert_inert(render.escape_markdown(raw))


def test_escape_keeps_the_text_readable():
    text = "Företag – ASF:s pris 1.5 % \n- punkt ett\n- punkt två"
    escaped = render.escape_markdown(text)
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "") == (
        "Företag – ASF:s pris 1.5 %   \n• punkt ett  \n• punkt två")


def test_answer_markers_become_badges_only_for_real_citations():
    md = render.answer_markdown("Först [1] sedan [2] och fotnot [7]", [1, 2])
    assert md == "Först :blue-badge[1] sedan :blue-badge[2] och fotnot \\[7\\]"


def test_highlight_marks_each_quoted_sentence_once():
    text = "Inledning. Det citerade. Och nästa mening.\n- punkt <b>ett</b>"
    md = render.highlight(text, ["Det citerade.", "Och nästa mening.", "punkt <b>ett</b>"])
    assert md.count(":orange-background[") == 2
    assert ":orange-background[Det citerade. Och nästa mening.]" in md
    assert ":orange-background[punkt \\<b\\>ett\\</b\\>]" in md
    assert md.startswith("Inledning. ")


@pytest.mark.parametrize("name, size, expected", [
    ("rapport.pdf", 1000, None), ("anteckning.MD", 10, None),
    ("bild.png", 10, "filtyp som inte stöds"), (".dold.txt", 10, "filtyp som inte stöds"),
    ("stor.txt", 21 * 1024 * 1024, "för stor (21.0 MB, högst 20 MB)"),
])
def test_check_upload(name, size, expected):
    result = render.check_upload(name, size, 20)
    assert result is None if expected is None else expected in result


def test_group_sections_keeps_reading_order():
    chunk = lambda source, section, seq: SimpleNamespace(  # noqa: E731
        source=source, section=section, seq=seq, page=None, text=f"{section}-{seq}")
    groups = render.group_sections([chunk("a", "Två", 3), chunk("a", "Ett", 0),
                                    chunk("b", "X", 0), chunk("a", "Ett", 1),
                                    chunk("a", "Två", 2)])
    assert [g.section for g in groups["a"]] == ["Ett", "Två"]
    assert groups["a"][1].text == "Två-2\n\nTvå-3"


# ---------------------------------------------------------------------- real model
@pytest.mark.integration
def test_every_starter_question_gets_a_cited_answer_from_the_report(real_embeddings,
                                                                     real_index_root):
    from assistant.pipeline import Assistant

    assistant = Assistant(Settings(data_dir=real_index_root / "default"),
                          embeddings=real_embeddings)
    assistant.ensure_index()
    for role in ROLES.values():
        for question in role["starters"]:
            answer = assistant.ask(str(question))
            assert not answer.refused and answer.citations, question


# ---------------------------------------------------------------------- guide page, related
def _with_cards(settings, *names: str) -> None:
    folder = settings.corpus_dir / "guide"
    folder.mkdir(exist_ok=True)
    for name in names:
        source = PROJECT_ROOT / "corpus" / "guide" / f"{name}.yaml"
        (folder / source.name).write_bytes(source.read_bytes())


def test_guide_page_lists_the_cards_and_opens_one_with_its_sources(app, settings):
    _with_cards(settings, "avtal-muntliga-eller-skriftliga", "prissattning")
    app.run()
    app.switch_page("app_pages/guide.py").run()
    assert not app.exception
    titles = [e.label for e in app.expander if not e.label.startswith("\\[")]
    assert any("avtal" in t.lower() for t in titles) and len(titles) == 2
    # Each card opens to its points, cited at the report's sections.
    assert any(":blue-badge[" in m.value for m in app.expander[0].markdown)
    assert any("Muntliga avtal är vanligast" in e.label for e in app.expander[0].expander)


def test_guide_page_filters_by_role(app, settings):
    _with_cards(settings, "avtal-muntliga-eller-skriftliga", "rinkeby-traffen")
    app.run()
    app.switch_page("app_pages/guide.py").run()
    app.button_group[0].set_value("advisor").run()
    titles = [e.label for e in app.expander if not e.label.startswith("\\[")]
    assert titles == ["Vad hände på nätverksträffen i Rinkeby?"]


def test_related_questions_are_offered_and_asked_on_click(app, settings, monkeypatch):
    monkeypatch.setenv("ASF_ANSWER__RELATED_MIN_SIMILARITY", "0")
    _with_cards(settings, "avtal-muntliga-eller-skriftliga", "prissattning")
    app.run()
    _ask(app, QUESTION)
    related = _last_answer(app).related
    assert related
    button = next(b for b in app.main.button if b.label == related[0])
    button.click().run()
    assert not app.exception
    assert app.session_state["messages"][-2]["content"] == related[0]


# ---------------------------------------------------------------------- Swedish widgets (#25)
@pytest.fixture
def with_cards(isolated_dirs):
    import shutil

    shutil.copytree(PROJECT_ROOT / "corpus" / "cases", isolated_dirs / "corpus" / "cases")


def test_every_page_is_swedish_to_the_browser_and_widgets_avoid_english(app, with_cards):
    from ui import swedish

    app.run()
    [script] = [h for h in app.get("html") if swedish.MARKER_ID in h.proto.body]
    assert script.proto.unsafe_allow_javascript
    assert 'documentElement.lang = "sv"' in script.proto.body
    for english in ("Drag and drop a file here", "Upload", "Choose options", "Select all"):
        assert f'"{english}":' in script.proto.body
    app.switch_page("app_pages/cases.py").run()
    assert not app.exception and len(app.multiselect) == 5
    for widget in app.multiselect:
        assert widget.placeholder == "Välj ett eller flera"
        assert widget.proto.select_all == 0            # no English "Select all" choice
    app.switch_page("app_pages/sources.py").run()
    [upload] = app.get("file_uploader")
    assert upload.proto.max_upload_size_mb == 20 and "20 MB" in upload.proto.label


def test_sources_page_opens_on_the_report_not_a_card(app, with_cards):
    app.run()
    app.switch_page("app_pages/sources.py").run()
    document = app.selectbox[0]
    assert document.value == "sweco-asf-samverkan-naringslivet.txt"
    assert document.options[0].startswith("Sweco")
    assert all(o.startswith("Fallexempel") for o in document.options[1:])
    assert app.dataframe[0].value["Fil"].iloc[0] == "sweco-asf-samverkan-naringslivet.txt"


def test_case_table_shows_every_cell_in_full(app, with_cards):
    app.run()
    app.switch_page("app_pages/cases.py").run()
    assert not app.dataframe                           # a dataframe cuts long cells off
    table = app.table[0].value
    assert not (table == "").any().any()               # no empty Ort/Bransch cells
    assert (table["Ort"] == "–").any() and "rapporten inte anger" in " ".join(
        c.value for c in app.caption)
    stickans = table[table["Namn"] == "Stickans Bokföring och event"].iloc[0]
    assert stickans["Bransch"].endswith("flytt, service och transporter\\)")


def test_the_answers_note_is_shown_after_its_sources(app):
    app.run()
    _ask(app, "Vi är ett byggföretag i Göteborg, var ska vi börja?")
    answer = _last_answer(app)
    assert answer.note
    message = app.chat_message[1]
    kinds = [(type(e).__name__, getattr(e, "value", getattr(e, "label", "")))
             for e in message]
    note_at = next(i for i, (_, v) in enumerate(kinds) if isinstance(v, str)
                   and answer.note[:30] in v.replace("\\", ""))
    sources_at = next(i for i, (_, v) in enumerate(kinds) if v == "**Källor**")
    assert sources_at < note_at


def test_a_reopened_conversation_shows_the_thumbs_given_before(app, settings):
    app.run()
    _ask(app, VOLVO)
    app.chat_message[1].feedback[0].set_value(1).run()
    again = AppTest.from_file(str(APP), default_timeout=120).run()
    next(b for b in _saved(again)).click().run()
    assert not again.exception
    assert again.chat_message[1].feedback[0].value == 1
    assert again.session_state["messages"][1]["rating"] == 1
