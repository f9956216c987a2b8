"""The LLM backend against a scripted OpenAI-compatible server on loopback.

Checked citations, fallbacks with a visible note (no citations, timeout, 401, unreachable),
refusals, streaming, follow-up rewriting in both modes, `asf chat` and `asf eval --backend llm`.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import socket
import sys
import threading

import pytest

from assistant import cli, prompts
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.llm import LLMAnswerer, check_citations, describe_error
from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.retrieval.followup import dangling, needs_context
from assistant.retrieval.followup import rewrite as deterministic_rewrite
from assistant.types import Answer
from tests.conftest import FakeEmbeddings, use_embedder
from tests.fake_openai import FakeOpenAI, Reply, loopback_only

KEY = "sk-test-hemlig-nyckel-8f3a9c"
QUESTION = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
FALLBACK_START = prompts.LLM_FALLBACK_NOTE.split("{reason}")[0]


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def llm_env(monkeypatch, server):
    """Point the LLM settings at the fake server; keep every request on loopback."""
    loopback_only(monkeypatch)
    monkeypatch.setenv("ASF_BACKEND", "llm")
    monkeypatch.setenv("ASF_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("ASF_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ASF_LLM_API_KEY", KEY)
    monkeypatch.setenv("ASF_LLM_TIMEOUT", "1")
    return server


@pytest.fixture
def llm_assistant(llm_env, fake_embeddings):
    """An Assistant over the report with the LLM backend, answering from the fake server."""
    a = Assistant(Settings(), embeddings=fake_embeddings)
    a.ensure_index()
    assert isinstance(a.answerer, LLMAnswerer)
    return a


def _passage_with(assistant: Assistant, question: str, text: str) -> int:
    """Return the 1-based number the prompt gives the passage that contains text."""
    passages = assistant.retriever.retrieve(question)
    return next(i for i, p in enumerate(passages, start=1) if text in p.chunk.text)


def _texts(events: list) -> str:
    return "".join(e for e in events if isinstance(e, str))


def _extractive(assistant: Assistant, question: str) -> Answer:
    settings = assistant.settings
    answerer = ExtractiveAnswerer(settings.answer, assistant.retriever.bm25,
                                  assistant.retriever.neighbour)
    return answerer.answer(question, assistant.retriever.retrieve(question))


# ---------------------------------------------------------------------- checked answers

def test_good_cited_answer_is_kept_with_verbatim_quotes(llm_assistant, server):
    n = _passage_with(llm_assistant, QUESTION, "45 intervjuer")
    server.enqueue(f"Totalt genomfördes 45 intervjuer inom ramen för undersökningen [{n}].")
    answer = llm_assistant.ask(QUESTION)
    assert not answer.refused and not answer.note
    assert answer.answer == "Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1]."
    [citation] = answer.citations
    passage = next(c for c in answer.contexts if c.rank == n)
    assert citation.n == 1 and citation.chunk_id == passage.chunk_id
    assert citation.quote in passage.text and "45 intervjuer" in citation.quote
    assert len(answer.contexts) >= 5

    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "fake-model" and request.body["stream"] is True
    assert request.body["temperature"] == 0
    assert request.headers["authorization"] == f"Bearer {KEY}"
    system, user = request.body["messages"]
    assert "svenska" in system["content"] and prompts.CANNOT_ANSWER_PHRASE in system["content"]
    assert '<avsnitt nr="1" ' in user["content"]
    assert f'<avsnitt nr="{len(answer.contexts)}" ' in user["content"]
    assert user["content"].count("</avsnitt>") == len(answer.contexts)
    assert QUESTION in user["content"]
    assert request.body["max_completion_tokens"] == llm_assistant.settings.llm_max_tokens


def test_citations_are_renumbered_in_order_of_appearance(llm_assistant, server):
    sonderande = _passage_with(llm_assistant, QUESTION, "22 sonderande")
    studie = _passage_with(llm_assistant, QUESTION, "framförallt skett genom en intervjustudie")
    träffar = _passage_with(llm_assistant, QUESTION, "tre nätverksträffar")
    server.enqueue(f"Totalt har 22 sonderande intervjuer genomförts [{sonderande}]. "
                   "Kartläggningsarbetet har framförallt skett genom en intervjustudie med ASF "
                   f"[{studie}][{sonderande}]. Hösten 2018 genomfördes tre nätverksträffar i "
                   f"Rinkeby, Västerås och Vadstena [{sonderande}, {träffar}].")
    answer = llm_assistant.ask(QUESTION)
    assert not answer.note
    assert re.findall(r"\[(\d+)\]", answer.answer) == ["1", "2", "1", "1", "3"]
    ranks = {c.chunk_id: c.rank for c in answer.contexts}
    assert [ranks[c.chunk_id] for c in answer.citations] == [sonderande, studie, träffar]
    assert [c.n for c in answer.citations] == [1, 2, 3]
    for citation in answer.citations:
        text = next(c.text for c in answer.contexts if c.chunk_id == citation.chunk_id)
        for quote in citation.quote.split(" … "):
            assert quote in text


def test_citation_of_a_passage_that_was_not_given_is_removed(llm_env, fake_embeddings,
                                                             monkeypatch, server):
    monkeypatch.setenv("ASF_RETRIEVAL__K", "5")
    assistant = Assistant(Settings(), embeddings=fake_embeddings)
    assistant.ensure_index()
    server.enqueue("Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1][9]. "
                   "Hälften av intervjuerna gjordes på plats hos företagen [9].")
    events = list(assistant.stream(QUESTION))
    answer = events[-1]
    assert len(answer.contexts) == 5
    assert "[9]" not in _texts(events)                  # not even while streaming
    assert "[9]" not in answer.answer and "Hälften" not in _texts(events)
    assert answer.answer == "Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1]."
    assert "Hälften" not in answer.answer
    assert answer.note == prompts.LLM_DROPPED_NOTE.format(count=1)
    assert [c.n for c in answer.citations] == [1]


def test_answer_that_only_cites_missing_passages_falls_back(llm_assistant, server):
    server.enqueue("Totalt genomfördes 45 intervjuer [9].")
    answer = llm_assistant.ask(QUESTION)
    assert answer.note.startswith(FALLBACK_START)
    assert prompts.LLM_REASON_NO_CITATIONS in answer.note
    assert answer.answer == _extractive(llm_assistant, QUESTION).answer


def test_answer_without_citations_falls_back_to_the_extractive_answer(llm_assistant, server):
    server.enqueue("Det genomfördes många intervjuer med olika företag runt om i landet.")
    answer = llm_assistant.ask(QUESTION)
    assert answer.note == prompts.LLM_FALLBACK_NOTE.format(
        reason=prompts.LLM_REASON_NO_CITATIONS)
    expected = _extractive(llm_assistant, QUESTION)
    assert answer.answer == expected.answer and answer.answer.strip()
    assert [c.quote for c in answer.citations] == [c.quote for c in expected.citations]


def test_empty_reply_falls_back(llm_assistant, server):
    server.enqueue("")
    answer = llm_assistant.ask(QUESTION)
    assert prompts.LLM_REASON_EMPTY in answer.note and answer.answer.strip()


def test_refusal_phrase_gives_a_proper_refusal(llm_assistant, server):
    server.enqueue(f"{prompts.CANNOT_ANSWER_PHRASE}.")
    answer = llm_assistant.ask("Hur många anställda har Le Mat Jonsered?")
    assert answer.refused and answer.answer == prompts.REFUSAL_ANSWER
    assert not answer.citations and len(answer.contexts) >= 5 and not answer.note


def test_lists_keep_their_lead_in_and_items(llm_assistant, server):
    n = _passage_with(llm_assistant, QUESTION, "45 intervjuer")
    m = _passage_with(llm_assistant, QUESTION, "22 sonderande")
    server.enqueue("Kartläggningsarbetet har skett genom en intervjustudie:\n\n"
                   f"- 45 intervjuer genomfördes inom ramen för undersökningen [{n}]\n"
                   f"* Totalt har 22 sonderande intervjuer genomförts [{m}].\n\n"
                   "**Sammanfattning**\n")
    answer = llm_assistant.ask(QUESTION)
    assert answer.answer == ("Kartläggningsarbetet har skett genom en intervjustudie:\n"
                             "- 45 intervjuer genomfördes inom ramen för undersökningen [1]\n"
                             "- Totalt har 22 sonderande intervjuer genomförts [2].")
    assert not answer.note


def test_a_lead_in_the_cited_passage_does_not_support_is_dropped(llm_assistant, server):
    n = _passage_with(llm_assistant, QUESTION, "45 intervjuer")
    server.enqueue("Företagen betalar alltid förskott till sina leverantörer:\n"
                   f"- 45 intervjuer genomfördes inom ramen för undersökningen [{n}].")
    answer = llm_assistant.ask(QUESTION)
    assert answer.answer == "- 45 intervjuer genomfördes inom ramen för undersökningen [1]."
    assert answer.note == prompts.LLM_UNSUPPORTED_NOTE.format(count=1)


# ---------------------------------------------------------------------- failures

def test_timeout_falls_back_with_a_note(llm_assistant, server):
    server.enqueue(Reply("Sent svar [1].", delay=5))
    answer = llm_assistant.ask(QUESTION)
    # The wait is bounded by what the client was told, not measured: one request with the
    # configured 1 s timeout and no retries.
    assert len(server.requests) == 1
    model = llm_assistant.answerer.model
    assert model.request_timeout == 1 and model.max_retries == 0
    assert answer.note.startswith(FALLBACK_START)
    assert prompts.LLM_REASON_TIMEOUT.format(seconds=1) in answer.note
    assert answer.answer == _extractive(llm_assistant, QUESTION).answer


def test_stall_in_the_middle_of_a_stream_falls_back(llm_assistant, server):
    server.enqueue(Reply("Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1].",
                         stall=5))
    events = list(llm_assistant.stream(QUESTION))
    answer = events[-1]
    assert "Totalt" not in _texts(events)       # an unfinished sentence is never shown
    assert prompts.LLM_REASON_TIMEOUT.format(seconds=1) in answer.note
    assert answer.answer == _extractive(llm_assistant, QUESTION).answer
    assert _texts(events).split() == answer.answer.split()    # the fallback streams instead


def test_401_says_to_check_the_key_and_never_shows_it(llm_assistant, server, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    server.enqueue(Reply(status=401))
    answer = llm_assistant.ask(QUESTION)
    assert prompts.LLM_HINT_AUTH in answer.note and "ASF_LLM_API_KEY" in answer.note
    assert answer.answer.strip() and not answer.refused
    out, err = capsys.readouterr()
    shown = " ".join([answer.note, answer.answer, json.dumps(answer.to_dict()), repr(answer),
                      repr(llm_assistant.answerer), repr(llm_assistant.answerer.model),
                      repr(llm_assistant.settings), out, err, caplog.text])
    assert KEY not in shown and KEY[:12] not in shown


def test_401_in_the_cli_prints_the_note_but_not_the_key(llm_env, server, monkeypatch, capsys,
                                                        caplog):
    caplog.set_level(logging.DEBUG)
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    server.default = Reply(status=401)
    assert cli.main(["ask", "--backend", "llm", QUESTION]) == 0
    out, err = capsys.readouterr()
    assert prompts.LLM_HINT_AUTH in out and "Källor:" in out
    assert KEY not in out + err + caplog.text
    assert "Traceback" not in out + err


def test_error_text_is_never_shown(llm_assistant):
    class LeakyError(Exception):
        status_code = 401

    note = describe_error(LeakyError(f"Incorrect API key provided: {KEY}"),
                          llm_assistant.settings)
    assert KEY not in note and prompts.LLM_HINT_AUTH in note
    note = describe_error(RuntimeError(f"boom {KEY}"), llm_assistant.settings)
    assert KEY not in note and "RuntimeError" in note


def test_unreachable_endpoint_falls_back(llm_env, fake_embeddings, monkeypatch):
    with socket.socket() as s:         # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ASF_LLM_BASE_URL", f"http://user:{KEY}@127.0.0.1:{port}/v1?k={KEY}")
    assistant = Assistant(Settings(), embeddings=fake_embeddings)
    assistant.ensure_index()
    answer = assistant.ask(QUESTION)
    assert prompts.LLM_REASON_CONNECTION in answer.note
    assert f"http://127.0.0.1:{port}/v1" in answer.note and KEY not in answer.note
    assert answer.answer.strip()


def test_missing_langchain_openai_falls_back(llm_assistant, monkeypatch):
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    answer = llm_assistant.ask(QUESTION)
    assert prompts.LLM_REASON_NOT_INSTALLED in answer.note and answer.answer.strip()


def test_llm_backend_imports_langchain_openai_only_when_chosen(assistant, monkeypatch):
    monkeypatch.setitem(sys.modules, "langchain_openai", None)   # any import would fail
    assert not assistant.ask(QUESTION).note


# ---------------------------------------------------------------------- streaming

def test_stream_yields_checked_sentences_as_they_finish_then_the_answer(llm_assistant,
                                                                          server):
    n = _passage_with(llm_assistant, QUESTION, "45 intervjuer")
    m = _passage_with(llm_assistant, QUESTION, "22 sonderande")
    first = f"Totalt genomfördes 45 intervjuer inom ramen för undersökningen [{n}]."
    second = (f"Totalt har 22 sonderande intervjuer genomförts, och några av dem tillkom efter "
              f"hand när Sweco fick ytterligare tips på arbetsintegrerande sociala företag [{m}].")
    # The server holds the stream inside the second sentence until the test has the first
    # sentence on screen and opens the gate: the first must be shown before the rest arrives.
    reply = Reply(f"{first} {second}", gate=threading.Event())
    server.enqueue(reply)
    events = []
    for event in llm_assistant.stream(QUESTION):
        events.append(event)
        assert reply.gate is not None
        reply.gate.set()
    chunks = [e for e in events if isinstance(e, str)]
    assert chunks == ["Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1].",
                      " " + second.replace(f"[{m}]", "[2]")]
    assert reply.gate_opened, "the first sentence was not shown before the stream went on"
    assert isinstance(events[-1], Answer) and events[-1].answer == "".join(chunks)
    assert all(isinstance(e, str) for e in events[:-1])


def test_chat_streams_and_keeps_the_history(llm_env, server, monkeypatch, capsys):
    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    lines = iter([QUESTION, "Finns det fler exempel?", ""])
    monkeypatch.setattr(builtins, "input", lambda prompt="": next(lines))
    server.enqueue(
        "Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1][9].",
        "Hur många intervjuer genomfördes i undersökningen, och finns det fler exempel?",
        "Kartläggningsarbetet har framförallt skett genom en intervjustudie med ASF och deras "
        "samarbetsparter [2].")
    assert cli.main(["chat", "--backend", "llm"]) == 0
    out = capsys.readouterr().out
    assert "[9]" not in out                               # only checked text is printed
    assert "Assistenten: Totalt genomfördes 45 intervjuer inom ramen för undersökningen [1]." \
        in out
    assert prompts.MSG_CHAT_CHECKED not in out            # nothing to print again
    assert out.count("Källor:") == 2
    rewrite_request = server.requests[1].prompt
    assert QUESTION in rewrite_request and "Finns det fler exempel?" in rewrite_request
    assert "Assistenten: Totalt genomfördes 45 intervjuer inom ramen för undersökningen." \
        in rewrite_request
    assert "och finns det fler exempel?" in server.requests[2].prompt


# ---------------------------------------------------------------------- follow-ups

HISTORY = [{"role": "user", "content": "Vad gör Koopus?"},
           {"role": "assistant", "content": "Koopus utför legoarbete åt industrin [1]."}]
FOLLOW_UP = "Och hur började det samarbetet?"


def test_llm_rewrites_the_follow_up_before_retrieval(llm_assistant, server):
    standalone = "Hur började samarbetet mellan Koopus och företaget de arbetar med?"
    server.enqueue(f"Fristående fråga: {standalone}\n", "Koopus samarbetar sedan starten [1].")
    answer = llm_assistant.ask(FOLLOW_UP, HISTORY)
    assert answer.standalone_question == standalone and answer.question == FOLLOW_UP
    rewrite_request, answer_request = server.requests
    assert "Användaren: Vad gör Koopus?" in rewrite_request.prompt
    assert "Assistenten: Koopus utför legoarbete åt industrin" in rewrite_request.prompt
    assert FOLLOW_UP in rewrite_request.prompt
    assert f"Fråga: {standalone}" in answer_request.prompt
    # The note shows how the follow-up was read, and nothing else (a checked answer).
    assert answer.note == prompts.STANDALONE_NOTE.format(question=standalone)


def test_failed_llm_rewrite_falls_back_to_the_deterministic_rewrite(llm_assistant, server):
    server.enqueue(Reply(status=500))
    answer = llm_assistant.ask(FOLLOW_UP, HISTORY)
    assert answer.standalone_question == deterministic_rewrite(FOLLOW_UP, HISTORY)
    assert "Koopus" in answer.standalone_question
    # The endpoint just failed: the answer comes from the source text at once, with the note.
    assert len(server.requests) == 1
    assert answer.note.startswith(FALLBACK_START) and answer.answer.strip()


def test_useless_llm_rewrite_falls_back_but_the_answer_still_uses_the_model(llm_assistant,
                                                                            server):
    server.enqueue("\n", "Koopus samarbetar med industrin [1].")
    answer = llm_assistant.ask(FOLLOW_UP, HISTORY)
    assert answer.standalone_question == deterministic_rewrite(FOLLOW_UP, HISTORY)
    assert answer.answer == "Koopus samarbetar med industrin [1]."
    assert answer.note == prompts.STANDALONE_NOTE.format(question=answer.standalone_question)


def test_timeout_in_the_rewrite_is_waited_for_only_once(llm_assistant, server):
    server.enqueue(Reply("Fråga?", delay=5), Reply("Svar [1].", delay=5))
    answer = llm_assistant.ask(FOLLOW_UP, HISTORY)
    assert len(server.requests) == 1         # the answer is not requested after a timeout
    assert prompts.LLM_REASON_TIMEOUT.format(seconds=1) in answer.note


def test_without_history_no_rewrite_is_requested(llm_assistant, server):
    server.enqueue("Totalt genomfördes 45 intervjuer [1].")
    assert llm_assistant.ask(QUESTION).standalone_question == QUESTION
    assert len(server.requests) == 1


def test_extractive_follow_up_carries_the_topic(assistant):
    answer = assistant.ask("Finns det fler exempel?",
                           [{"role": "user", "content": "Vad gör Koopus?"},
                            {"role": "assistant", "content": "…"}])
    assert "Koopus" in answer.standalone_question and not answer.refused


@pytest.mark.parametrize("question,history,expected", [
    ("Och hur började det samarbetet?", ["Vad gör Koopus?"],
     "Och hur började det samarbetet? (Vad gör Koopus?)"),
    ("Finns det fler exempel?",
     [{"role": "user", "content": "Hur samarbetar Le Mat Jonsered med IKEA?"},
      {"role": "assistant", "content": "De samarbetar [1]."},
      {"role": "user", "content": "Och hur började det samarbetet?"},
      {"role": "assistant", "content": "Det började [1]."}],
     "Finns det fler exempel? (Hur samarbetar Le Mat Jonsered med IKEA? "
     "Och hur började det samarbetet?)"),
    ("Hur började det samarbetet?",
     [{"role": "user", "content": "Ge ett exempel på ett samarbete med en kommun."},
      {"role": "assistant", "content": "Ett exempel är Gotlands skog och miljö, som har avtal "
                                       "med Region Gotland [1]. Det är ett ASF [2]."}],
     "Hur började det samarbetet? (Ge ett exempel på ett samarbete med en kommun. "
     "Gotlands, Region Gotland)"),
    ("Vad gör Koopus?", ["Hur samarbetar Le Mat Jonsered med IKEA?"], "Vad gör Koopus?"),
    ("Vilka drivkrafter har konventionella företag att samarbeta med sociala företag?",
     ["Vad gör Koopus?"],
     "Vilka drivkrafter har konventionella företag att samarbeta med sociala företag?"),
    ("Finns det fler exempel?", [], "Finns det fler exempel?"),
    # A pronoun for the previous question's named subject is replaced by the name, also
    # through a chain of follow-ups; "de" as an article is left alone.
    ("Vilka samarbetar de med?", ["Vad gör Le Mat Jonsered?"],
     "Vilka samarbetar Le Mat Jonsered med?"),
    ("Hur fick de sin första kund?",
     [{"role": "user", "content": "Vad gör Koopus?"}, {"role": "assistant", "content": "…"},
      {"role": "user", "content": "Var ligger de?"}, {"role": "assistant", "content": "…"}],
     "Hur fick Koopus sin första kund?"),
    ("Vilka är deras kunder?", ["Berätta om Aspiranterna."], "Vilka är Aspiranternas kunder?"),
    ("Och de stora?", ["Vilka drivkrafter har företagen?"],
     "Och de stora? (Vilka drivkrafter har företagen?)"),
    # An elliptical follow-up that names a new subject takes the previous question's frame.
    ("Och i Vadstena?", ["Vilka deltog i träffen i Västerås?"],
     "Vilka deltog i träffen i Vadstena?"),
    ("What about Koopus?", ["Who are Le Mat Jonsered's customers?"],
     "Who are Koopus's customers?"),
    # A sentence's first word is no name: the chain of follow-ups goes on through "Okej. Och
    # vad är de missnöjda med?" to the question before it.
    ("Hur gör vi med de långa avtalstiderna?",
     [{"role": "user", "content": "Jag driver ett ASF som bygger möbler. Vad gillar kunderna?"},
      {"role": "assistant", "content": "…"},
      {"role": "user", "content": "Okej. Och vad är de missnöjda med?"},
      {"role": "assistant", "content": "…"}],
     "Hur gör vi med de långa avtalstiderna? (Jag driver ett ASF som bygger möbler. "
     "Vad gillar kunderna? Okej. Och vad är de missnöjda med?)"),
    # A question that only points back carries what was asked, in parentheses.
    ("Hur löser man det?", ["Vi är ett ASF i Luleå. Vilka hinder möter vi?"],
     "Hur löser man det? (Vi är ett ASF i Luleå. Vilka hinder möter vi?)"),
    ("Varför då?", ["Vi är ett ASF i Luleå. Vilka hinder möter vi?"],
     "Varför då? (Vi är ett ASF i Luleå. Vilka hinder möter vi?)"),
    # A country is no subject for "they".
    ("Do they deliver on time?",
     ["We run shops in the north of Sweden. What do these enterprises sell?"],
     "Do they deliver on time? (We run shops in the north of Sweden. "
     "What do these enterprises sell?)"),
])
def test_deterministic_rewrite(question, history, expected):
    assert deterministic_rewrite(question, history) == expected


def test_then_points_back_only_when_the_question_asks_nothing_else():
    assert dangling("Varför då?") == "då"
    assert dangling("Hur löser man det?") == "det"
    # After a word of the question's own, "då" is a particle: the question asks about problems.
    assert dangling("Och vad kan bli problemen då?") is None


def test_short_question_naming_its_subject_stands_alone():
    assert not needs_context("Vad gör Koopus?")
    assert needs_context("Och hur samarbetar de med ett ASF?")
    assert needs_context("Finns det fler exempel?")


# ---------------------------------------------------------------------- the check itself

def test_check_citations_drops_uncited_claims_and_unknown_numbers():
    result = check_citations("Ett påstående med stöd [2]. Ett påstående helt utan stöd här. "
                             "Ett till påstående här [7]. Kort.", passage_count=5)
    assert [s.cited for s in result.sentences] == [[1]]
    assert result.dropped == 2 and result.removed_markers == 1


# ---------------------------------------------------------------------- eval

def test_eval_runs_the_harness_against_the_configured_endpoint(llm_env, server, monkeypatch,
                                                               tmp_path, capsys):
    from eval import harness

    use_embedder(monkeypatch, lambda settings: FakeEmbeddings())
    monkeypatch.setattr(harness, "EVAL_DIR", tmp_path)
    server.default = Reply("Enligt rapporten genomfördes 45 intervjuer [1].")
    status = cli.main(["eval", "--backend", "llm", "--limit", "3"])
    assert status in (0, 1)                   # 1: under the quality gate, not a crash
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    items = next(iter(report.values()))["items"]
    assert len(items) == 3
    assert len(server.requests) >= 3 and all(
        r.body["model"] == "fake-model" for r in server.requests)
    assert "Rapporten skrevs till" in capsys.readouterr().out


def test_check_keeps_the_bullet_when_the_first_sentence_of_an_item_is_dropped(llm_assistant,
                                                                              server):
    n = _passage_with(llm_assistant, QUESTION, "45 intervjuer")
    m = _passage_with(llm_assistant, QUESTION, "22 sonderande")
    server.enqueue("<think>Avsnitt 1 verkar bäst.</think>\n- Ett påstående helt utan stöd här. "
                   f"45 intervjuer genomfördes inom ramen för undersökningen [{n}].\n"
                   f"- Totalt har 22 sonderande intervjuer genomförts [{m}].")
    answer = llm_assistant.ask(QUESTION)
    assert answer.answer == ("- 45 intervjuer genomfördes inom ramen för undersökningen [1].\n"
                             "- Totalt har 22 sonderande intervjuer genomförts [2].")
    assert answer.note == prompts.LLM_DROPPED_NOTE.format(count=1)


def test_a_broad_question_gives_the_model_passages_from_other_sections(llm_assistant, server):
    question = ("Vi är ett företag som vill börja köpa tjänster av ett ASF. Hur ska vi gå till "
                "väga och vad ska vi tänka på?")
    retrieved = llm_assistant.retriever.retrieve(question)
    server.enqueue("Det framgår inte av rapporten.")
    answer = llm_assistant.ask(question)
    [request] = server.requests
    shown = request.body["messages"][1]["content"]
    count = len(re.findall(r'^<avsnitt nr="\d+" ', shown, re.MULTILINE))
    assert count > len(retrieved)
    sections = {c.section for c in answer.contexts}
    assert len(sections) > len({p.chunk.section for p in retrieved})
