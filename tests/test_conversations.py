"""Saved conversations in SQLite: round trip with citations, titles, order, rename, delete, and
Swedish errors for a locked or unusable file."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.conversations import (
    KEPT_CONTEXTS,
    ConversationError,
    ConversationStore,
    Turn,
    conversations_path,
)
from assistant.types import Answer, Citation, Context
from tests.test_faults_input import _locked

CITATION = Citation(n=1, chunk_id="c1", source="rapport.txt", title="Rapporten",
                    section="Sammanfattning › Uppdraget", page=3,
                    quote="45 intervjuer genomfördes, med ”citat” och radbrytning\n.")


def _context(i: int) -> Context:
    return Context(rank=i + 1, chunk_id=f"c{i}", source="rapport.txt", title="Rapporten",
                   section=f"Avsnitt {i}", page=None, text=f"Text {i}", score=1.0 / (i + 1))


ANSWER = Answer(question="Hur många intervjuer?", answer="45 intervjuer. [1]", refused=False,
                citations=[CITATION], contexts=[_context(i) for i in range(8)],
                evidence=0.8, note="En not.", standalone_question="Hur många intervjuer?",
                guide="kort-1", related=["Vad är ett IOP?"])


def _turns(question: str = "Hur många  intervjuer?\n", answer: Answer = ANSWER) -> list[Turn]:
    return [Turn("user", question, message_id="u1", created_at="2026-12-06T10:00:00+00:00"),
            Turn("assistant", answer.answer, answer=answer, message_id="a1",
                 created_at="2026-12-06T10:00:01+00:00")]


@pytest.fixture
def store(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "samtal.sqlite3")


def test_default_path_is_in_the_data_folder_and_env_moves_it(tmp_path, monkeypatch):
    assert conversations_path(Settings()) == Settings().data_dir / "conversations.sqlite3"
    monkeypatch.setenv("ASF_CONVERSATIONS_DB", str(tmp_path / "x" / "s.db"))
    assert conversations_path(Settings()) == tmp_path / "x" / "s.db"


def test_a_conversation_comes_back_with_its_answers_citations_and_times(store):
    assert store.conversations() == [] and store.load("saknas") is None
    store.save("k1", _turns(), role="asf")
    [listed] = store.conversations()
    assert (listed.id, listed.title, listed.role, listed.questions) == (
        "k1", "Hur många intervjuer?", "asf", 1)
    conversation, turns = store.load("k1")
    assert conversation == listed
    assert [(t.role, t.message_id, t.created_at) for t in turns] == [
        ("user", "u1", "2026-12-06T10:00:00+00:00"), ("assistant", "a1",
                                                      "2026-12-06T10:00:01+00:00")]
    restored = turns[1].answer
    assert restored.citations == [CITATION]
    # The closest passages a refusal shows are kept, not all that were retrieved.
    assert [c.chunk_id for c in restored.contexts] == [f"c{i}" for i in range(KEPT_CONTEXTS)]
    assert restored == Answer(**{**vars(ANSWER), "contexts": ANSWER.contexts[:KEPT_CONTEXTS]})


def test_saving_again_replaces_the_turns_and_keeps_a_new_title(store):
    store.save("k1", _turns(), role="company")
    store.rename("k1", "  Intervjuerna\n i studien ")
    longer = _turns() + [Turn("user", "Och sedan?", error="För lång fråga."),
                         Turn("assistant", "För lång fråga.", error="För lång fråga.")]
    store.save("k1", longer, role="advisor")
    conversation, turns = store.load("k1")
    assert conversation.title == "Intervjuerna i studien" and conversation.role == "advisor"
    assert len(turns) == 4 and turns[3].error == "För lång fråga." and turns[3].answer is None
    with pytest.raises(ValueError):
        store.rename("k1", "   ")


def test_the_latest_continued_conversation_is_listed_first_and_delete_removes_it(store):
    store.save("k1", _turns("Första"), role="company")
    store.save("k2", _turns("Andra"), role="company")
    store.save("k1", _turns("Första"), role="company")          # continued later
    assert [c.title for c in store.conversations()] == ["Första", "Andra"]
    store.delete("k1")
    assert [c.id for c in store.conversations()] == ["k2"] and store.load("k1") is None


def test_a_locked_database_raises_a_swedish_error_and_keeps_what_was_stored(store):
    store.save("k1", _turns(), role="company")
    with _locked(store.path):
        with pytest.raises(ConversationError, match="är låst av ett annat program"):
            store.save("k1", _turns() * 2, role="company")
        with pytest.raises(ConversationError, match="samtal.sqlite3 är låst"):
            store.conversations()
    assert len(store.load("k1")[1]) == 2


def test_an_unusable_file_raises_a_swedish_error_without_the_folder(tmp_path):
    blocker = tmp_path / "en-fil"
    blocker.write_text("inte en mapp", encoding="utf-8")
    store = ConversationStore(blocker / "samtal.sqlite3")
    with pytest.raises(ConversationError) as caught:
        store.save("k1", _turns(), role="company")
    assert "samtal.sqlite3 går inte att läsa eller skriva" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)
    broken = tmp_path / "trasig.sqlite3"
    broken.write_bytes(b"ingen databas " * 300)
    with pytest.raises(ConversationError, match="går inte att läsa eller skriva"):
        ConversationStore(broken).conversations()
