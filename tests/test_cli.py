"""The `asf` command, run in-process with the fake embedder."""

from __future__ import annotations

import io
import json

import pytest

from assistant import cli
from tests.conftest import DATA, FakeEmbeddings, use_embedder


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    fake = FakeEmbeddings()
    use_embedder(monkeypatch, lambda settings: fake)
    return fake


def test_ask_json_builds_the_index_with_progress_and_prints_one_object(capsys):
    question = "Hur många intervjuer genomfördes inom ramen för undersökningen?"
    assert cli.main(["ask", "--json", question]) == 0
    out, err = capsys.readouterr()
    assert "Bäddar in textavsnitt" in err
    obj = json.loads(out)
    assert set(obj) == {"question", "answer", "refused", "citations", "contexts", "related"}
    assert obj["question"].startswith("Hur många intervjuer") and not obj["refused"]
    assert set(obj["citations"][0]) == {"n", "chunk_id", "source", "section", "page", "quote"}
    assert set(obj["contexts"][0]) == {"rank", "chunk_id", "source", "section", "page", "text",
                                       "score"}
    assert len(obj["contexts"]) >= 5


def _stdin(data: bytes):
    """A standard input with bytes under it, as a pipe gives."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_ask_json_lines_from_stdin(capsys, monkeypatch, fake_model):
    cli.main(["ingest"])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _stdin(
        "Vad är ett IOP?\n\nHur bakar man kanelbullar?\n   \n".encode()))
    assert cli.main(["ask", "--json", "-"]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    objs = [json.loads(line) for line in lines]
    # One output line per input line, a blank one included, so callers can pair them.
    assert [o["question"] for o in objs] == ["Vad är ett IOP?", "", "Hur bakar man kanelbullar?",
                                            ""]
    assert [o.get("refused") for o in objs] == [False, None, True, None]
    assert "error" in objs[1] and "error" in objs[3]


def test_ask_from_stdin_without_json_prints_each_question_and_its_answer_as_text(
        capsys, monkeypatch, fake_model):
    cli.main(["ingest"])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _stdin("Vad är ett IOP?\n\n".encode()))
    assert cli.main(["ask", "-"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("Fråga: Vad är ett IOP?\n") and "Källor:" in captured.out
    assert not captured.out.lstrip().startswith("{")
    assert "Fel: Frågan är tom." in captured.err


def test_a_line_that_is_not_utf8_gets_an_error_and_the_batch_goes_on(capsys, monkeypatch,
                                                                      fake_model):
    cli.main(["ingest"])
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", _stdin(b"Hur m\xe5nga intervjuer?\nVad \xe4r ett IOP?\n"
                                            + "Vad är ett IOP?\n".encode()))
    assert cli.main(["ask", "--json", "-"]) == 2
    objs = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(objs) == 3
    assert "UTF-8" in objs[0]["error"] and "UTF-8" in objs[1]["error"]
    assert objs[2]["question"] == "Vad är ett IOP?" and not objs[2]["refused"]


def test_terminal_output_has_no_control_characters():
    assert cli.terminal_safe("a\x1b[2Jb\x1b]0;titel\x07c\nd\te") == "a[2Jb]0;titelc\nd\te"


def test_ask_prints_answer_and_sources_for_a_person(capsys):
    assert cli.main(["ask", "Vad gör Koopus?"]) == 0
    out = capsys.readouterr().out
    assert "Källor:" in out and "[1]" in out and "Koopus" in out


@pytest.mark.parametrize("question,expected", [("   ", "tom"), ("x" * 5000, "för lång")])
def test_bad_question_exits_2_with_a_swedish_message(capsys, question, expected):
    assert cli.main(["ask", question]) == 2
    assert expected in capsys.readouterr().err


def test_ingest_bad_file_exits_1_and_changes_nothing(capsys, tmp_path):
    assert cli.main(["ingest"]) == 0
    first = capsys.readouterr().out
    bad = tmp_path / "trasig.pdf"
    bad.write_bytes((DATA / "rapport.pdf").read_bytes()[:1500])
    assert cli.main(["ingest", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "trasig.pdf" in captured.err and "Inget ändrades" in captured.err
    assert cli.main(["ingest"]) == 0
    assert "aktuellt" in capsys.readouterr().out and "textavsnitt" in first


def test_index_lists_documents_and_rebuilds(capsys):
    assert cli.main(["index"]) == 1
    assert "asf ingest" in capsys.readouterr().out
    assert cli.main(["index", "--rebuild"]) == 0
    assert cli.main(["index"]) == 0
    assert "sweco-asf-samverkan-naringslivet.txt" in capsys.readouterr().out


def test_chat_keeps_history_for_follow_ups(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Vad gör Gotlands skog och miljö?\n"
                                                 "Hur uppstod avtalet?\n\n"))
    assert cli.main(["chat"]) == 0
    out = capsys.readouterr().out
    assert out.count("Assistenten:") == 2 and "GSM" in out


# ---------------------------------------------------------------------- Swedish details (#25)
ARGPARSE_ENGLISH = ("usage:", "positional arguments", "options:", "show this help",
                    "error:", "the following arguments", "invalid choice", "required")


@pytest.mark.parametrize("argv", [["--help"], ["ask", "--help"], ["feedback", "export", "--help"]])
def test_help_is_swedish_including_argparses_own_texts(capsys, argv):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Användning: asf") and "flaggor:" in out
    assert "visa den här hjälptexten" in out
    assert not [w for w in ARGPARSE_ENGLISH if w in out], out


@pytest.mark.parametrize("argv,expected", [
    (["ask"], "följande argument saknas: FRÅGA"), (["nej"], "ogiltigt val"),
    (["ask", "--backend", "x", "fråga"], "ogiltigt val"),
    (["index", "--okänd"], "okända argument")])
def test_usage_errors_are_swedish(capsys, argv, expected):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Användning: asf") and ": fel: " in err and expected in err
    assert not [w for w in ARGPARSE_ENGLISH if w in err], err


def test_the_answers_note_comes_after_the_sources(capsys):
    question = "Vi är ett byggföretag i Göteborg, var ska vi börja?"
    assert cli.main(["ask", question]) == 0
    out = capsys.readouterr().out
    from assistant.prompts import BROAD_ANSWER_NOTE

    assert BROAD_ANSWER_NOTE in out and out.index("Källor:") < out.index(BROAD_ANSWER_NOTE)
    assert not out.startswith(BROAD_ANSWER_NOTE)


def test_chat_wraps_long_lines_to_the_terminal_at_word_boundaries(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    monkeypatch.setattr("sys.stdin", io.StringIO("Vi är ett byggföretag i Göteborg, var ska "
                                                 "vi börja?\n\n"))
    assert cli.main(["chat"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    long = [line for line in lines if len(line) > 50 and " " in line.strip()]
    assert not long, long
    # No word is broken: every output word is a word of the unwrapped answer (or the UI).
    monkeypatch.setenv("COLUMNS", "10000")
    monkeypatch.setattr("sys.stdin", io.StringIO("Vi är ett byggföretag i Göteborg, var ska "
                                                 "vi börja?\n\n"))
    assert cli.main(["chat"]) == 0
    wide = capsys.readouterr().out
    assert out.split() == wide.split()
    assert len(lines) > len(wide.splitlines()) + 10


def test_stream_wrapper_holds_a_word_split_across_pieces():
    wrapper = cli.StreamWrapper(12)
    pieces = ["Samverk", "an mellan A", "SF och ", "företag"]
    text = "".join(wrapper.feed(piece) for piece in pieces)
    text += wrapper.flush()
    assert text.split("\n") == ["Samverkan", "mellan ASF", "och företag"]
